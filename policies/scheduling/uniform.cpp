#include "policies/scheduling/uniform.hpp"

#include <algorithm>
#include <unordered_map>

namespace dtsim::policies {

std::vector<ClientId> uniform_sample(const SelectionContext& ctx) {
  Rng rng(ctx.seed, "uniform", static_cast<std::uint64_t>(ctx.round.round));
  // Candidates: every available client. Partial Fisher–Yates over a sparse swap map, so a round costs
  // O(K) when everyone is available, even for a population of millions.
  std::vector<std::int32_t> pool;
  std::int64_t n = ctx.population;
  if (!ctx.available.empty()) {
    for (std::int64_t i = 0; i < ctx.population; ++i)
      if (ctx.available[static_cast<std::size_t>(i)]) pool.push_back(static_cast<std::int32_t>(i));
    n = static_cast<std::int64_t>(pool.size());
  }
  const auto at = [&](std::int64_t i) {
    return pool.empty() && ctx.available.empty() ? i : pool[static_cast<std::size_t>(i)];
  };
  const std::int64_t k = std::min(ctx.wanted, n);
  std::unordered_map<std::int64_t, std::int64_t> swapped;
  const auto slot = [&](std::int64_t i) {
    auto it = swapped.find(i);
    return it == swapped.end() ? i : it->second;
  };
  std::vector<ClientId> out;
  out.reserve(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < k; ++i) {
    const std::int64_t j = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - i)));
    const std::int64_t pick = slot(j);
    swapped[j] = slot(i);
    out.push_back(ClientId{static_cast<std::int32_t>(at(pick))});
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

class Uniform final : public SchedulingPolicy {
  std::vector<ClientId> do_select(const SelectionContext& ctx) override { return uniform_sample(ctx); }
};

}  // namespace

std::unique_ptr<SchedulingPolicy> make_uniform(Params&) { return std::make_unique<Uniform>(); }

}  // namespace dtsim::policies
