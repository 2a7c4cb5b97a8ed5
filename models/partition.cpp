// Partitioners of a pooled training set across clients.
// iid: uniform shuffle, near-equal contiguous blocks.
// dirichlet: label skew of Hsu, Qi, Brown, "Measuring the Effects of Non-Identical Data Distribution for
//   Federated Visual Classification", arXiv 1909.06335 (per-class proportions ~ Dir(alpha)).
// shards: McMahan, Moore, Ramage, Hampson, Agüera y Arcas, "Communication-Efficient Learning of Deep
//   Networks from Decentralized Data", AISTATS 2017, §3 (pathological non-IID split).
#include "models/partition.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dtsim::models {
namespace {

constexpr std::int64_t k_max_index = std::numeric_limits<std::int32_t>::max();

void check_clients(std::int64_t clients, const char* who) {
  if (clients < 1 || clients > k_max_index) {
    throw std::invalid_argument(std::string(who) + ": clients must be in [1, 2^31-1], got " + std::to_string(clients));
  }
}

void check_samples(std::int64_t samples, const char* who) {
  if (samples < 0 || samples > k_max_index) {
    throw std::invalid_argument(std::string(who) + ": samples must be in [0, 2^31-1], got " + std::to_string(samples));
  }
}

// Fisher–Yates with Lemire's unbiased bounded draws (the same shuffle as in synthetic.cpp).
template <typename T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// Sorts each client's indices, then, when samples >= clients, fills every empty client (lowest id first)
// with the last (largest) index of the currently largest client, ties to the lowest client id.
void sort_and_fill_empty(Partition& parts) {
  std::size_t total = 0;
  for (auto& part : parts) {
    std::sort(part.begin(), part.end());
    total += part.size();
  }
  if (total < parts.size()) return;
  for (auto& part : parts) {
    if (!part.empty()) continue;
    auto largest = parts.begin();
    for (auto it = parts.begin(); it != parts.end(); ++it) {
      if (it->size() > largest->size()) largest = it;
    }
    part.push_back(largest->back());
    largest->pop_back();
  }
}

// The Gamma(alpha) draws of a huge alpha (1e308) are each near alpha and their sum overflows to infinity,
// which put every sample of a class on the last client: the most skewed split, where Dir(alpha -> inf) means
// equal shares. Scaling every draw by one power of two is exact, keeps their ratios, and brings the sum back
// into range; the draws of ordinary alphas never get here, so their splits are unchanged to the bit.
void rescale(std::vector<double>& proportions, double& sum) {
  const double largest = *std::max_element(proportions.begin(), proportions.end());
  int exponent = 0;
  std::frexp(largest, &exponent);
  sum = 0;
  for (double& p : proportions) sum += (p = std::ldexp(p, -exponent));
  if (std::isfinite(sum)) return;
  // Not reachable with finite draws (each is below 1 now); equal shares, the limit, should one be infinite.
  std::fill(proportions.begin(), proportions.end(), 1.0);
  sum = static_cast<double>(proportions.size());
}

}  // namespace

Partition partition_iid(std::int64_t samples, std::int64_t clients, Rng& rng) {
  check_clients(clients, "partition_iid");
  check_samples(samples, "partition_iid");
  std::vector<std::int32_t> order(static_cast<std::size_t>(samples));
  std::iota(order.begin(), order.end(), 0);
  shuffle(order, rng);

  Partition parts(static_cast<std::size_t>(clients));
  const std::int64_t base = samples / clients;
  const std::int64_t extra = samples % clients;
  auto next = order.begin();
  for (std::int64_t c = 0; c < clients; ++c) {
    const std::int64_t size = base + (c < extra ? 1 : 0);
    auto& part = parts[static_cast<std::size_t>(c)];
    part.assign(next, next + size);
    next += size;
  }
  sort_and_fill_empty(parts);
  return parts;
}

Partition partition_dirichlet(std::span<const std::int32_t> labels, std::int64_t classes, std::int64_t clients,
                              double alpha, Rng& rng) {
  check_clients(clients, "partition_dirichlet");
  check_samples(static_cast<std::int64_t>(labels.size()), "partition_dirichlet");
  if (classes < 1 || classes > k_max_index) {
    throw std::invalid_argument("partition_dirichlet: classes must be >= 1, got " + std::to_string(classes));
  }
  if (!(alpha > 0) || !std::isfinite(alpha)) {
    throw std::invalid_argument("partition_dirichlet: alpha must be finite and > 0, got " + std::to_string(alpha));
  }
  std::vector<std::vector<std::int32_t>> by_class(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw std::invalid_argument("partition_dirichlet: label " + std::to_string(labels[i]) + " of sample " +
                                  std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
    }
    by_class[static_cast<std::size_t>(labels[i])].push_back(static_cast<std::int32_t>(i));
  }

  Partition parts(static_cast<std::size_t>(clients));
  std::vector<double> proportions(static_cast<std::size_t>(clients));
  for (auto& members : by_class) {
    shuffle(members, rng);
    // p ~ Dirichlet(alpha, ..., alpha) as normalised Gamma(alpha, 1) draws, drawn even for an empty class
    // so that the stream's use does not depend on the class counts.
    double sum = 0;
    for (double& p : proportions) sum += (p = rng.gamma(alpha));
    if (!std::isfinite(sum)) rescale(proportions, sum);
    const auto n = static_cast<std::int64_t>(members.size());
    if (!(sum > 0)) {
      // Every gamma draw underflowed (possible for tiny alpha): the limit of Dir(alpha -> 0) puts the
      // whole class on one client, uniformly chosen.
      auto& part = parts[rng.below(static_cast<std::uint64_t>(clients))];
      part.insert(part.end(), members.begin(), members.end());
      continue;
    }
    // Cut at the cumulative proportions, floor rounding; the last client takes the rest.
    double cumulative = 0;
    std::int64_t begin = 0;
    for (std::size_t c = 0; c < parts.size(); ++c) {
      std::int64_t end = n;
      if (c + 1 < parts.size()) {
        cumulative += proportions[c];
        end = std::clamp(static_cast<std::int64_t>(std::floor(cumulative / sum * static_cast<double>(n))), begin, n);
      }
      parts[c].insert(parts[c].end(), members.begin() + begin, members.begin() + end);
      begin = end;
    }
  }
  sort_and_fill_empty(parts);
  return parts;
}

Partition partition_shards(std::span<const std::int32_t> labels, std::int64_t clients, std::int64_t shards_per_client,
                           Rng& rng) {
  check_clients(clients, "partition_shards");
  check_samples(static_cast<std::int64_t>(labels.size()), "partition_shards");
  if (shards_per_client < 1 || shards_per_client > k_max_index / clients) {
    throw std::invalid_argument(
        "partition_shards: shards_per_client must be >= 1 and clients × shards_per_client "
        "<= 2^31-1, got " +
        std::to_string(shards_per_client) + " with " + std::to_string(clients) + " clients");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      throw std::invalid_argument("partition_shards: label " + std::to_string(labels[i]) + " of sample " +
                                  std::to_string(i) + " is negative");
    }
  }
  std::vector<std::int32_t> sorted(labels.size());
  std::iota(sorted.begin(), sorted.end(), 0);
  std::stable_sort(sorted.begin(), sorted.end(), [&labels](std::int32_t a, std::int32_t b) {
    return labels[static_cast<std::size_t>(a)] < labels[static_cast<std::size_t>(b)];
  });

  // Shard s is a contiguous run of the label-sorted order; the last (samples mod shards) shards hold
  // one sample more, so every sample lands in a shard.
  const std::int64_t shards = clients * shards_per_client;
  const auto samples = static_cast<std::int64_t>(labels.size());
  const std::int64_t base = samples / shards;
  const std::int64_t extra = samples % shards;
  auto shard_begin = [&](std::int64_t s) { return s * base + std::max<std::int64_t>(0, s - (shards - extra)); };

  std::vector<std::int64_t> shard_ids(static_cast<std::size_t>(shards));
  std::iota(shard_ids.begin(), shard_ids.end(), 0);
  shuffle(shard_ids, rng);

  Partition parts(static_cast<std::size_t>(clients));
  for (std::int64_t c = 0; c < clients; ++c) {
    auto& part = parts[static_cast<std::size_t>(c)];
    for (std::int64_t k = c * shards_per_client; k < (c + 1) * shards_per_client; ++k) {
      const std::int64_t s = shard_ids[static_cast<std::size_t>(k)];
      part.insert(part.end(), sorted.begin() + shard_begin(s), sorted.begin() + shard_begin(s + 1));
    }
  }
  sort_and_fill_empty(parts);
  return parts;
}

}  // namespace dtsim::models

// ------------------------------------------------------------------------------------------------
// The partitioners as components (models/partitioner.hpp).

#include "models/partitioner.hpp"

namespace dtsim::models {
namespace {

ClientSamples with_sizes(Partition indices) {
  ClientSamples out;
  out.sizes.reserve(indices.size());
  for (const auto& client : indices) out.sizes.push_back(static_cast<std::int64_t>(client.size()));
  out.indices = std::move(indices);
  return out;
}

// A pooled split gives every client at least one sample, so it needs at least as many samples.
void check_enough_samples(const LoadedData& data, std::int64_t clients) {
  if (data.train.samples < clients)
    throw DataError("there are " + std::to_string(clients) + " clients but only " + std::to_string(data.train.samples) +
                        " training samples; every client needs at least one",
                    "platform.clients.count");
}

class PooledPartitioner : public Partitioner {
 public:
  ClientSamples split(const LoadedData& data, std::int64_t clients, Rng& rng) const final {
    check_enough_samples(data, clients);
    return with_sizes(do_split(data.train, clients, rng));
  }

 private:
  virtual Partition do_split(const Dataset& train, std::int64_t clients, Rng& rng) const = 0;
};

class Iid final : public PooledPartitioner {
  Partition do_split(const Dataset& train, std::int64_t clients, Rng& rng) const override {
    return partition_iid(train.samples, clients, rng);
  }
};

class Dirichlet final : public PooledPartitioner {
 public:
  explicit Dirichlet(double alpha) : alpha_(alpha) {}

 private:
  Partition do_split(const Dataset& train, std::int64_t clients, Rng& rng) const override {
    return partition_dirichlet(train.y, train.classes, clients, alpha_, rng);
  }
  double alpha_;
};

class Shards final : public PooledPartitioner {
 public:
  explicit Shards(std::int64_t per_client) : per_client_(per_client) {}

 private:
  Partition do_split(const Dataset& train, std::int64_t clients, Rng& rng) const override {
    return partition_shards(train.y, clients, per_client_, rng);
  }
  std::int64_t per_client_;
};

// The dataset's own users, one per client (the generator made exactly as many as there are clients).
class Natural final : public Partitioner {
  ClientSamples split(const LoadedData& data, std::int64_t clients, Rng&) const override {
    if (static_cast<std::int64_t>(data.natural_sizes.size()) != clients)
      throw DataError("the dataset has " + std::to_string(data.natural_sizes.size()) + " users for " +
                          std::to_string(clients) + " clients",
                      "workload.partition.name");
    ClientSamples out;
    out.sizes = data.natural_sizes;
    out.indices = data.natural_partition;
    return out;
  }
};

}  // namespace

std::unique_ptr<Partitioner> make_iid_partitioner(const PartitionSpec&) { return std::make_unique<Iid>(); }
std::unique_ptr<Partitioner> make_dirichlet_partitioner(const PartitionSpec& spec) {
  return std::make_unique<Dirichlet>(spec.alpha);
}
std::unique_ptr<Partitioner> make_shards_partitioner(const PartitionSpec& spec) {
  return std::make_unique<Shards>(spec.shards_per_client);
}
std::unique_ptr<Partitioner> make_natural_partitioner(const PartitionSpec&) { return std::make_unique<Natural>(); }

}  // namespace dtsim::models
