// Where tasks post their arrival and the collector finds them, in simulated-time order: a plain list of
// arrivals plus a SimGrid semaphore that wakes the collector once — when the arrival it waits for (the
// K-th, or the last) is posted, or when a task fails. O(1) per arrival, never a wait_any over N
// activities (O(N) per call in SimGrid 3.32: 27 s per round at 10,000 clients), one wake-up per round
// rather than one per arrival, and free of simulated cost (a mailbox between two hosts would add a
// transfer's latency). Actors run one at a time, so the list needs no lock.
#pragma once

#include <simgrid/s4u.hpp>

#include <cstddef>
#include <optional>
#include <vector>

namespace dtsim::engine::actors {

class ArrivalQueue {
 public:
  ArrivalQueue() : ready_(simgrid::s4u::Semaphore::create(0)) {}

  // Starts a round: no arrival yet; wait() returns once `count` arrivals are posted (count >= 1).
  void arm(std::size_t count) {
    arrived_.clear();
    wake_at_ = count;
    while (!ready_->would_block()) ready_->acquire();  // a wake-up left from the last round's deadline
  }

  // From a task's actor: task `index` has arrived (its outcome is final), or failed.
  void push(std::size_t index, bool failed = false) {
    arrived_.push_back(index);
    if (arrived_.size() == wake_at_ || failed) ready_->release();
  }

  // Waits until the armed count has arrived (true) or a task failed (true), or until simulated time
  // `until_s` (false; no limit when nullopt). The wait is resumed until the clock reads at least until_s,
  // so a timeout never fires an ulp early.
  bool wait(std::optional<double> until_s) {
    if (!until_s) {
      ready_->acquire();
      return true;
    }
    for (;;) {
      const double left = *until_s - simgrid::s4u::Engine::get_clock();
      if (left <= 0) return false;
      if (!ready_->acquire_timeout(left)) return true;  // acquire_timeout returns true on timeout
    }
  }

  // Every arrival posted so far, in the order posted (simulated-time order).
  const std::vector<std::size_t>& arrived() const { return arrived_; }

 private:
  simgrid::s4u::SemaphorePtr ready_;
  std::vector<std::size_t> arrived_;
  std::size_t wake_at_ = 0;
};

}  // namespace dtsim::engine::actors
