#include "policies/scheduling/scheduling.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace dtsim::policies {

SchedulePlan SchedulingPolicy::plan(const SchedulingContext& ctx) {
  if (ctx.population < 1 || ctx.wanted < 1 || ctx.wanted > ctx.population)
    throw PolicyError("plan: need 1 <= wanted <= population, got wanted=" + std::to_string(ctx.wanted) +
                      " population=" + std::to_string(ctx.population));
  if (ctx.keep_first < 1 || ctx.keep_first > ctx.wanted)
    throw PolicyError("plan: need 1 <= keep_first <= wanted, got keep_first=" + std::to_string(ctx.keep_first));
  SchedulePlan plan = do_plan(ctx);

  if (static_cast<std::int64_t>(plan.clients.size()) > ctx.wanted)
    throw PolicyError("plan: returned " + std::to_string(plan.clients.size()) + " clients, more than the " +
                      std::to_string(ctx.wanted) + " wanted");
  std::vector<ClientId> sorted = plan.clients;  // O(K log K): no population-sized table
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const ClientId c = sorted[i];
    if (c.value < 0 || c.value >= ctx.population)
      throw PolicyError("plan: client " + std::to_string(c.value) + " is outside the population");
    if (i > 0 && sorted[i - 1] == c) throw PolicyError("plan: client " + std::to_string(c.value) + " was selected twice");
    if (ctx.availability && !ctx.availability->available(c, ctx.round.sim_time_s))
      throw PolicyError("plan: client " + std::to_string(c.value) + " is not available");
  }
  const auto n = static_cast<std::int64_t>(plan.clients.size());
  if (n == 0 ? plan.keep_first != 0 : (plan.keep_first < 1 || plan.keep_first > n))
    throw PolicyError("plan: keep_first " + std::to_string(plan.keep_first) + " for " + std::to_string(n) +
                      " clients; need 1 <= keep_first <= clients (0 for an empty plan)");
  if (plan.deadline_s && !(std::isfinite(*plan.deadline_s) && *plan.deadline_s > 0))
    throw PolicyError("plan: the deadline must be a finite number of seconds > 0");
  return plan;
}

}  // namespace dtsim::policies
