#include "sim/engine/observers/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <string_view>
#include <stdexcept>

#include "sim/common/checkpointable.hpp"

namespace fs = std::filesystem;

namespace dtsim::engine {

namespace {
constexpr std::string_view kMagic = "DTSIMCKP";

[[noreturn]] void io_error(const std::string& what, const fs::path& path) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

// Writes the pieces one after the other, then fsyncs: the file's bytes are never gathered in one buffer
// (a section may hold a rule's whole state).
void write_synced(const fs::path& path, std::initializer_list<std::string_view> pieces,
                  const std::map<std::string, std::string>& sections) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_error("cannot create", path);
  const auto put = [&](std::string_view rest) {
    while (!rest.empty()) {
      const ssize_t n = ::write(fd, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        io_error("cannot write", path);
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  };
  for (auto piece : pieces) put(piece);
  for (const auto& [name, bytes] : sections) {  // as ByteWriter::text writes them: length, then bytes
    ByteWriter head;
    head.text(name);
    head.u64(bytes.size());
    put(head.bytes());
    put(bytes);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    io_error("cannot sync", path);
  }
  ::close(fd);
}
}  // namespace

fs::path checkpoint_path(const fs::path& run_dir) { return run_dir / "checkpoint" / "state.bin"; }

void write_checkpoint(const fs::path& run_dir, const Checkpoint& c) {
  ByteWriter w;
  w.u64(Checkpoint::kVersion);
  w.i64(c.round);
  w.f64(c.sim_time_s);
  w.f64(c.wall_time_s);
  w.u64(c.csv_bytes.size());
  for (const auto& [file, bytes] : c.csv_bytes) {
    w.text(file);
    w.u64(bytes);
  }
  w.u64(c.sections.size());
  const fs::path final_path = checkpoint_path(run_dir);
  fs::create_directories(final_path.parent_path());
  const fs::path tmp = final_path.string() + ".tmp." + std::to_string(::getpid());
  write_synced(tmp, {kMagic, w.bytes()}, c.sections);
  if (std::rename(tmp.c_str(), final_path.c_str()) != 0) io_error("cannot rename", tmp);
}

std::optional<Checkpoint> read_checkpoint(const fs::path& run_dir) {
  const fs::path path = checkpoint_path(run_dir);
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(fs::file_size(path, ec)), '\0');  // one buffer, read in place
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in || !std::string_view(bytes).starts_with(kMagic))
    throw std::runtime_error(path.string() + " is not a dtsim checkpoint");
  ByteReader r(std::string_view(bytes).substr(kMagic.size()));
  Checkpoint c;
  const auto version = r.u64();
  if (version != Checkpoint::kVersion)
    throw std::runtime_error(path.string() + ": checkpoint format " + std::to_string(version) + ", this dtsim reads " +
                             std::to_string(Checkpoint::kVersion));
  c.round = r.i64();
  c.sim_time_s = r.f64();
  c.wall_time_s = r.f64();
  for (auto n = r.u64(); n > 0; --n) {
    auto file = r.text();
    c.csv_bytes[file] = r.u64();
  }
  for (auto n = r.u64(); n > 0; --n) {
    auto name = r.text();
    c.sections[name] = r.text();
  }
  if (!r.done()) throw std::runtime_error(path.string() + ": trailing bytes");
  return c;
}

}  // namespace dtsim::engine
