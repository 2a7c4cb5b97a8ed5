#include "kernels/cpu/thread_pool.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

using dtsim::kernels::ThreadPool;

TEST_SUITE("kernels") {
  TEST_CASE("ThreadPool: every participant runs once per call, the caller as participant 0") {
    for (int size : {1, 2, 3, 4}) {
      ThreadPool pool(size);
      std::vector<std::thread::id> who(static_cast<std::size_t>(size));
      std::vector<int> calls(static_cast<std::size_t>(size), 0);

      pool.run([&](int t) {
        who[static_cast<std::size_t>(t)] = std::this_thread::get_id();
        ++calls[static_cast<std::size_t>(t)];
      });

      INFO("pool size " << size);
      CHECK(pool.size() == size);
      CHECK(who[0] == std::this_thread::get_id());
      for (int c : calls) CHECK(c == 1);
      for (int t = 1; t < size; ++t) CHECK(who[static_cast<std::size_t>(t)] != std::this_thread::get_id());
    }
  }

  TEST_CASE("ThreadPool: for_each visits every index exactly once in contiguous shares") {
    for (int size : {1, 2, 3, 4}) {
      ThreadPool pool(size);
      for (std::int64_t n : {0, 1, 2, 3, 7, 100}) {
        std::vector<int> visits(static_cast<std::size_t>(n), 0);
        std::vector<std::thread::id> by(static_cast<std::size_t>(n));

        pool.for_each(n, [&](std::int64_t i) {
          ++visits[static_cast<std::size_t>(i)];
          by[static_cast<std::size_t>(i)] = std::this_thread::get_id();
        });

        INFO("pool size " << size << ", n " << n);
        for (int v : visits) CHECK(v == 1);
        // Contiguous: the executing thread changes at most size − 1 times along the indices.
        int changes = 0;
        for (std::size_t i = 1; i < by.size(); ++i) changes += by[i] != by[i - 1] ? 1 : 0;
        CHECK(changes <= size - 1);
      }
    }
  }

  TEST_CASE("ThreadPool: share splits [0, n) into contiguous ranges that cover it") {
    for (std::int64_t n : {0, 1, 5, 10, 11}) {
      for (int parts : {1, 2, 3, 7}) {
        std::int64_t next = 0;
        for (int t = 0; t < parts; ++t) {
          const auto [begin, end] = ThreadPool::share(n, t, parts);
          CHECK(begin == next);
          CHECK(end >= begin);
          CHECK(end - begin <= n / parts + 1);
          next = end;
        }
        CHECK(next == n);
      }
    }
  }

  TEST_CASE("ThreadPool: many back-to-back calls and calls after the workers went to sleep all complete") {
    ThreadPool pool(2);
    std::atomic<std::int64_t> sum{0};

    for (int i = 0; i < 20000; ++i) pool.run([&](int t) { sum += t + 1; });
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // longer than the spin window
      pool.run([&](int t) { sum += t + 1; });
    }

    CHECK(sum.load() == 20005 * 3);
  }

  TEST_CASE("ThreadPool: an exception in a worker reaches the caller and the pool stays usable") {
    ThreadPool pool(2);

    CHECK_THROWS_WITH_AS(pool.run([](int t) {
      if (t == 1) throw std::runtime_error("boom in worker");
    }),
                         "boom in worker", std::runtime_error);
    int runs = 0;
    pool.run([&](int t) {
      if (t == 0) ++runs;
    });

    CHECK(runs == 1);
  }

  TEST_CASE("ThreadPool: a size below 1 is rejected") { CHECK_THROWS_AS(ThreadPool(0), std::invalid_argument); }
}
