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
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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
enum class Pixels { load, skip };
LoadedData load_fashion_mnist(const std::string& dir, std::int64_t max_train, std::int64_t max_test,
                              Pixels pixels = Pixels::load);

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

// SHA-256 of a file's bytes, as 64 lowercase hex digits. Throws DataError when unreadable.
std::string sha256_file(const std::string& path);
std::string sha256_hex(const void* data, std::size_t size);

}  // namespace dtsim::models
