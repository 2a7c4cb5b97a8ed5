// A small fixed pool of worker threads with a cheap fork/join, for the CPU backend's batched
// operations (a training step calls it about ten times, so a call must cost microseconds: workers
// spin briefly for the next job, then block; a call allocates nothing).
//
// run(fn) calls fn(t) once for every participant t in [0, size()): participant 0 is the calling
// thread, 1..size()-1 are the workers. It returns when every participant has returned. A pool of
// size 1 has no worker thread and runs fn(0) inline. One caller at a time: run() is not re-entrant
// and must not be called concurrently on one pool. Exceptions thrown by fn are caught and the first
// one is rethrown to the caller after the join (callers should validate before dispatching).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace dtsim::kernels {

class ThreadPool {
 public:
  // threads >= 1 participants (the caller included). Throws std::invalid_argument when < 1.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Calls fn(t) for t in [0, size()); t = 0 on the calling thread.
  template <class F>
  void run(F&& fn) {
    using Fn = std::remove_reference_t<F>;
    run_raw(&invoke<Fn>, const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // The contiguous static share of [0, n) that participant t of `parts` gets: [begin, end).
  static std::pair<std::int64_t, std::int64_t> share(std::int64_t n, int t, int parts) {
    return {n * t / parts, n * (t + 1) / parts};
  }

  // Calls fn(i) for every i in [0, n), each i on exactly one participant, participant t taking the
  // contiguous range share(n, t, size()). Runs inline when n <= 1 or size() == 1.
  template <class F>
  void for_each(std::int64_t n, F&& fn) {
    if (n <= 0) return;
    if (n == 1 || size_ == 1) {
      for (std::int64_t i = 0; i < n; ++i) fn(i);
      return;
    }
    const int parts = n < size_ ? static_cast<int>(n) : size_;
    run([&](int t) {
      if (t >= parts) return;
      const auto [begin, end] = share(n, t, parts);
      for (std::int64_t i = begin; i < end; ++i) fn(i);
    });
  }

 private:
  using Job = void (*)(void*, int);
  template <class Fn>
  static void invoke(void* ctx, int t) {
    (*static_cast<Fn*>(ctx))(t);
  }
  void run_raw(Job job, void* ctx);
  void worker_main(int t);
  void run_guarded(int t);

  int size_ = 1;
  std::vector<std::thread> workers_;

  Job job_ = nullptr;
  void* ctx_ = nullptr;
  // Bumped once per run(); workers wait for it to change. seq_cst with sleepers_ (see run_raw).
  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<int> remaining_{0};  // workers still running the current job
  bool stop_ = false;              // written before an epoch bump, read after it
  std::mutex mutex_;
  std::condition_variable wake_;

  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace dtsim::kernels
