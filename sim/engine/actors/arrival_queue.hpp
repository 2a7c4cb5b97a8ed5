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

  // Starts a round of `total` tasks: none resolved yet; wait() returns once `count` have arrived
  // (1 <= count <= total), or every task is resolved — arrived, failed (a crash, going offline) or
  // stopped by the collector — or one died with an error.
  void arm(std::size_t count, std::size_t total) {
    arrived_.clear();
    wake_at_ = count;
    total_ = total;
    resolved_ = 0;
    error_ = woken_ = false;
    while (!ready_->would_block()) ready_->acquire();  // a wake-up left from the last round's deadline
  }

  // From a task's actor: task `index` has arrived (its outcome is final).
  void push(std::size_t index) {
    arrived_.push_back(index);
    ++resolved_;
    check();
  }
  // From a task's actor: it failed (crashed, went offline; its outcome is final) — or, with `error`, died
  // of an exception (Task::failure()).
  void push_failure(bool error = false) {
    ++resolved_;
    error_ = error_ || error;
    check();
  }
  // From the collector: it stopped `count` tasks that will post nothing.
  void note_stopped(std::size_t count) {
    resolved_ += count;
    check();
  }

  // Waits until the armed condition holds (true), or until simulated time `until_s` (false; no limit when
  // nullopt). The wait is resumed until the clock reads at least until_s, so a timeout never fires an
  // ulp early.
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
  // Re-arms the wake-up after a wait that returned (the condition may be met again with a new count).
  void rearm(std::size_t count) {
    wake_at_ = count;
    woken_ = false;
    while (!ready_->would_block()) ready_->acquire();
    check();
  }

  // Every arrival posted so far, in the order posted (simulated-time order).
  const std::vector<std::size_t>& arrived() const { return arrived_; }
  bool error() const { return error_; }

 private:
  void check() {
    if (woken_) return;
    if (arrived_.size() >= wake_at_ || resolved_ >= total_ || error_) {
      woken_ = true;
      ready_->release();
    }
  }
  simgrid::s4u::SemaphorePtr ready_;
  std::vector<std::size_t> arrived_;
  std::size_t wake_at_ = 0, total_ = 0, resolved_ = 0;
  bool error_ = false, woken_ = false;
};

}  // namespace dtsim::engine::actors
