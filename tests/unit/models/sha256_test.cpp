// SHA-256 against the FIPS 180-2 appendix vectors and the streaming file path.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "models/dataset.hpp"

namespace {

using dtsim::models::DataError;
using dtsim::models::sha256_file;
using dtsim::models::sha256_hex;

std::string hash_of(const std::string& text) { return sha256_hex(text.data(), text.size()); }

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("sha256: matches the standard test vectors") {
    // prepare
    const std::string one_block_pad = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";  // 448 bits
    const std::string two_blocks =
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
        "nopqrstu";  // 896 bits
    const std::string million_a(1'000'000, 'a');

    // execute + assert
    CHECK(hash_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(hash_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hash_of(one_block_pad) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(hash_of(two_blocks) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    CHECK(hash_of(million_a) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }

  TEST_CASE("sha256: a file read in chunks hashes like its bytes in one piece") {
    // prepare: 1 MiB + 3 bytes, so the file path crosses its 1 MiB read chunk mid-block
    const auto path =
        std::filesystem::temp_directory_path() / ("dtsim_sha256_test_" + std::to_string(::getpid()) + ".bin");
    std::vector<char> bytes((1U << 20) + 3);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i % 251);
    {
      std::ofstream out(path, std::ios::binary);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }

    // execute
    const std::string from_file = sha256_file(path.string());
    const std::string from_memory = sha256_hex(bytes.data(), bytes.size());
    std::filesystem::remove(path);

    // assert (expected value from an independent implementation)
    CHECK(from_file == "aca6f4d81a88030dc3e4b99988449ba2943885a56a5ebda5be275f64149677fe");
    CHECK(from_memory == from_file);
  }

  TEST_CASE("sha256: an unreadable file is a DataError naming it") {
    const std::string path = "/nonexistent/dtsim/no_such_file.bin";
    CHECK_THROWS_WITH_AS(sha256_file(path), doctest::Contains(path.c_str()), DataError);
  }

  TEST_CASE("sha256 cache: a file's checksum is read once per version, keyed by device, inode, size and mtime") {
    // prepare: a private cache folder and a file
    const auto root = std::filesystem::temp_directory_path() / ("dtsim_sha256_cache_" + std::to_string(::getpid()));
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root / "cache");
    const std::string saved_xdg = std::getenv("XDG_CACHE_HOME") ? std::getenv("XDG_CACHE_HOME") : "";
    ::setenv("XDG_CACHE_HOME", (root / "cache").c_str(), 1);
    const auto path = (root / "input.bin").string();
    auto write = [&](const std::string& text) { std::ofstream(path, std::ios::binary) << text; };
    write("first version");
    const auto mtime = std::filesystem::last_write_time(path);

    // execute
    const std::string first = dtsim::models::cached_sha256_file(path);
    const std::string again = dtsim::models::cached_sha256_file(path);
    write("other version");  // same size: only the mtime tells the versions apart
    std::filesystem::last_write_time(path, mtime);
    const std::string trusted_mtime = dtsim::models::cached_sha256_file(path);
    std::filesystem::last_write_time(path, mtime + std::chrono::seconds(1));
    const std::string after_touch = dtsim::models::cached_sha256_file(path);
    ::setenv("DTSIM_CHECKSUM_CACHE", "off", 1);
    std::filesystem::last_write_time(path, mtime + std::chrono::seconds(2));
    const std::string uncached = dtsim::models::cached_sha256_file(path);
    ::unsetenv("DTSIM_CHECKSUM_CACHE");
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(root / "cache" / "dtsim")) ++entries;
    if (saved_xdg.empty()) ::unsetenv("XDG_CACHE_HOME");
    else ::setenv("XDG_CACHE_HOME", saved_xdg.c_str(), 1);
    std::filesystem::remove_all(root);

    // assert: the expectations are the uncached digests of each content
    CHECK(first == sha256_hex("first version", 13));
    CHECK(again == first);
    CHECK(trusted_mtime == first);  // documented: the cache trusts the modification time
    CHECK(after_touch == sha256_hex("other version", 13));
    CHECK(uncached == after_touch);
    CHECK(entries == 2);  // one per version it cached; none with the cache off
  }
}
