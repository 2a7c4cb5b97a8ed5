// Partitioners: exact cover, sorted per-client lists, no empty client when samples >= clients,
// determinism, and each scheme's own property (iid balance, Dirichlet skew, shard label count).
#include "models/partition.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using dtsim::Rng;
using dtsim::models::Partition;
using dtsim::models::partition_dirichlet;
using dtsim::models::partition_iid;
using dtsim::models::partition_shards;

constexpr std::array<std::uint64_t, 4> k_seeds = {1, 7, 42, 20240917};

// "" when every index in [0, samples) appears exactly once, each client's list is ascending and, when
// samples >= clients, no client is empty; otherwise the first problem found.
std::string cover_problem(const Partition& parts, std::int64_t samples) {
  std::vector<int> seen(static_cast<std::size_t>(samples), 0);
  std::ostringstream out;
  for (std::size_t c = 0; c < parts.size(); ++c) {
    if (!std::is_sorted(parts[c].begin(), parts[c].end())) out << "client " << c << " not sorted; ";
    if (parts[c].empty() && samples >= static_cast<std::int64_t>(parts.size())) out << "client " << c << " empty; ";
    for (std::int32_t i : parts[c]) {
      if (i < 0 || i >= samples) {
        out << "client " << c << " has out-of-range index " << i << "; ";
      } else if (++seen[static_cast<std::size_t>(i)] == 2) {
        out << "index " << i << " assigned twice; ";
      }
    }
  }
  const auto missing = std::count(seen.begin(), seen.end(), 0);
  if (missing > 0) out << missing << " samples unassigned; ";
  return out.str();
}

// Labels 0..classes-1, `per_class` of each, in a shuffled order.
std::vector<std::int32_t> balanced_labels(std::int32_t classes, std::int32_t per_class, std::uint64_t seed) {
  std::vector<std::int32_t> labels;
  for (std::int32_t c = 0; c < classes; ++c) labels.insert(labels.end(), static_cast<std::size_t>(per_class), c);
  Rng rng(seed, "test_labels");
  for (std::size_t i = labels.size(); i > 1; --i) std::swap(labels[i - 1], labels[rng.below(i)]);
  return labels;
}

std::vector<std::int32_t> random_labels(std::size_t samples, std::int32_t classes, std::uint64_t seed) {
  Rng rng(seed, "test_labels");
  std::vector<std::int32_t> labels(samples);
  for (auto& y : labels) y = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes)));
  return labels;
}

// Mean over non-empty clients of the total-variation distance between the client's label distribution
// and the global one.
double mean_label_skew(const Partition& parts, const std::vector<std::int32_t>& labels, std::int32_t classes) {
  std::vector<double> global(static_cast<std::size_t>(classes), 0.0);
  for (std::int32_t y : labels) global[static_cast<std::size_t>(y)] += 1.0 / static_cast<double>(labels.size());
  double total = 0;
  int counted = 0;
  for (const auto& part : parts) {
    if (part.empty()) continue;
    std::vector<double> local(static_cast<std::size_t>(classes), 0.0);
    for (std::int32_t i : part) local[static_cast<std::size_t>(labels[static_cast<std::size_t>(i)])] += 1.0;
    double tv = 0;
    for (std::size_t c = 0; c < local.size(); ++c)
      tv += std::abs(local[c] / static_cast<double>(part.size()) - global[c]);
    total += tv / 2;
    ++counted;
  }
  return total / counted;
}

// (samples, clients) pairs, including clients > samples, clients == 1 and no samples.
constexpr std::array<std::pair<std::int64_t, std::int64_t>, 8> k_sizes = {
    {{0, 1}, {0, 3}, {1, 1}, {5, 8}, {8, 8}, {97, 1}, {1000, 7}, {2000, 100}}};

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("partition_iid: assigns every sample exactly once with sizes differing by at most one") {
    for (std::uint64_t seed : k_seeds) {
      for (const auto& size : k_sizes) {
        const std::int64_t samples = size.first, clients = size.second;  // INFO captures them
        INFO("seed " << seed << ", samples " << samples << ", clients " << clients);
        // prepare
        Rng rng(seed, "partition_test");

        // execute
        const Partition parts = partition_iid(samples, clients, rng);

        // assert
        REQUIRE(static_cast<std::int64_t>(parts.size()) == clients);
        CHECK(cover_problem(parts, samples) == "");
        const auto [lo, hi] = std::minmax_element(parts.begin(), parts.end(),
                                                  [](const auto& a, const auto& b) { return a.size() < b.size(); });
        CHECK(hi->size() - lo->size() <= 1);
      }
    }
  }

  TEST_CASE("partition_iid: shuffles rather than handing out contiguous ranges") {
    for (std::uint64_t seed : k_seeds) {
      INFO("seed " << seed);
      Rng rng(seed, "partition_test");
      const Partition parts = partition_iid(1000, 10, rng);
      // a contiguous block would span exactly 100 consecutive indices
      CHECK(parts[0].back() - parts[0].front() > 500);
    }
  }

  TEST_CASE("partition_dirichlet: assigns every sample exactly once for any alpha") {
    for (std::uint64_t seed : k_seeds) {
      for (double alpha : {0.01, 0.1, 1.0, 100.0}) {
        for (const auto& size : k_sizes) {
          const std::int64_t samples = size.first, clients = size.second;  // INFO captures them
          INFO("seed " << seed << ", alpha " << alpha << ", samples " << samples << ", clients " << clients);
          // prepare
          const auto labels = random_labels(static_cast<std::size_t>(samples), 10, seed);
          Rng rng(seed, "partition_test");

          // execute
          const Partition parts = partition_dirichlet(labels, 10, clients, alpha, rng);

          // assert
          REQUIRE(static_cast<std::int64_t>(parts.size()) == clients);
          CHECK(cover_problem(parts, samples) == "");
        }
      }
    }
  }

  TEST_CASE("partition_dirichlet: label skew grows strictly as alpha shrinks") {
    for (std::uint64_t seed : k_seeds) {
      INFO("seed " << seed);
      // prepare
      const auto labels = balanced_labels(10, 500, seed);

      // execute
      std::vector<double> skew;
      for (double alpha : {100.0, 1.0, 0.1}) {
        Rng rng(seed, "partition_test");
        skew.push_back(mean_label_skew(partition_dirichlet(labels, 10, 20, alpha, rng), labels, 10));
      }

      // assert
      INFO("skew at alpha 100, 1, 0.1: " << skew[0] << ", " << skew[1] << ", " << skew[2]);
      CHECK(skew[0] < 0.15);
      CHECK(skew[0] < skew[1]);
      CHECK(skew[1] < skew[2]);
      CHECK(skew[2] > 0.5);
    }
  }

  TEST_CASE("partition_dirichlet: a single-class set concentrated by a tiny alpha still leaves no client empty") {
    for (std::uint64_t seed : k_seeds) {
      INFO("seed " << seed);
      // prepare: Dir(0.001) puts almost everything on one client; the fix-up must hand one sample to each
      const std::vector<std::int32_t> labels(4, 0);
      Rng rng(seed, "partition_test");

      // execute
      const Partition parts = partition_dirichlet(labels, 1, 4, 0.001, rng);

      // assert
      CHECK(cover_problem(parts, 4) == "");
      for (const auto& part : parts) CHECK(part.size() == 1);
    }
  }

  TEST_CASE("partition_dirichlet: a huge alpha, whose gamma draws sum past the largest double, splits evenly") {
    for (std::uint64_t seed : k_seeds) {
      for (double alpha : {1e300, 1e307, 1e308, 1.7976931348623157e308}) {
        INFO("seed " << seed << ", alpha " << alpha);
        // prepare: 100 draws near 1e308 sum to infinity, which used to hand each class to the last client
        const auto labels = balanced_labels(10, 500, seed);
        Rng rng(seed, "partition_test");

        // execute
        const Partition parts = partition_dirichlet(labels, 10, 100, alpha, rng);

        // assert: Dir(alpha -> inf) is equal shares, 50 samples per client here
        CHECK(cover_problem(parts, 5000) == "");
        const auto [smallest, largest] = std::minmax_element(
            parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
        CHECK(smallest->size() >= 40);
        CHECK(largest->size() <= 60);
        CHECK(mean_label_skew(parts, labels, 10) < 0.15);
      }
    }
  }

  TEST_CASE("partition_shards: assigns every sample exactly once, leftovers included") {
    for (std::uint64_t seed : k_seeds) {
      for (std::int64_t shards_per_client : {1, 2, 3}) {
        for (const auto& size : k_sizes) {
          const std::int64_t samples = size.first, clients = size.second;  // INFO captures them
          INFO("seed " << seed << ", shards " << shards_per_client << ", samples " << samples << ", clients "
                       << clients);
          // prepare
          const auto labels = random_labels(static_cast<std::size_t>(samples), 10, seed);
          Rng rng(seed, "partition_test");

          // execute
          const Partition parts = partition_shards(labels, clients, shards_per_client, rng);

          // assert
          REQUIRE(static_cast<std::int64_t>(parts.size()) == clients);
          CHECK(cover_problem(parts, samples) == "");
        }
      }
    }
  }

  TEST_CASE("partition_shards: with two single-label shards per client each client holds at most two labels") {
    for (std::uint64_t seed : k_seeds) {
      INFO("seed " << seed);
      // prepare: 10 classes × 100 samples, 50 clients × 2 shards of 10 samples, so no shard straddles classes
      const auto labels = balanced_labels(10, 100, seed);
      Rng rng(seed, "partition_test");

      // execute
      const Partition parts = partition_shards(labels, 50, 2, rng);

      // assert
      CHECK(cover_problem(parts, 1000) == "");
      std::size_t two_label_clients = 0;
      for (std::size_t c = 0; c < parts.size(); ++c) {
        std::set<std::int32_t> held;
        for (std::int32_t i : parts[c]) held.insert(labels[static_cast<std::size_t>(i)]);
        INFO("client " << c);
        CHECK(parts[c].size() == 20);
        CHECK(held.size() <= 2);
        two_label_clients += held.size() == 2;
      }
      CHECK(two_label_clients > 25);  // shards are dealt at random, not in label order
    }
  }

  TEST_CASE("partitioners: the same seed gives the same partition and another seed a different one") {
    const auto labels = random_labels(500, 10, 3);
    auto run_all = [&labels](std::uint64_t seed) {
      Rng a(seed, "partition_test");
      Rng b(seed, "partition_test");
      Rng c(seed, "partition_test");
      return std::array<Partition, 3>{partition_iid(500, 7, a), partition_dirichlet(labels, 10, 7, 0.5, b),
                                      partition_shards(labels, 7, 2, c)};
    };
    for (std::uint64_t seed : k_seeds) {
      INFO("seed " << seed);
      const auto first = run_all(seed);
      const auto again = run_all(seed);
      const auto other = run_all(seed + 1);
      for (std::size_t p = 0; p < 3; ++p) {
        INFO("partitioner " << p);
        CHECK(first[p] == again[p]);
        CHECK(first[p] != other[p]);
      }
    }
  }

  TEST_CASE("partitioners: reject impossible arguments") {
    Rng rng(1, "partition_test");
    const std::vector<std::int32_t> labels = {0, 1, 2, 1};
    const std::vector<std::int32_t> negative = {0, -1};
    CHECK_THROWS_AS(partition_iid(10, 0, rng), std::invalid_argument);
    CHECK_THROWS_AS(partition_iid(-1, 2, rng), std::invalid_argument);
    CHECK_THROWS_AS(partition_dirichlet(labels, 3, 0, 1.0, rng), std::invalid_argument);
    CHECK_THROWS_AS(partition_dirichlet(labels, 3, 2, 0.0, rng), std::invalid_argument);
    CHECK_THROWS_AS(partition_dirichlet(labels, 3, 2, -1.0, rng), std::invalid_argument);
    CHECK_THROWS_AS(partition_dirichlet(labels, 3, 2, NAN, rng), std::invalid_argument);
    CHECK_THROWS_AS(partition_dirichlet(labels, 3, 2, INFINITY, rng), std::invalid_argument);
    CHECK_THROWS_AS(partition_dirichlet(labels, 2, 2, 1.0, rng), std::invalid_argument);  // label 2 >= classes
    CHECK_THROWS_AS(partition_dirichlet(negative, 2, 2, 1.0, rng), std::invalid_argument);
    CHECK_THROWS_AS(partition_shards(labels, 0, 2, rng), std::invalid_argument);
    CHECK_THROWS_AS(partition_shards(labels, 2, 0, rng), std::invalid_argument);
    CHECK_THROWS_AS(partition_shards(negative, 2, 1, rng), std::invalid_argument);
  }
}
