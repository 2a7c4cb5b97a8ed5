// In-memory labelled datasets and their loaders.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dtsim::models {

// A dataset failed to load (missing file, bad magic, truncated data). The message names the file and,
// for Fashion-MNIST, the Debian package that provides it.
// key_path, when set, is the scenario key the problem is about (the engine locates the error there);
// otherwise it is about the dataset's own keys.
class DataError : public std::runtime_error {
 public:
  explicit DataError(const std::string& message, std::string key_path = "")
      : std::runtime_error(message), key_path_(std::move(key_path)) {}
  const std::string& key_path() const { return key_path_; }

 private:
  std::string key_path_;
};

struct Dataset {
  std::int64_t samples = 0;
  std::int64_t features = 0;
  std::int64_t classes = 0;
  std::vector<float> x;         // samples × features, row-major
  std::vector<std::int32_t> y;  // samples labels in [0, classes)
};

struct LoadedData {
  Dataset train;
  Dataset test;
  // For datasets that come split by user (synthetic): per-client training-sample indices into train.
  // Empty for pooled datasets (fashion_mnist), which a partitioner splits.
  std::vector<std::vector<std::int32_t>> natural_partition;
  // Training samples per user of such a dataset, also when the samples themselves were not generated.
  std::vector<std::int64_t> natural_sizes;
  // (file path, SHA-256 hex) of every file read, for run.yaml's provenance. Empty for generated data.
  std::vector<std::pair<std::string, std::string>> checksums;
};

// Fashion-MNIST from the four idx .gz files in `dir` (Debian package dataset-fashion-mnist installs them
// in /usr/share/datasets/fashion-mnist). Pixels are scaled to [0, 1]. max_train / max_test > 0 keep only
// the first that many samples; asking for more than a file holds, or for a negative count, is a DataError,
// as is a missing, truncated or malformed file. checksums lists the four files (train images, train
// labels, test images, test labels) with the SHA-256 of their .gz bytes.
// Pixels::skip (timing-only runs, which need the labels for partitioning but never train) checks the
// image files' headers but reads no pixel: x stays empty (features is still 784), saving ~220 MB.
// Checksums::skip leaves checksums empty (dtsim validate: it records no provenance and should not read
// the 30 MB of image files).
enum class Pixels { load, skip };
enum class Checksums { compute, skip };
LoadedData load_fashion_mnist(const std::string& dir, std::int64_t max_train, std::int64_t max_test,
                              Pixels pixels = Pixels::load, Checksums checksums = Checksums::compute);

// The sample counts a load_fashion_mnist(dir, max_train, max_test) would hold, from the files' headers
// alone (a few bytes each); the same DataErrors for missing or malformed files and too large counts.
struct FashionMnistSizes {
  std::int64_t train = 0, test = 0;
};
FashionMnistSizes read_fashion_mnist_sizes(const std::string& dir, std::int64_t max_train, std::int64_t max_test);
inline constexpr std::int64_t kFashionMnistFeatures = 784;  // 28 × 28 pixels
inline constexpr std::int64_t kFashionMnistClasses = 10;

// The FedProx synthetic(alpha, beta) generator (shared/reference/POLICIES.md §1.2), one user per client,
// drawn from the keyed stream Rng(seed, "synthetic", user) (iid's shared W, b: Rng(seed, "synthetic_shared")).
// Per user: n_k = int(lognormal(4, 2)) + 50 samples (capped at 100,000 to bound memory), shuffled, the
// first int(0.9 n_k) for training (natural_partition[user] lists their indices in train) and the rest
// appended to the pooled test set, users in order. iid = the synthetic_iid variant. checksums is empty.
struct SyntheticParams {
  double alpha = 1.0;
  double beta = 1.0;
  bool iid = false;
  std::int64_t users = 30;
  std::int64_t dimension = 60;
  std::int64_t classes = 10;
};
// Throws std::invalid_argument for users, dimension or classes < 1, or negative / non-finite alpha, beta.
LoadedData generate_synthetic(const SyntheticParams& params, std::uint64_t seed);

// A user's train and test sample counts, exactly as generate_synthetic splits them, from the first draw of
// its stream alone (no features are generated): what `dtsim validate` and the workload's sizes need.
struct SyntheticUserSizes {
  std::int64_t train = 0, test = 0;
};
SyntheticUserSizes synthetic_user_sizes(std::uint64_t seed, std::int64_t user);
// The mean samples (train + test) of one user, for memory estimates: E[lognormal(4, 2)] + 50 = e^6 + 50.
double synthetic_mean_samples_per_user();

// Testing hook: the hidden model of one synthetic user, drawn from the same keyed streams as
// generate_synthetic(params, seed), so a test can check every label of user `user` against
// argmax(x·w + b) (computed in double from the stored float x, first maximum on ties) and the
// covariance diag(j^-1.2) around `mean`. For the iid variant mean is zero and w, b are shared.
struct SyntheticUserModel {
  std::int64_t samples = 0;  // n_k, train + test
  std::vector<double> mean;  // v_k, dimension
  std::vector<double> w;     // W_k, dimension × classes, row-major
  std::vector<double> b;     // b_k, classes
};
SyntheticUserModel synthetic_user_model(const SyntheticParams& params, std::uint64_t seed, std::int64_t user);

// SHA-256 of a file's bytes, as 64 lowercase hex digits (OpenSSL). Throws DataError when unreadable.
std::string sha256_file(const std::string& path);
std::string sha256_hex(const void* data, std::size_t size);

// sha256_file, computed once per file version: cached in checksum_cache_dir() under the file's (device,
// inode, size, modification time in ns), written atomically. It trusts the modification time: a file
// rewritten with the same size and its old mtime restored keeps its old checksum. Not cached when the
// file changed while it was read, or when the cache cannot be written (then it is only slower).
std::string cached_sha256_file(const std::string& path);
// $XDG_CACHE_HOME/dtsim, else $HOME/.cache/dtsim; "" (no cache) when neither is an absolute path or
// DTSIM_CHECKSUM_CACHE=off.
std::string checksum_cache_dir();

}  // namespace dtsim::models
