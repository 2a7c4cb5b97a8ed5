// Collects a round's arrivals in simulated-time order and stops the round on its rule (DESIGN
// "actors::Collector"): every task has arrived or failed (crashed, went offline: the server learns of it
// the moment it happens), or the first keep_first have arrived, or the deadline passed — whichever
// comes first. The tasks that have not arrived are then stopped (their activities cancelled,
// so they neither hang the round nor load the network afterwards): `dropped` when the round had its
// keep_first updates, `late` when it did not. Arrivals beyond the first keep_first are `dropped` too.
// Runs in the calling (coordinator) actor; O(1) per arrival, one wake-up per round.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "sim/engine/actors/arrival_queue.hpp"
#include "sim/engine/actors/task.hpp"

namespace dtsim::engine::actors {

struct StopRule {
  std::int64_t keep_first = 0;          // K: stop once K arrived (0 with no tasks)
  std::optional<double> deadline_at_s;  // absolute simulated time; an arrival at exactly it is on time
  // Partial work: at the deadline only the tasks that will not deliver are stopped (late); those
  // uploading, or computing the whole steps that end by it (Task::committed), are waited for.
  bool partial_work = false;
};

struct Collected {
  std::vector<std::size_t> kept;  // task indices, in arrival order (at most keep_first)
  bool reached_keep_first = false;
  double stopped_at_s = 0;  // when the round stopped collecting
};

// `tasks` are started and post to `arrivals` (collect arms it). Rethrows the failure of a task that died.
Collected collect(std::span<const std::shared_ptr<Task>> tasks, ArrivalQueue& arrivals, const StopRule& rule);

}  // namespace dtsim::engine::actors
