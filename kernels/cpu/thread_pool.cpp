#include "kernels/cpu/thread_pool.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace dtsim::kernels {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// How long an idle worker spins for the next job before it blocks. Within a training step jobs
// follow each other within microseconds, so they are caught while spinning; between rounds the
// workers sleep.
constexpr auto kSpinFor = std::chrono::microseconds(200);

}  // namespace

ThreadPool::ThreadPool(int threads) : size_(threads) {
  if (threads < 1) throw std::invalid_argument("ThreadPool: threads must be >= 1, got " + std::to_string(threads));
  workers_.reserve(static_cast<std::size_t>(threads - 1));
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker_main(t); });
}

ThreadPool::~ThreadPool() {
  if (workers_.empty()) return;
  stop_ = true;
  {
    std::lock_guard lock(mutex_);
    epoch_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_guarded(int t) {
  try {
    job_(ctx_, t);
  } catch (...) {
    std::lock_guard lock(error_mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::run_raw(Job job, void* ctx) {
  if (workers_.empty()) {
    job(ctx, 0);
    return;
  }
  job_ = job;
  ctx_ = ctx;
  remaining_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  // A worker about to sleep increments sleepers_ and then re-reads epoch_ under mutex_ (both
  // seq_cst). So either it sees the new epoch, or we see it counted and notify under the mutex.
  epoch_.fetch_add(1);
  if (sleepers_.load() > 0) {
    { std::lock_guard lock(mutex_); }
    wake_.notify_all();
  }
  run_guarded(0);
  // Participants get equal shares, so the wait is short: spin, then yield.
  for (int spins = 0; remaining_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < 1 << 16) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  if (error_) {
    std::exception_ptr e;
    std::swap(e, error_);
    std::rethrow_exception(e);
  }
}

void ThreadPool::worker_main(int t) {
  std::uint32_t seen = 0;
  for (;;) {
    std::uint32_t now = epoch_.load(std::memory_order_acquire);
    if (now == seen) {
      const auto spin_until = std::chrono::steady_clock::now() + kSpinFor;
      for (int spins = 1; now == seen; ++spins) {
        cpu_relax();
        now = epoch_.load(std::memory_order_acquire);
        if (now == seen && (spins & 63) == 0 && std::chrono::steady_clock::now() > spin_until) {
          std::unique_lock lock(mutex_);
          sleepers_.fetch_add(1);
          wake_.wait(lock, [&] { return epoch_.load() != seen; });
          sleepers_.fetch_sub(1);
          now = epoch_.load(std::memory_order_acquire);
        }
      }
    }
    seen = now;
    if (stop_) return;
    run_guarded(t);
    remaining_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace dtsim::kernels
