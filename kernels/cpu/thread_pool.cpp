#include "kernels/cpu/thread_pool.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <limits>
#include <sstream>
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

// How long an idle worker spins for the next call before it sleeps, and how long the caller spins for
// the items still running elsewhere before it sleeps. Within one operation sequence (an evaluation pass,
// an aggregation) calls follow each other within microseconds and are caught while spinning; a worker
// that is not woken that fast costs one futex wake (a few microseconds).
constexpr auto kWorkerSpin = std::chrono::microseconds(50);
constexpr auto kCallerSpin = std::chrono::microseconds(20);

// Spins while pred() holds, for at most `budget`; returns whether pred() stopped holding.
template <class Pred>
bool spin_while(Pred pred, std::chrono::microseconds budget) {
  const auto until = std::chrono::steady_clock::now() + budget;
  for (int spins = 1;; ++spins) {
    if (!pred()) return true;
    cpu_relax();
    if ((spins & 63) == 0 && std::chrono::steady_clock::now() > until) return !pred();
  }
}

constexpr std::uint32_t kOpen = 1u << 31;

thread_local bool tl_inside_item = false;

struct InsideItem {
  InsideItem() { tl_inside_item = true; }
  ~InsideItem() { tl_inside_item = false; }
  InsideItem(const InsideItem&) = delete;
  InsideItem& operator=(const InsideItem&) = delete;
};

}  // namespace

ThreadPool::ThreadPool(int threads) : size_(threads) {
  if (threads < 1) throw std::invalid_argument("ThreadPool: threads must be >= 1, got " + std::to_string(threads));
  workers_.reserve(static_cast<std::size_t>(threads - 1));
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker_main(t); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_relaxed);
  bell_.fetch_add(1, std::memory_order_release);
  bell_.notify_all();
  for (auto& w : workers_) w.join();
}

bool ThreadPool::inside_item() { return tl_inside_item; }

void ThreadPool::claim_items(int lane) {
  InsideItem inside;
  for (;;) {
    const std::int64_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= n_) return;
    try {
      job_(ctx_, i, lane);
    } catch (...) {
      std::lock_guard lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
      next_.store(n_, std::memory_order_relaxed);  // skip the items nobody claimed yet
    }
  }
}

void ThreadPool::run_items(std::int64_t n, Job job, void* ctx) {
  job_ = job;
  ctx_ = ctx;
  n_ = n;
  next_.store(0, std::memory_order_relaxed);
  state_.store(kOpen, std::memory_order_release);  // publishes the call to the workers that join it
  bell_.fetch_add(1, std::memory_order_release);
  bell_.notify_all();  // no system call unless a worker sleeps

  claim_items(0);

  // The cursor is exhausted: close the call to late workers, then wait for those that joined.
  std::uint32_t s = state_.fetch_and(~kOpen, std::memory_order_acq_rel) & ~kOpen;
  if (s != 0) {
    spin_while([&] { return state_.load(std::memory_order_acquire) != 0; }, kCallerSpin);
    while ((s = state_.load(std::memory_order_acquire)) != 0) state_.wait(s, std::memory_order_acquire);
  }
  if (error_) {
    std::exception_ptr e;
    std::swap(e, error_);
    std::rethrow_exception(e);
  }
}

void ThreadPool::worker_main(int lane) {
  // 0, the bell's value at construction, not what it reads now: a worker that starts late must still
  // see the calls, and the shutdown, rung before it started.
  std::uint32_t seen = 0;
  for (;;) {
    if (bell_.load(std::memory_order_acquire) == seen &&
        !spin_while([&] { return bell_.load(std::memory_order_acquire) == seen; }, kWorkerSpin)) {
      bell_.wait(seen, std::memory_order_acquire);
      continue;  // woken, or spuriously: look again
    }
    seen = bell_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_relaxed)) return;
    // Join the call if it is still open: a worker that comes late finds it closed and goes back to wait.
    std::uint32_t s = state_.load(std::memory_order_acquire);
    bool joined = false;
    while ((s & kOpen) != 0 && !joined) {
      joined = state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire, std::memory_order_acquire);
    }
    if (!joined) continue;
    claim_items(lane);
    // The last worker to leave a closed call wakes the caller.
    if (state_.fetch_sub(1, std::memory_order_acq_rel) == 1) state_.notify_one();
  }
}

// ------------------------------------------------------------------------------------------------
// The CPUs this process may use.

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const auto p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo (octal).
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const auto d = [&](std::size_t k) { return s[i + k] >= '0' && s[i + k] <= '7'; };
      if (d(1) && d(2) && d(3)) {
        out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

struct Mount {
  std::string root, point, fstype;
  std::vector<std::string_view> super_options;
};

std::vector<Mount> parse_mountinfo(std::string_view text) {
  std::vector<Mount> mounts;
  for (std::string_view line : split(text, '\n')) {
    std::vector<std::string_view> f;
    for (std::string_view w : split(line, ' '))
      if (!w.empty()) f.push_back(w);
    // id parent major:minor root point options [optional…] - fstype source super-options
    const auto dash = std::find(f.begin(), f.end(), std::string_view("-"));
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
    Mount m{unescape(f[3]), unescape(f[4]), std::string(dash[1]), split(dash[3], ',')};
    mounts.push_back(std::move(m));
  }
  return mounts;
}

bool contains(const std::vector<std::string_view>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// ceil(quota / period) for a positive quota and period, else 0 (no limit).
int cpus_of(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return 0;
  const long long cpus = (quota + period - 1) / period;
  return static_cast<int>(std::min<long long>(cpus, std::numeric_limits<int>::max()));
}

int cpus_v2(const std::string& dir) {
  std::istringstream in(read_file(dir + "/cpu.max"));
  std::string quota;
  long long period = 0;
  if (!(in >> quota >> period) || quota == "max") return 0;
  try {
    return cpus_of(std::stoll(quota), period);
  } catch (const std::exception&) {
    return 0;
  }
}

int cpus_v1(const std::string& dir) {
  long long quota = 0, period = 0;
  std::istringstream q(read_file(dir + "/cpu.cfs_quota_us")), p(read_file(dir + "/cpu.cfs_period_us"));
  if (!(q >> quota) || !(p >> period)) return 0;
  return cpus_of(quota, period);
}

// The smallest limit on the cgroup `path` (as /proc/self/cgroup names it) and its ancestors, under the
// mount `m`; 0 = none.
int walk_limits(const Mount& m, std::string path, const std::string& root, int (*cpus)(const std::string&)) {
  // Outside a cgroup namespace, path includes the mount's root (a container's bind mount): strip it.
  if (m.root != "/") {
    if (path.compare(0, m.root.size(), m.root) != 0) return 0;
    path = path.substr(m.root.size());
  }
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  int limit = 0;
  for (;;) {
    const int here = cpus(root + m.point + (path == "/" ? "" : path));
    if (here > 0) limit = limit == 0 ? here : std::min(limit, here);
    if (path.empty() || path == "/") return limit;
    path.erase(path.rfind('/'));
    if (path.empty()) path = "/";
  }
}

}  // namespace

int cgroup_cpu_limit(std::string_view mountinfo, std::string_view cgroup, const std::string& root) {
  const auto mounts = parse_mountinfo(mountinfo);
  int limit = 0;
  auto take = [&](int l) {
    if (l > 0) limit = limit == 0 ? l : std::min(limit, l);
  };
  for (std::string_view line : split(cgroup, '\n')) {
    // hierarchy-id:controllers:path (the path may itself contain ':')
    const auto a = line.find(':');
    if (a == std::string_view::npos) continue;
    const auto b = line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1);
    const std::string path(line.substr(b + 1));
    if (path.empty() || path[0] != '/') continue;
    if (id == "0" && controllers.empty()) {
      for (const Mount& m : mounts)
        if (m.fstype == "cgroup2") take(walk_limits(m, path, root, &cpus_v2));
    } else if (contains(split(controllers, ','), "cpu")) {
      for (const Mount& m : mounts)
        if (m.fstype == "cgroup" && contains(m.super_options, "cpu")) take(walk_limits(m, path, root, &cpus_v1));
    }
  }
  return limit;
}

int available_cpus() {
  int cpus = 0;
  for (int size = 1024; size <= (1 << 20) && cpus == 0; size *= 2) {
    cpu_set_t* set = CPU_ALLOC(static_cast<std::size_t>(size));
    if (!set) break;
    const std::size_t bytes = CPU_ALLOC_SIZE(static_cast<std::size_t>(size));
    if (sched_getaffinity(0, bytes, set) == 0) {
      cpus = CPU_COUNT_S(bytes, set);
    } else if (errno != EINVAL) {
      CPU_FREE(set);
      break;
    }
    CPU_FREE(set);
  }
  if (cpus <= 0) cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int quota = cgroup_cpu_limit(read_file("/proc/self/mountinfo"), read_file("/proc/self/cgroup"));
  if (quota > 0) cpus = std::min(cpus, quota);
  return std::max(1, cpus);
}

}  // namespace dtsim::kernels
