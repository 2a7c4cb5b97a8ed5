// A small fixed pool of worker threads for the CPU backend, with work handed out dynamically.
//
// for_each(n, fn) calls fn(i) once for every item i in [0, n). Items are claimed one at a time from a
// shared atomic cursor by every participant that joins the call: the caller always, and each worker
// that wakes while items are left. So a running thread takes the share of one the OS has descheduled,
// and the call returns once every *claimed* item has returned: a worker that wakes after the last item
// was claimed does not join, and never delays the caller (a CPU-bound neighbour process, or a cgroup
// quota below the thread count, only slows the call down in proportion).
//
// No thread spins for long. A worker spins about 50 µs for the next call (back-to-back calls of one
// operation sequence follow each other within microseconds), then sleeps on a futex (std::atomic::wait).
// The caller, once the cursor is exhausted, spins about 20 µs for the items still running elsewhere,
// then sleeps the same way until the last of them returns.
//
// Lanes: participant t runs its items as lane t in [0, size()): lane 0 is the caller, lane t > 0 worker
// t. Two items running at the same time never share a lane, so a caller may keep one workspace per lane
// (for_each_lane). Which lane runs which item, and in which order, varies from call to call: results
// must not depend on it.
//
// Nesting: a call made from inside an item (of any pool) runs inline on that thread, in item order, as
// lane 0; so an item may use code that calls the pool without oversubscribing the machine. A call with
// n == 1, or on a pool of size 1, also runs inline on the caller (no fork/join), and calls made from
// that item may fork.
//
// Exceptions: the first exception an item throws is rethrown to the caller once every claimed item has
// returned; items not claimed by then are skipped. One caller at a time: for_each must not be called
// concurrently on one pool (it may be called from different threads one after the other).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace dtsim::kernels {

class ThreadPool {
 public:
  // threads >= 1 participants (the caller included): threads − 1 worker threads are started. Throws
  // std::invalid_argument when threads < 1.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Calls fn(i) for every i in [0, n), each exactly once (see the file comment).
  template <class F>
  void for_each(std::int64_t n, F&& fn) {
    for_each_lane(n, [&fn](std::int64_t i, int) { fn(i); });
  }

  // Calls fn(i, lane) for every i in [0, n), each exactly once, lane in [0, size()).
  template <class F>
  void for_each_lane(std::int64_t n, F&& fn) {
    if (n <= 0) return;
    if (n == 1 || size_ == 1 || inside_item()) {
      for (std::int64_t i = 0; i < n; ++i) fn(i, 0);
      return;
    }
    using Fn = std::remove_reference_t<F>;
    run_items(n, &invoke<Fn>, const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // Whether the calling thread is running an item of some pool's for_each (nested calls run inline).
  static bool inside_item();

 private:
  using Job = void (*)(void*, std::int64_t, int);
  template <class Fn>
  static void invoke(void* ctx, std::int64_t i, int lane) {
    (*static_cast<Fn*>(ctx))(i, lane);
  }
  void run_items(std::int64_t n, Job job, void* ctx);
  void claim_items(int lane);
  void worker_main(int lane);

  int size_ = 1;
  std::vector<std::thread> workers_;

  // The current call; written by the caller before it opens the call, read only by joined participants.
  Job job_ = nullptr;
  void* ctx_ = nullptr;
  std::int64_t n_ = 0;
  alignas(64) std::atomic<std::int64_t> next_{0};  // the cursor: the next unclaimed item
  // kOpen while workers may join, plus the number of workers that joined and have not left. A worker
  // joins by a compare-exchange that needs kOpen; the caller clears kOpen once the cursor is exhausted
  // and then waits (futex) for the count to reach 0. Only the caller waits on it.
  alignas(64) std::atomic<std::uint32_t> state_{0};
  // Bumped once per call (and at shutdown); idle workers wait on it.
  alignas(64) std::atomic<std::uint32_t> bell_{0};
  std::atomic<bool> stop_{false};

  std::mutex error_mutex_;
  std::exception_ptr error_;
};

// The CPUs this process may use: the calling thread's affinity mask (sched_getaffinity), capped by the
// CPU bandwidth quota of its cgroup and every ancestor up to the mount point: cgroup v2 `cpu.max`, or
// cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, each giving ceil(quota / period) CPUs. At least 1.
// This is the CPU backend's default thread count.
int available_cpus();

// The cgroup CPU cap of available_cpus() as read from the text of /proc/self/mountinfo and
// /proc/self/cgroup, with `root` prefixed to every mount point (tests build a fake tree); 0 = no quota.
// Unreadable or malformed files count as no quota.
int cgroup_cpu_limit(std::string_view mountinfo, std::string_view cgroup, const std::string& root = "");

}  // namespace dtsim::kernels
