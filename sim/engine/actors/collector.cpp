#include "sim/engine/actors/collector.hpp"

#include <exception>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine::actors {

namespace {
void rethrow_if_failed(const Task& task) {
  if (task.failure()) std::rethrow_exception(task.failure());
}
}  // namespace

Collected collect(std::span<const std::shared_ptr<Task>> tasks, ArrivalQueue& arrivals, const StopRule& rule) {
  Collected out;
  const auto keep = static_cast<std::size_t>(rule.keep_first);
  std::size_t arrived = 0;
  while (out.kept.size() < keep && arrived < tasks.size()) {
    const auto index = arrivals.pop(rule.deadline_at_s);
    if (!index) {
      // The deadline. A task whose upload ends at exactly this instant may not have run yet: let every
      // actor woken at this time run first, then take what they posted.
      sg4::this_actor::yield();
      while (out.kept.size() < keep) {
        const auto late_index = arrivals.try_pop();
        if (!late_index) break;
        rethrow_if_failed(*tasks[*late_index]);
        ++arrived;
        out.kept.push_back(*late_index);
      }
      break;
    }
    rethrow_if_failed(*tasks[*index]);
    ++arrived;
    out.kept.push_back(*index);
  }
  out.reached_keep_first = out.kept.size() >= keep;
  out.stopped_at_s = sg4::Engine::get_clock();

  // Everyone else is stopped where they are; arrivals past the first K (the same instant) are dropped.
  std::vector<bool> is_kept(tasks.size(), false);
  for (auto i : out.kept) is_kept[i] = true;
  const ClientStatus unused = out.reached_keep_first ? ClientStatus::dropped : ClientStatus::late;
  for (std::size_t i = 0; i < tasks.size(); ++i)
    if (!is_kept[i]) tasks[i]->stop(tasks[i]->arrived() ? ClientStatus::dropped : unused);
  return out;
}

}  // namespace dtsim::engine::actors
