#include "sim/engine/actors/collector.hpp"

#include <algorithm>
#include <exception>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine::actors {

Collected collect(std::span<const std::shared_ptr<Task>> tasks, ArrivalQueue& arrivals, const StopRule& rule) {
  Collected out;
  const std::size_t keep = std::min(static_cast<std::size_t>(rule.keep_first), tasks.size());
  arrivals.arm(std::max<std::size_t>(keep, 1), tasks.size());
  if (keep > 0 && !arrivals.wait(rule.deadline_at_s)) {
    // The deadline. A task whose upload ends at exactly this instant may not have run yet: let every
    // actor woken at this time run first, so that it posts its arrival.
    sg4::this_actor::yield();
    if (rule.partial_work && arrivals.arrived().size() < keep && !arrivals.error()) {
      std::size_t stopped = 0;
      for (const auto& task : tasks)
        if (!task->arrived() && !task->failed() && !task->committed()) {
          task->stop(ClientStatus::late);
          ++stopped;
        }
      arrivals.rearm(keep);
      arrivals.note_stopped(stopped);
      arrivals.wait(std::nullopt);
    }
  }
  for (const auto& task : tasks)
    if (task->failure()) std::rethrow_exception(task->failure());
  const auto& arrived = arrivals.arrived();
  out.kept.assign(arrived.begin(), arrived.begin() + static_cast<std::ptrdiff_t>(std::min(keep, arrived.size())));
  out.reached_keep_first = out.kept.size() >= static_cast<std::size_t>(rule.keep_first);
  out.stopped_at_s = sg4::Engine::get_clock();

  // Everyone else is stopped where they are; arrivals past the first K (the same instant) are dropped.
  // Failed tasks keep their status (crashed, unavailable), as do tasks stopped at a partial-work deadline.
  std::vector<bool> is_kept(tasks.size(), false);
  for (auto i : out.kept) is_kept[i] = true;
  const ClientStatus unused = out.reached_keep_first ? ClientStatus::dropped : ClientStatus::late;
  for (std::size_t i = 0; i < tasks.size(); ++i)
    if (!is_kept[i] && !tasks[i]->stopped()) tasks[i]->stop(tasks[i]->arrived() ? ClientStatus::dropped : unused);
  return out;
}

}  // namespace dtsim::engine::actors
