#include "policies/scheduling/uniform.hpp"

#include <algorithm>
#include <unordered_map>

namespace dtsim::policies {

std::vector<ClientId> uniform_sample(const SchedulingContext& ctx) {
  Rng rng(ctx.seed, "uniform", static_cast<std::uint64_t>(ctx.round.round));
  const std::int64_t n = ctx.population;
  // Position i of a virtual permutation of 0..n-1; only swapped positions are stored.
  std::unordered_map<std::int64_t, std::int64_t> swapped;
  const auto slot = [&](std::int64_t i) {
    auto it = swapped.find(i);
    return it == swapped.end() ? i : it->second;
  };
  std::vector<ClientId> out;
  out.reserve(static_cast<std::size_t>(std::min(ctx.wanted, n)));
  for (std::int64_t i = 0; i < n && static_cast<std::int64_t>(out.size()) < ctx.wanted; ++i) {
    const std::int64_t j = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - i)));
    const std::int64_t pick = slot(j);
    swapped[j] = slot(i);
    const ClientId client{static_cast<std::int32_t>(pick)};
    if (!ctx.availability || ctx.availability->available(client, ctx.round.sim_time_s)) out.push_back(client);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

class Uniform final : public SchedulingPolicy {
  SchedulePlan do_plan(const SchedulingContext& ctx) override {
    SchedulePlan plan;
    plan.clients = uniform_sample(ctx);
    plan.deadline_s = ctx.deadline_s;
    plan.keep_first = std::min<std::int64_t>(ctx.keep_first, static_cast<std::int64_t>(plan.clients.size()));
    return plan;
  }
};

}  // namespace

std::unique_ptr<SchedulingPolicy> make_uniform(Params&, const BuildContext&) { return std::make_unique<Uniform>(); }

}  // namespace dtsim::policies
