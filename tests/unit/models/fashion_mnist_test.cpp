// Fashion-MNIST loader: the real files from the Debian package, and small hand-made idx files for every
// way a file can be wrong.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "models/dataset.hpp"

namespace {

namespace fs = std::filesystem;
using dtsim::models::DataError;
using dtsim::models::load_fashion_mnist;
using dtsim::models::LoadedData;

const std::string k_debian_dir = "/usr/share/datasets/fashion-mnist";

// The full data set, loaded once for the tests that read it.
const LoadedData& full_data() {
  static const LoadedData data = load_fashion_mnist(k_debian_dir, 0, 0);
  return data;
}

// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("dtsim_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { fs::remove_all(path); }
};

std::vector<unsigned char> be32(std::uint32_t v) {
  return {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16), static_cast<unsigned char>(v >> 8),
          static_cast<unsigned char>(v)};
}

std::vector<unsigned char> idx_images(std::uint32_t magic, std::uint32_t count, std::uint32_t rows, std::uint32_t cols,
                                      const std::vector<unsigned char>& pixels) {
  std::vector<unsigned char> bytes;
  for (std::uint32_t v : {magic, count, rows, cols}) {
    const auto word = be32(v);
    bytes.insert(bytes.end(), word.begin(), word.end());
  }
  bytes.insert(bytes.end(), pixels.begin(), pixels.end());
  return bytes;
}

std::vector<unsigned char> idx_labels(std::uint32_t magic, std::uint32_t count,
                                      const std::vector<unsigned char>& labels) {
  std::vector<unsigned char> bytes;
  for (std::uint32_t v : {magic, count}) {
    const auto word = be32(v);
    bytes.insert(bytes.end(), word.begin(), word.end());
  }
  bytes.insert(bytes.end(), labels.begin(), labels.end());
  return bytes;
}

void write_gz(const fs::path& path, const std::vector<unsigned char>& bytes) {
  gzFile file = gzopen(path.string().c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

std::vector<unsigned char> read_raw(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_raw(const fs::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Pixels of sample i: every byte equal to (i * 51) % 256, so sample 1 is 0.2 and sample 5 is 1.0.
std::vector<unsigned char> pixels_for(std::uint32_t count) {
  std::vector<unsigned char> pixels;
  for (std::uint32_t i = 0; i < count; ++i)
    pixels.insert(pixels.end(), 784, static_cast<unsigned char>((i * 51) % 256));
  return pixels;
}

// A valid miniature data set: 6 training and 2 test samples.
void write_valid_fixture(const fs::path& dir) {
  write_gz(dir / "train-images-idx3-ubyte.gz", idx_images(2051, 6, 28, 28, pixels_for(6)));
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_labels(2049, 6, {9, 0, 3, 3, 1, 2}));
  write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_images(2051, 2, 28, 28, pixels_for(2)));
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_labels(2049, 2, {4, 5}));
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("fashion_mnist: loads the Debian files as 60000 train and 10000 test images of 784 pixels") {
    // prepare + execute
    const LoadedData& data = full_data();

    // assert
    CHECK(data.train.samples == 60000);
    CHECK(data.test.samples == 10000);
    for (const auto* set : {&data.train, &data.test}) {
      CHECK(set->features == 784);
      CHECK(set->classes == 10);
      CHECK(set->x.size() == static_cast<std::size_t>(set->samples * 784));
      CHECK(set->y.size() == static_cast<std::size_t>(set->samples));
      const auto [lo, hi] = std::minmax_element(set->x.begin(), set->x.end());
      CHECK(*lo == 0.0F);
      CHECK(*hi == 1.0F);
    }
    CHECK(data.natural_partition.empty());
  }

  TEST_CASE("fashion_mnist: every class holds 6000 training and 1000 test images") {
    const LoadedData& data = full_data();
    std::array<int, 10> train_counts{};
    std::array<int, 10> test_counts{};
    for (std::int32_t y : data.train.y) ++train_counts.at(static_cast<std::size_t>(y));
    for (std::int32_t y : data.test.y) ++test_counts.at(static_cast<std::size_t>(y));
    for (int c = 0; c < 10; ++c) {
      INFO("class " << c);
      CHECK(train_counts[static_cast<std::size_t>(c)] == 6000);
      CHECK(test_counts[static_cast<std::size_t>(c)] == 1000);
    }
  }

  TEST_CASE("fashion_mnist: records the SHA-256 of each of the four files it read") {
    const LoadedData& data = full_data();
    REQUIRE(data.checksums.size() == 4);
    CHECK(data.checksums[0].first == k_debian_dir + "/train-images-idx3-ubyte.gz");
    CHECK(data.checksums[1].first == k_debian_dir + "/train-labels-idx1-ubyte.gz");
    CHECK(data.checksums[2].first == k_debian_dir + "/t10k-images-idx3-ubyte.gz");
    CHECK(data.checksums[3].first == k_debian_dir + "/t10k-labels-idx1-ubyte.gz");
    // Values of the files in dataset-fashion-mnist (= those published by Zalando Research).
    CHECK(data.checksums[1].second == "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056");
    CHECK(data.checksums[3].second == "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05");
  }

  TEST_CASE("fashion_mnist: Pixels::skip reads the same labels and no pixel") {
    const LoadedData& full = full_data();

    const LoadedData labels_only = load_fashion_mnist(k_debian_dir, 0, 0, dtsim::models::Pixels::skip);

    CHECK(labels_only.train.samples == 60000);
    CHECK(labels_only.train.features == 784);
    CHECK(labels_only.train.x.empty());
    CHECK(labels_only.test.x.empty());
    CHECK(labels_only.train.y == full.train.y);
    CHECK(labels_only.test.y == full.test.y);
    CHECK(labels_only.checksums == full.checksums);
  }

  TEST_CASE("fashion_mnist: max_train and max_test keep the first samples of each file") {
    // prepare
    const LoadedData& full = full_data();

    // execute
    const LoadedData part = load_fashion_mnist(k_debian_dir, 1000, 200);

    // assert
    CHECK(part.train.samples == 1000);
    CHECK(part.test.samples == 200);
    CHECK(part.train.x == std::vector<float>(full.train.x.begin(), full.train.x.begin() + 1000 * 784));
    CHECK(part.train.y == std::vector<std::int32_t>(full.train.y.begin(), full.train.y.begin() + 1000));
    CHECK(part.test.x == std::vector<float>(full.test.x.begin(), full.test.x.begin() + 200 * 784));
    CHECK(part.test.y == std::vector<std::int32_t>(full.test.y.begin(), full.test.y.begin() + 200));
  }

  TEST_CASE("fashion_mnist: asking for more samples than a file holds is a DataError") {
    CHECK_THROWS_WITH_AS(load_fashion_mnist(k_debian_dir, 60001, 0), doctest::Contains("holds only 60000"), DataError);
    CHECK_THROWS_WITH_AS(load_fashion_mnist(k_debian_dir, 0, 10001), doctest::Contains("max_test"), DataError);
  }

  TEST_CASE("fashion_mnist: a missing directory names the path and the Debian package") {
    const std::string dir = "/nonexistent/dtsim/fashion-mnist";
    CHECK_THROWS_WITH_AS(load_fashion_mnist(dir, 0, 0), doctest::Contains(dir.c_str()), DataError);
    CHECK_THROWS_WITH_AS(load_fashion_mnist(dir, 0, 0), doctest::Contains("apt-get install dataset-fashion-mnist"),
                         DataError);
  }

  TEST_CASE("fashion_mnist: a missing file names the file and the Debian package") {
    const TempDir dir("fmnist_missing");
    const std::string file = (dir.path / "train-images-idx3-ubyte.gz").string();
    CHECK_THROWS_WITH_AS(load_fashion_mnist(dir.path.string(), 0, 0), doctest::Contains(file.c_str()), DataError);
    CHECK_THROWS_WITH_AS(load_fashion_mnist(dir.path.string(), 0, 0), doctest::Contains("dataset-fashion-mnist"),
                         DataError);
  }

  TEST_CASE("fashion_mnist: a small valid fixture loads with pixels scaled by 1/255") {
    // prepare
    const TempDir dir("fmnist_valid");
    write_valid_fixture(dir.path);

    // execute
    const LoadedData data = load_fashion_mnist(dir.path.string(), 0, 0);

    // assert
    CHECK(data.train.samples == 6);
    CHECK(data.test.samples == 2);
    CHECK(data.train.y == std::vector<std::int32_t>{9, 0, 3, 3, 1, 2});
    CHECK(data.test.y == std::vector<std::int32_t>{4, 5});
    CHECK(data.train.x[0] == 0.0F);
    CHECK(data.train.x[784] == 51.0F / 255.0F);
    CHECK(data.train.x[5 * 784 + 783] == 1.0F);
    CHECK(data.checksums.size() == 4);
  }

  TEST_CASE("fashion_mnist: a malformed file is a DataError naming it and the fault") {
    // prepare: a valid fixture, then each subcase spoils one file
    const TempDir dir("fmnist_bad");
    write_valid_fixture(dir.path);
    const fs::path train_images = dir.path / "train-images-idx3-ubyte.gz";
    const fs::path train_labels = dir.path / "train-labels-idx1-ubyte.gz";
    std::string fault;
    fs::path spoiled;

    SUBCASE("wrong image magic") {
      write_gz(spoiled = train_images, idx_images(2049, 6, 28, 28, pixels_for(6)));
      fault = "magic 2049";
    }
    SUBCASE("wrong label magic") {
      write_gz(spoiled = train_labels, idx_labels(2051, 6, {0, 0, 0, 0, 0, 0}));
      fault = "magic 2051";
    }
    SUBCASE("images not 28x28") {
      write_gz(spoiled = train_images, idx_images(2051, 6, 28, 27, std::vector<unsigned char>(6 * 28 * 27)));
      fault = "28x27";
    }
    SUBCASE("image and label counts differ") {
      write_gz(spoiled = train_labels, idx_labels(2049, 5, {0, 0, 0, 0, 0}));
      fault = "6 images but 5 labels";
    }
    SUBCASE("label out of range") {
      write_gz(spoiled = train_labels, idx_labels(2049, 6, {0, 1, 2, 10, 4, 5}));
      fault = "label 10 at sample 3";
    }
    SUBCASE("fewer pixels than the header says") {
      auto pixels = pixels_for(6);
      pixels.resize(pixels.size() - 1);
      write_gz(spoiled = train_images, idx_images(2051, 6, 28, 28, pixels));
      fault = "truncated";
    }
    SUBCASE("data past the header's count") {
      write_gz(spoiled = train_labels, idx_labels(2049, 6, {0, 1, 2, 3, 4, 5, 6}));
      fault = "past the count";
    }
    SUBCASE("gzip stream cut short") {
      auto raw = read_raw(train_images);
      raw.resize(raw.size() / 2);
      write_raw(spoiled = train_images, raw);
      fault = "Fashion-MNIST file";
    }
    SUBCASE("gzip stream with a damaged CRC") {
      auto raw = read_raw(train_labels);
      raw[raw.size() - 6] ^= 0xff;  // inside the CRC-32 of the gzip trailer
      write_raw(spoiled = train_labels, raw);
      fault = "corrupt";
    }
    SUBCASE("empty file") {
      write_raw(spoiled = train_labels, {});
      fault = "truncated";
    }

    // execute + assert
    INFO("spoiled " << spoiled.string());
    REQUIRE(!fault.empty());
    CHECK_THROWS_WITH_AS(load_fashion_mnist(dir.path.string(), 0, 0), doctest::Contains(spoiled.string().c_str()),
                         DataError);
    CHECK_THROWS_WITH_AS(load_fashion_mnist(dir.path.string(), 0, 0), doctest::Contains(fault.c_str()), DataError);
  }
}
