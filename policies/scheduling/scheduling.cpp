#include "policies/scheduling/scheduling.hpp"

#include <string>
#include <vector>

namespace dtsim::policies {

std::vector<ClientId> SchedulingPolicy::select(const SelectionContext& ctx) {
  if (ctx.population < 1 || ctx.wanted < 1 || ctx.wanted > ctx.population)
    throw PolicyError("select: need 1 <= wanted <= population, got wanted=" + std::to_string(ctx.wanted) +
                      " population=" + std::to_string(ctx.population));
  if (!ctx.available.empty() && static_cast<std::int64_t>(ctx.available.size()) != ctx.population)
    throw PolicyError("select: the availability vector must have one flag per client");
  auto chosen = do_select(ctx);
  std::vector<std::uint8_t> seen(static_cast<std::size_t>(ctx.population), 0);
  for (const auto c : chosen) {
    if (c.value < 0 || c.value >= ctx.population)
      throw PolicyError("select: client " + std::to_string(c.value) + " is outside the population");
    auto& flag = seen[static_cast<std::size_t>(c.value)];
    if (flag) throw PolicyError("select: client " + std::to_string(c.value) + " was selected twice");
    if (!ctx.available.empty() && !ctx.available[static_cast<std::size_t>(c.value)])
      throw PolicyError("select: client " + std::to_string(c.value) + " is not available");
    flag = 1;
  }
  if (static_cast<std::int64_t>(chosen.size()) > ctx.wanted)
    throw PolicyError("select: returned more clients than wanted");
  return chosen;
}

}  // namespace dtsim::policies
