// SHA-256 against the FIPS 180-2 appendix vectors and the streaming file path.
#include <doctest/doctest.h>
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
}
