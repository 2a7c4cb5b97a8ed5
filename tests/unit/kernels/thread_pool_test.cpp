#include "kernels/cpu/thread_pool.hpp"

#include <doctest/doctest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kernels/backend.hpp"

using dtsim::kernels::available_cpus;
using dtsim::kernels::cgroup_cpu_limit;
using dtsim::kernels::ThreadPool;

namespace {

namespace fs = std::filesystem;

// A fresh folder under the system temp folder, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("dtsim_pool_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  static int& counter() {
    static int n = 0;
    return n;
  }
  void write(const std::string& rel, const std::string& text) const {
    const fs::path p = path / fs::path(rel).relative_path();
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string root() const { return path.string(); }
};

// Runs fn on a new thread whose affinity is `cpus` (sched_setaffinity is per thread on Linux) and
// returns what it returned. Returns -1 when the affinity cannot be set.
template <class F>
int with_affinity(const std::vector<int>& cpus, F fn) {
  int result = -1;
  std::thread t([&] {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : cpus) CPU_SET(c, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) return;
    result = fn();
  });
  t.join();
  return result;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

const char* kV2Mountinfo =
    "24 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
    "25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n";

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("ThreadPool: for_each processes every item exactly once, on lanes in [0, size)") {
    for (int size : {1, 2, 3, 4}) {
      ThreadPool pool(size);
      for (std::int64_t n : {0, 1, 2, 3, 7, 100, 5000}) {
        for (int repeat = 0; repeat < 3; ++repeat) {
          std::vector<std::atomic<int>> visits(static_cast<std::size_t>(n));
          std::atomic<int> bad_lane{0};

          pool.for_each_lane(n, [&](std::int64_t i, int lane) {
            visits[static_cast<std::size_t>(i)].fetch_add(1);
            if (lane < 0 || lane >= size) bad_lane.fetch_add(1);
          });

          INFO("pool size " << size << ", n " << n);
          for (const auto& v : visits) CHECK(v.load() == 1);
          CHECK(bad_lane.load() == 0);
        }
      }
    }
  }

  TEST_CASE("ThreadPool: two items running at the same time never share a lane") {
    ThreadPool pool(3);
    std::vector<std::atomic<int>> busy(3);
    std::atomic<int> clashes{0};

    pool.for_each_lane(60, [&](std::int64_t, int lane) {
      if (busy[static_cast<std::size_t>(lane)].fetch_add(1) != 0) clashes.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(300));
      busy[static_cast<std::size_t>(lane)].fetch_sub(1);
    });

    CHECK(clashes.load() == 0);
  }

  TEST_CASE("ThreadPool: a pool of 1, and a single item, run inline on the caller in order") {
    ThreadPool one(1);
    ThreadPool four(4);
    std::vector<std::int64_t> order;
    std::vector<std::thread::id> who;

    one.for_each_lane(5, [&](std::int64_t i, int lane) {
      order.push_back(i);
      who.push_back(std::this_thread::get_id());
      CHECK(lane == 0);
    });
    four.for_each_lane(1, [&](std::int64_t i, int lane) {
      order.push_back(i);
      who.push_back(std::this_thread::get_id());
      CHECK(lane == 0);
    });

    CHECK(order == std::vector<std::int64_t>{0, 1, 2, 3, 4, 0});
    for (const auto& id : who) CHECK(id == std::this_thread::get_id());
  }

  TEST_CASE("ThreadPool: the items of a slow participant are taken by the others") {
    // Item 0 sleeps 300 ms in whichever participant claims it; the 39 others take 5 ms each. With static
    // equal shares its participant would still owe 19 of them afterwards; claimed dynamically, the other
    // participants finish all 39 (about 200 ms of sleeping) while it sleeps.
    for (int size : {2, 3}) {
      ThreadPool pool(size);
      std::vector<std::atomic<int>> per_lane(static_cast<std::size_t>(size));
      std::atomic<int> slow_lane{-1};
      const auto start = std::chrono::steady_clock::now();

      pool.for_each_lane(40, [&](std::int64_t i, int lane) {
        per_lane[static_cast<std::size_t>(lane)].fetch_add(1);
        if (i == 0) {
          slow_lane.store(lane);
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      });
      const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

      INFO("pool size " << size << ", slow lane " << slow_lane.load() << ", " << elapsed_s << " s");
      REQUIRE(slow_lane.load() >= 0);
      CHECK(per_lane[static_cast<std::size_t>(slow_lane.load())].load() == 1);
      int total = 0;
      for (const auto& c : per_lane) total += c.load();
      CHECK(total == 40);
      CHECK(elapsed_s < 5.0);  // completes (generous: the work itself is 0.3 s)
    }
  }

  TEST_CASE("ThreadPool: many back-to-back calls and calls after the workers went to sleep all complete") {
    ThreadPool pool(2);
    std::atomic<std::int64_t> sum{0};

    for (int i = 0; i < 20000; ++i) pool.for_each(3, [&](std::int64_t k) { sum += k + 1; });
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // longer than the spin window
      pool.for_each(3, [&](std::int64_t k) { sum += k + 1; });
    }

    CHECK(sum.load() == 20005 * 6);
  }

  TEST_CASE("ThreadPool: an exception from any item reaches the caller and the pool stays usable") {
    ThreadPool pool(2);

    CHECK_THROWS_WITH_AS(pool.for_each(50,
                                       [](std::int64_t i) {
                                         if (i == 7) throw std::runtime_error("boom at 7");
                                       }),
                         "boom at 7", std::runtime_error);
    // Item 0 holds its participant (normally the caller) while the others throw, from the worker if it
    // joined, else from the caller afterwards: either way the caller gets one of them.
    CHECK_THROWS_WITH_AS(pool.for_each(20,
                                       [](std::int64_t i) {
                                         if (i == 0) {
                                           std::this_thread::sleep_for(std::chrono::milliseconds(30));
                                           return;
                                         }
                                         throw std::runtime_error("boom");
                                       }),
                         "boom", std::runtime_error);
    std::atomic<int> runs{0};
    pool.for_each(100, [&](std::int64_t) { runs.fetch_add(1); });

    CHECK(runs.load() == 100);
  }

  TEST_CASE("ThreadPool: a call from inside an item runs inline on that item's thread") {
    ThreadPool pool(3);
    std::atomic<int> off_thread{0}, not_inside{0}, inner_items{0};

    CHECK_FALSE(ThreadPool::inside_item());
    pool.for_each(12, [&](std::int64_t) {
      if (!ThreadPool::inside_item()) not_inside.fetch_add(1);
      const auto me = std::this_thread::get_id();
      pool.for_each_lane(5, [&](std::int64_t, int lane) {
        inner_items.fetch_add(1);
        if (std::this_thread::get_id() != me || lane != 0) off_thread.fetch_add(1);
      });
    });

    CHECK_FALSE(ThreadPool::inside_item());
    CHECK(not_inside.load() == 0);
    CHECK(off_thread.load() == 0);
    CHECK(inner_items.load() == 60);
  }

  TEST_CASE("ThreadPool: a size below 1 is rejected") { CHECK_THROWS_AS(ThreadPool(0), std::invalid_argument); }

  TEST_CASE("available_cpus: follows a restricted affinity mask, and the CPU backend's default with it") {
    const auto cpus = allowed_cpus();
    REQUIRE(!cpus.empty());
    const int quota = cgroup_cpu_limit(read_text("/proc/self/mountinfo"), read_text("/proc/self/cgroup"));
    auto capped = [&](int n) { return quota > 0 ? std::min(n, quota) : n; };

    const int one = with_affinity({cpus[0]}, [] { return available_cpus(); });
    const int backend_one = with_affinity(
        {cpus[0]}, [] { return dtsim::kernels::make_backend(dtsim::kernels::BackendKind::cpu, 0)->threads(); });

    INFO("allowed CPUs " << cpus.size() << ", cgroup quota " << quota);
    CHECK(one == 1);
    CHECK(backend_one == 1);
    CHECK(available_cpus() == capped(static_cast<int>(cpus.size())));
    if (cpus.size() >= 2) {
      const int two = with_affinity({cpus[0], cpus[1]}, [] { return available_cpus(); });
      CHECK(two == capped(2));
    }
  }

  TEST_CASE("cgroup_cpu_limit: v2 cpu.max gives ceil(quota / period), the smallest along the ancestors") {
    TempDir d;
    d.write("/sys/fs/cgroup/user.slice/cpu.max", "max 100000\n");
    d.write("/sys/fs/cgroup/user.slice/job_1/cpu.max", "150000 100000\n");
    // step_0 has no cpu.max of its own: the parent's quota applies.

    CHECK(cgroup_cpu_limit(kV2Mountinfo, "0::/user.slice/job_1/step_0\n", d.root()) == 2);

    d.write("/sys/fs/cgroup/user.slice/cpu.max", "50000 100000\n");  // half a CPU above: 1
    CHECK(cgroup_cpu_limit(kV2Mountinfo, "0::/user.slice/job_1/step_0\n", d.root()) == 1);

    d.write("/sys/fs/cgroup/user.slice/cpu.max", "max 100000\n");
    d.write("/sys/fs/cgroup/user.slice/job_1/cpu.max", "max 100000\n");
    CHECK(cgroup_cpu_limit(kV2Mountinfo, "0::/user.slice/job_1/step_0\n", d.root()) == 0);

    d.write("/sys/fs/cgroup/user.slice/job_1/cpu.max", "garbage\n");
    CHECK(cgroup_cpu_limit(kV2Mountinfo, "0::/user.slice/job_1/step_0\n", d.root()) == 0);

    // Inside a cgroup namespace the process sits at "/": the mount point's own cpu.max.
    d.write("/sys/fs/cgroup/cpu.max", "400000 100000\n");
    CHECK(cgroup_cpu_limit(kV2Mountinfo, "0::/\n", d.root()) == 4);
  }

  TEST_CASE("cgroup_cpu_limit: v1 cfs quota and period, a container's mount root, and hybrid hierarchies") {
    TempDir d;
    const std::string v1_mountinfo =
        "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
        "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
        "32 25 0:28 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n";
    const std::string cgroup = "5:memory:/slurm/uid_1/job_2\n4:cpu,cpuacct:/slurm/uid_1/job_2\n0::/\n";
    d.write("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    d.write("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    d.write("/sys/fs/cgroup/cpu,cpuacct/slurm/uid_1/job_2/cpu.cfs_quota_us", "250000\n");
    d.write("/sys/fs/cgroup/cpu,cpuacct/slurm/uid_1/job_2/cpu.cfs_period_us", "100000\n");
    d.write("/sys/fs/cgroup/memory/slurm/uid_1/job_2/cpu.cfs_quota_us", "100000\n");  // not the cpu hierarchy
    d.write("/sys/fs/cgroup/memory/slurm/uid_1/job_2/cpu.cfs_period_us", "100000\n");

    CHECK(cgroup_cpu_limit(v1_mountinfo, cgroup, d.root()) == 3);

    // A container without a cgroup namespace: /proc/self/cgroup names /docker/abc, which the mount's root is.
    const std::string container_mountinfo =
        "40 35 0:26 /docker/abc /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct\n";
    d.write("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "100000\n");
    d.write("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
    CHECK(cgroup_cpu_limit(container_mountinfo, "3:cpu,cpuacct:/docker/abc\n", d.root()) == 1);
    CHECK(cgroup_cpu_limit(container_mountinfo, "3:cpu,cpuacct:/elsewhere\n", d.root()) == 0);

    CHECK(cgroup_cpu_limit("not a mountinfo line\n", cgroup, d.root()) == 0);
  }
}
