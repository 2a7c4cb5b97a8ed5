// Fashion-MNIST loader: the four gzipped idx files (Xiao, Rasul, Vollgraf, arXiv 1708.07747), as the
// Debian package dataset-fashion-mnist installs them. Every header field is checked, so a truncated,
// corrupt or foreign file fails with a DataError that names it instead of producing silent garbage.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <future>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "models/dataset.hpp"
#include "models/dataset_source.hpp"

namespace dtsim::models {
namespace {

constexpr const char* k_install_hint =
    "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or set "
    "workload.dataset.path";
constexpr std::uint32_t k_images_magic = 2051;  // idx3, unsigned bytes
constexpr std::uint32_t k_labels_magic = 2049;  // idx1, unsigned bytes
constexpr std::uint32_t k_side = 28;
constexpr std::int64_t k_features = std::int64_t{k_side} * k_side;
constexpr std::int32_t k_classes = 10;

// A gzip file opened with zlib's gz* API (which also reads an uncompressed file transparently).
class GzReader {
 public:
  explicit GzReader(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path_, ec)) {
      throw DataError("Fashion-MNIST file '" + path_ + "' not found: " + k_install_hint);
    }
    file_ = gzopen(path_.c_str(), "rb");
    if (file_ == nullptr) throw DataError("cannot open Fashion-MNIST file '" + path_ + "'");
    gzbuffer(file_, 1U << 18);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;
  ~GzReader() { gzclose(file_); }

  const std::string& path() const { return path_; }

  // Reads exactly `size` decompressed bytes into `out` (appending); `what` names them for the error.
  void read_exact(std::vector<unsigned char>& out, std::size_t size, const char* what) {
    const std::size_t start = out.size();
    std::size_t got = 0;
    while (got < size) {
      const std::size_t chunk = std::min<std::size_t>(size - got, std::size_t{1} << 24);
      out.resize(start + got + chunk);
      const int n = gzread(file_, out.data() + start + got, static_cast<unsigned>(chunk));
      if (n < 0) throw DataError("Fashion-MNIST file '" + path_ + "' is corrupt: " + error_text());
      if (n == 0) {
        throw DataError("Fashion-MNIST file '" + path_ + "' is truncated: expected " + std::to_string(size) +
                        " bytes of " + what + ", got " + std::to_string(got) + status_suffix());
      }
      got += static_cast<std::size_t>(n);
    }
    out.resize(start + size);
  }

  std::uint32_t read_u32_be(const char* what) {
    std::vector<unsigned char> bytes;
    read_exact(bytes, 4, what);
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) |
           std::uint32_t{bytes[3]};
  }

  // The file must end here; reading on also makes zlib verify the gzip trailer (CRC-32 and length).
  void expect_end() {
    unsigned char extra = 0;
    const int n = gzread(file_, &extra, 1);
    if (n < 0) throw DataError("Fashion-MNIST file '" + path_ + "' is corrupt: " + error_text());
    if (n > 0) throw DataError("Fashion-MNIST file '" + path_ + "' has data past the count in its header");
    int code = Z_OK;
    gzerror(file_, &code);
    if (code != Z_OK) throw DataError("Fashion-MNIST file '" + path_ + "' is corrupt: " + error_text());
  }

 private:
  std::string error_text() {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    return message != nullptr && *message != '\0' ? message : "zlib error " + std::to_string(code);
  }
  std::string status_suffix() {
    int code = Z_OK;
    gzerror(file_, &code);
    return code == Z_OK ? std::string() : " (" + error_text() + ")";
  }

  std::string path_;
  gzFile file_ = nullptr;
};

// One split (train or test). The constructor opens both files and checks their headers; read() then
// reads the first `keep` samples.
class SplitReader {
 public:
  SplitReader(const std::filesystem::path& dir, const std::string& prefix, std::int64_t max_samples,
              const char* max_name)
      : images_((dir / (prefix + "-images-idx3-ubyte.gz")).string()),
        labels_((dir / (prefix + "-labels-idx1-ubyte.gz")).string()) {
    const std::uint32_t image_magic = images_.read_u32_be("header");
    if (image_magic != k_images_magic) {
      throw DataError("Fashion-MNIST file '" + images_.path() + "' is not an idx3 image file: magic " +
                      std::to_string(image_magic) + ", expected " + std::to_string(k_images_magic));
    }
    const std::uint32_t image_count = images_.read_u32_be("header");
    const std::uint32_t rows = images_.read_u32_be("header");
    const std::uint32_t cols = images_.read_u32_be("header");
    if (rows != k_side || cols != k_side) {
      throw DataError("Fashion-MNIST file '" + images_.path() + "' holds " + std::to_string(rows) + "x" +
                      std::to_string(cols) + " images, expected 28x28");
    }
    const std::uint32_t label_magic = labels_.read_u32_be("header");
    if (label_magic != k_labels_magic) {
      throw DataError("Fashion-MNIST file '" + labels_.path() + "' is not an idx1 label file: magic " +
                      std::to_string(label_magic) + ", expected " + std::to_string(k_labels_magic));
    }
    const std::uint32_t label_count = labels_.read_u32_be("header");
    if (label_count != image_count) {
      throw DataError("Fashion-MNIST files '" + images_.path() + "' and '" + labels_.path() + "' disagree: " +
                      std::to_string(image_count) + " images but " + std::to_string(label_count) + " labels");
    }
    if (max_samples > static_cast<std::int64_t>(image_count)) {
      throw DataError(std::string(max_name) + " = " + std::to_string(max_samples) + " but '" + images_.path() +
                          "' holds only " + std::to_string(image_count) + " samples",
                      std::string("workload.dataset.") + max_name);
    }
    keep_ = max_samples > 0 ? max_samples : static_cast<std::int64_t>(image_count);
    whole_file_ = keep_ == static_cast<std::int64_t>(image_count);
  }

  std::vector<std::string> paths() const { return {images_.path(), labels_.path()}; }
  std::int64_t samples() const { return keep_; }

  // Reads the samples; whole files are read to their end, which also checks the gzip CRC.
  Dataset read(Pixels mode) {
    std::vector<unsigned char> pixels;
    if (mode == Pixels::load) {
      images_.read_exact(pixels, static_cast<std::size_t>(keep_ * k_features), "pixels");
      if (whole_file_) images_.expect_end();
    }
    std::vector<unsigned char> label_bytes;
    labels_.read_exact(label_bytes, static_cast<std::size_t>(keep_), "labels");
    if (whole_file_) labels_.expect_end();

    Dataset out;
    out.samples = keep_;
    out.features = k_features;
    out.classes = k_classes;
    out.y.resize(static_cast<std::size_t>(keep_));
    for (std::size_t i = 0; i < label_bytes.size(); ++i) {
      if (label_bytes[i] >= k_classes) {
        throw DataError("Fashion-MNIST file '" + labels_.path() + "' has label " + std::to_string(label_bytes[i]) +
                        " at sample " + std::to_string(i) + ", expected 0..9");
      }
      out.y[i] = label_bytes[i];
    }
    std::array<float, 256> scale{};
    for (std::size_t v = 0; v < scale.size(); ++v) scale[v] = static_cast<float>(v) / 255.0F;
    out.x.resize(pixels.size());
    for (std::size_t i = 0; i < pixels.size(); ++i) out.x[i] = scale[pixels[i]];
    return out;
  }

 private:
  GzReader images_;
  GzReader labels_;
  std::int64_t keep_ = 0;
  bool whole_file_ = false;
};

}  // namespace

namespace {
void check_arguments(const std::string& dir, std::int64_t max_train, std::int64_t max_test) {
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) {
    throw DataError("Fashion-MNIST directory '" + dir + "' not found: " + k_install_hint);
  }
  if (max_train < 0 || max_test < 0) {
    throw DataError("Fashion-MNIST: max_train and max_test must be >= 0 (0 = all), got " + std::to_string(max_train) +
                    " and " + std::to_string(max_test));
  }
}
}  // namespace

FashionMnistSizes read_fashion_mnist_sizes(const std::string& dir, std::int64_t max_train, std::int64_t max_test) {
  check_arguments(dir, max_train, max_test);
  const SplitReader train(dir, "train", max_train, "max_train");
  const SplitReader test(dir, "t10k", max_test, "max_test");
  return {train.samples(), test.samples()};
}

LoadedData load_fashion_mnist(const std::string& dir, std::int64_t max_train, std::int64_t max_test, Pixels pixels,
                              Checksums checksums) {
  check_arguments(dir, max_train, max_test);
  // Every header is checked before the first sample is read.
  SplitReader train(dir, "train", max_train, "max_train");
  SplitReader test(dir, "t10k", max_test, "max_test");
  // The checksums (about a quarter of the load time) are computed on a second thread meanwhile.
  std::vector<std::string> paths = train.paths();
  for (std::string& path : test.paths()) paths.push_back(std::move(path));
  std::future<std::vector<std::pair<std::string, std::string>>> sums;
  if (checksums == Checksums::compute)
    sums = std::async(std::launch::async, [paths] {
      std::vector<std::pair<std::string, std::string>> out;
      for (const std::string& path : paths) out.emplace_back(path, cached_sha256_file(path));
      return out;
    });
  LoadedData data;
  data.train = train.read(pixels);
  data.test = test.read(pixels);
  if (sums.valid()) data.checksums = sums.get();
  return data;
}

}  // namespace dtsim::models

namespace dtsim::models {
namespace {

// (x − mean) / std on pixels already in [0, 1] (x/255), as torchvision's Normalize after ToTensor: in
// float, the same two operations per pixel.
void normalize_pixels(Dataset& d, double mean, double std_dev) {
  const auto m = static_cast<float>(mean), s = static_cast<float>(std_dev);
  for (float& v : d.x) v = (v - m) / s;
}

class FashionMnistSource final : public DatasetSource {
 public:
  explicit FashionMnistSource(const DatasetSpec& spec) : spec_(spec) {}
  std::int64_t features() const override { return kFashionMnistFeatures; }
  std::int64_t classes() const override { return kFashionMnistClasses; }
  ImageShape image() const override { return {1, 28, 28}; }
  std::vector<MemoryPart> memory(const DataNeeds& needs, DataSizes* counts = nullptr) const override {
    const auto sizes = read_fashion_mnist_sizes(spec_.path, spec_.max_train, spec_.max_test);
    if (counts) *counts = {sizes.train, sizes.test};
    const double samples = static_cast<double>(sizes.train + sizes.test);
    // float32 pixels when loaded, and 8 bytes of label and partition index per sample.
    const double per_sample = (needs.features ? static_cast<double>(kFashionMnistFeatures) * 4 : 0) + 8;
    return {{"data", samples * per_sample,
             "(" + std::to_string(sizes.train) + " train + " + std::to_string(sizes.test) + " test samples" +
                 (needs.features ? "" : ", labels only") + ")",
             "workload.dataset"}};
  }
  LoadedData load(const DataNeeds& needs) const override {
    LoadedData data = load_fashion_mnist(spec_.path, spec_.max_train, spec_.max_test,
                                         needs.features ? Pixels::load : Pixels::skip,
                                         needs.checksums ? Checksums::compute : Checksums::skip);
    if (spec_.normalize_mean != 0 || spec_.normalize_std != 1) {
      normalize_pixels(data.train, spec_.normalize_mean, spec_.normalize_std);
      normalize_pixels(data.test, spec_.normalize_mean, spec_.normalize_std);
    }
    return data;
  }

 private:
  DatasetSpec spec_;
};

}  // namespace

std::unique_ptr<DatasetSource> make_fashion_mnist_source(const DatasetSpec& spec, const DataContext&) {
  return std::make_unique<FashionMnistSource>(spec);
}

}  // namespace dtsim::models
