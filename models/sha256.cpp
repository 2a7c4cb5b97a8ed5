// SHA-256 (FIPS 180-4) through OpenSSL's EVP interface, for the provenance checksums of input files in
// run.yaml; and a cache of file checksums, so that a rerun does not read its inputs again.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "models/dataset.hpp"

namespace dtsim::models {
namespace {

// One digest computation; throws std::runtime_error when OpenSSL fails (out of memory).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("OpenSSL: cannot start a SHA-256 digest");
  }
  void update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) throw std::runtime_error("OpenSSL: SHA-256 update failed");
  }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &length) != 1) throw std::runtime_error("OpenSSL: SHA-256 failed");
    static const char* const digits = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
      out += digits[digest[i] >> 4];
      out += digits[digest[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

// What identifies a file's bytes without reading them: device, inode, size and modification time (ns).
std::string identity_of(const struct stat& st) {
  return std::to_string(st.st_dev) + "-" + std::to_string(st.st_ino) + "-" + std::to_string(st.st_size) + "-" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

bool same_identity(const struct stat& a, const struct stat& b) { return identity_of(a) == identity_of(b); }

bool is_hex_digest(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::string sha256_hex(const void* data, std::size_t size) {
  Sha256 hasher;
  hasher.update(data, size);
  return hasher.hex();
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open '" + path + "' to compute its SHA-256");
  Sha256 hasher;
  std::vector<char> chunk(1 << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const std::streamsize got = in.gcount();
    if (got > 0) hasher.update(chunk.data(), static_cast<std::size_t>(got));
  }
  if (in.bad()) throw DataError("read error in '" + path + "' while computing its SHA-256");
  return hasher.hex();
}

std::string checksum_cache_dir() {
  if (const char* off = std::getenv("DTSIM_CHECKSUM_CACHE"); off && std::string(off) == "off") return "";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && xdg[0] == '/') return std::string(xdg) + "/dtsim";
  if (const char* home = std::getenv("HOME"); home && home[0] == '/') return std::string(home) + "/.cache/dtsim";
  return "";
}

std::string cached_sha256_file(const std::string& path) {
  struct stat before {};
  const std::string dir = checksum_cache_dir();
  if (dir.empty() || ::stat(path.c_str(), &before) != 0 || !S_ISREG(before.st_mode)) return sha256_file(path);
  const std::string entry = dir + "/sha256-" + identity_of(before);
  {
    std::ifstream cached(entry);
    std::string digest;
    if (cached && std::getline(cached, digest) && is_hex_digest(digest)) return digest;
  }
  const std::string digest = sha256_file(path);
  struct stat after {};
  if (::stat(path.c_str(), &after) != 0 || !same_identity(before, after)) return digest;  // changed meanwhile
  // Best effort: a cache that cannot be written only costs the next run a read of the file.
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string tmp = entry + ".tmp." + std::to_string(::getpid());
  if (std::FILE* f = std::fopen(tmp.c_str(), "wb")) {
    const std::string line = digest + "\n";
    const bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
    if (std::fclose(f) == 0 && ok && std::rename(tmp.c_str(), entry.c_str()) == 0) return digest;
    std::remove(tmp.c_str());
  }
  return digest;
}

}  // namespace dtsim::models
