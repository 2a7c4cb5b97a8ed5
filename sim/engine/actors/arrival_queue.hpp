// Where tasks post their arrival and the collector takes them, one at a time, in simulated-time order:
// a SimGrid semaphore counting a plain queue. O(1) per arrival, never a wait_any over N activities
// (O(N) per call in SimGrid 3.32: 27 s per round at 10,000 clients), and free of simulated cost (a
// mailbox between two hosts would add a transfer's latency). Actors run one at a time, so the queue
// needs no lock.
#pragma once

#include <simgrid/s4u.hpp>

#include <cstddef>
#include <deque>
#include <optional>

namespace dtsim::engine::actors {

class ArrivalQueue {
 public:
  ArrivalQueue() : ready_(simgrid::s4u::Semaphore::create(0)) {}

  // From a task's actor: task `index` has arrived (its outcome is final).
  void push(std::size_t index) {
    arrived_.push_back(index);
    ready_->release();
  }

  // Waits for the next arrival until simulated time `until_s` (no limit when nullopt) and returns its
  // index, or nullopt once that time is reached. The wait is resumed until the clock reads at least
  // until_s, so a timeout never fires an ulp early.
  std::optional<std::size_t> pop(std::optional<double> until_s) {
    for (;;) {
      if (!until_s) {
        ready_->acquire();
        return take();
      }
      const double left = *until_s - simgrid::s4u::Engine::get_clock();
      if (left <= 0) return try_pop();
      if (!ready_->acquire_timeout(left)) return take();  // acquire_timeout returns true on timeout
    }
  }

  // An arrival already posted, without waiting.
  std::optional<std::size_t> try_pop() {
    if (arrived_.empty()) return std::nullopt;
    ready_->acquire();  // its token is there: this does not block
    return take();
  }

 private:
  std::size_t take() {
    const std::size_t index = arrived_.front();
    arrived_.pop_front();
    return index;
  }
  simgrid::s4u::SemaphorePtr ready_;
  std::deque<std::size_t> arrived_;
};

}  // namespace dtsim::engine::actors
