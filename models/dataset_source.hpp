// The dataset seam: a named source of labelled data (fashion_mnist, synthetic), made by the dataset
// registry (models/registry.hpp) from its scenario spec. It can tell its shape and memory before
// reading anything large, and load at three depths: labels only (`dtsim validate`: partitioners need
// the labels, nothing needs pixels), labels and checksums (timing-only runs: provenance), everything.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/dataset.hpp"
#include "sim/common/memory_part.hpp"
#include "sim/scenario/scenario.hpp"

namespace dtsim::models {

struct DataContext {
  std::uint64_t seed = 1;
  std::int64_t clients = 0;  // platform.clients.count (synthetic makes one user per client)
};

struct DataNeeds {
  bool features = true;   // pixels / generated features (only real training needs them)
  bool checksums = true;  // SHA-256 of every file read, for run.yaml's provenance
};

// The sample counts a load would hold, as memory() finds them (the trainer's evaluation workspace
// follows the test set).
struct DataSizes {
  std::int64_t train = 0, test = 0;
};

// The shape of image samples (features = channels × height × width, NCHW rows); all 0 for data that
// are not images (synthetic).
struct ImageShape {
  std::int64_t channels = 0, height = 0, width = 0;
};

class DatasetSource {
 public:
  virtual ~DatasetSource() = default;
  virtual std::int64_t features() const = 0;
  virtual std::int64_t classes() const = 0;
  virtual ImageShape image() const { return {}; }
  // Modelled peak bytes of load(needs) and of what it keeps, from the files' headers or the generator's
  // law (never a table of known sizes); `sizes`, when given, receives the sample counts. May throw
  // DataError (a missing file).
  virtual std::vector<MemoryPart> memory(const DataNeeds& needs, DataSizes* sizes = nullptr) const = 0;
  // Throws DataError (missing, truncated or malformed files, counts the files do not hold).
  virtual LoadedData load(const DataNeeds& needs) const = 0;
};

std::unique_ptr<DatasetSource> make_fashion_mnist_source(const DatasetSpec& spec, const DataContext& context);
std::unique_ptr<DatasetSource> make_synthetic_source(const DatasetSpec& spec, const DataContext& context);

}  // namespace dtsim::models
