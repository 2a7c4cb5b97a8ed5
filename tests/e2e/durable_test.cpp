// Durable runs (DESIGN principle 6): a run killed at any moment keeps every round it finished, as whole
// rows; --resume continues it to the very bytes of an uninterrupted run (whatever --threads); a folder
// that holds a run is never overwritten silently; a live run's folder is refused.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "e2e_util.hpp"
#include "sim/report/csv_reader.hpp"
#include "sim/report/csv_schema.hpp"

using namespace e2e;

namespace {

const std::vector<std::string> kRun{"--set", "training.rounds=30", "--set", "training.checkpoint_every=3", "--quiet"};

std::string scenario() { return (source_dir() / "tests" / "e2e" / "fmnist_small" / "scenario.yaml").string(); }

// Starts dtsim with `args`, stderr to a file; returns its pid.

std::vector<std::string> with(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// The uninterrupted run every resumed one must equal, made once.
const fs::path& reference_run() {
  static const fs::path out = [] {
    const auto dir = scratch("durable_reference");
    const auto r = run_dtsim(with({"run", scenario(), "--out", dir.string()}, kRun));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return dir;
  }();
  return out;
}

const char* kRoundFiles[] = {"rounds.csv", "clients.csv", "platform.csv", "policy_metrics.csv"};

// Every cell of every output file of `dir` against its column's declared type, as a reader with
// pandas-like rules would parse it.
void check_column_types(const fs::path& dir) {
  using dtsim::report::ColumnType;
  for (const auto* table : dtsim::report::all_tables()) {
    CAPTURE(table->file);
    const auto t = dtsim::report::read_csv((dir / table->file).string());
    std::vector<std::string> names;
    for (const auto& c : table->columns) names.emplace_back(c.name);
    REQUIRE(t.header == names);
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
      for (std::size_t i = 0; i < table->columns.size(); ++i) {
        const auto& column = table->columns[i];
        const std::string& cell = t.rows[r][i];
        CAPTURE(column.name);
        CAPTURE(cell);
        if (cell.empty()) {
          CHECK(column.may_be_empty);
          continue;
        }
        switch (column.type) {
          case ColumnType::integer:
            CHECK(cell.find_first_not_of("-0123456789") == std::string::npos);
            break;
          case ColumnType::real: {
            std::size_t used = 0;
            const double v = std::stod(cell, &used);
            CHECK(used == cell.size());
            CHECK(std::isfinite(v));
            break;
          }
          case ColumnType::flag:
            CHECK((cell == "0" || cell == "1"));
            break;
          case ColumnType::text:
            break;
        }
      }
    }
  }
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("durable: SIGKILL at random moments keeps whole rows of the finished rounds; --resume gives the same bytes") {
    const auto& reference = reference_run();
    const auto reference_runs = read_csv(reference / "runs.csv");
    REQUIRE(reference_runs.size() == 1);
    // How long a run takes here, to spread the kills over it.
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(run_dtsim(with({"run", scenario(), "--out", scratch("durable_timing").string()}, kRun)).exit_code == 0);
    const double duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (unsigned seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u}) {
      CAPTURE(seed);
      std::mt19937 rng(seed);
      const double kill_after_s = std::uniform_real_distribution<double>(0.02, 1.1 * duration_s)(rng);
      CAPTURE(kill_after_s);
      const auto dir = scratch("durable_kill_" + std::to_string(seed));
      const auto out = dir / "out";
      const pid_t pid = spawn(with({"run", scenario(), "--out", out.string()}, kRun), dir / "err1");
      std::this_thread::sleep_for(std::chrono::duration<double>(kill_after_s));
      kill(pid, SIGKILL);
      int status = 0;
      REQUIRE(waitpid(pid, &status, 0) == pid);

      // Whatever was written is whole rows, rounds 1..k in order, each with its 5 clients.
      if (fs::exists(out / "rounds.csv")) {
        const auto rounds = read_csv(out / "rounds.csv");
        for (std::size_t i = 0; i < rounds.size(); ++i) CHECK(rounds[i].at("round") == std::to_string(i + 1));
        const auto clients = read_csv(out / "clients.csv");
        CHECK(clients.size() >= rounds.size() * 5);
        const auto text = slurp(out / "rounds.csv");
        const auto whole = text.substr(0, text.rfind('\n') + 1);
        CHECK(slurp(reference / "rounds.csv").compare(0, whole.size(), whole) == 0);  // the uninterrupted file's start
      }
      if (fs::exists(out / "runs.csv")) {
        const auto runs = read_csv(out / "runs.csv");
        REQUIRE(runs.size() == 1);
        CHECK((runs[0].at("status") == "running" || runs[0].at("status") == "ok"));
      }

      // Resume (with another thread count than the first segment's default) to the same bytes.
      const auto resumed =
          run_dtsim(with({"run", scenario(), "--out", out.string(), "--resume", "--threads", "1"}, kRun));
      INFO(resumed.err);
      REQUIRE(resumed.exit_code == 0);
      for (const char* f : kRoundFiles) {
        CAPTURE(f);
        CHECK(slurp(out / f) == slurp(reference / f));
      }
      const auto runs = read_csv(out / "runs.csv");
      REQUIRE(runs.size() == 1);
      for (const char* column : {"status", "rounds_completed", "final_sim_time_s", "final_test_accuracy",
                                 "final_test_round", "message"})
        CHECK(runs[0].at(column) == reference_runs[0].at(column));
    }
  }

  TEST_CASE("durable: a folder holding a run is refused; --force replaces only dtsim's files; --resume of a finished run does nothing") {
    const auto dir = scratch("durable_overwrite");
    const auto out = dir / "out";
    const std::vector<std::string> small{"--set", "training.rounds=2", "--quiet"};
    REQUIRE(run_dtsim(with({"run", scenario(), "--out", out.string()}, small)).exit_code == 0);
    const auto first = slurp(out / "rounds.csv");

    const auto again = run_dtsim(with({"run", scenario(), "--out", out.string()}, small));
    CHECK(again.exit_code == 2);
    CHECK(again.err.find("holds an earlier run") != std::string::npos);
    CHECK(again.err.find("--force") != std::string::npos);
    CHECK(slurp(out / "rounds.csv") == first);

    const auto finished = run_dtsim(with({"run", scenario(), "--out", out.string(), "--resume"}, small));
    CHECK(finished.exit_code == 0);
    CHECK(slurp(out / "rounds.csv") == first);

    const auto other = run_dtsim(with({"run", scenario(), "--out", out.string(), "--resume"},
                                      {"--set", "training.rounds=3", "--quiet"}));
    CHECK(other.exit_code == 2);
    CHECK(other.err.find("differs from the run in") != std::string::npos);
    CHECK(other.err.find("training.rounds") != std::string::npos);

    std::ofstream(out / "notes.txt") << "mine\n";
    const auto forced_foreign = run_dtsim(with({"run", scenario(), "--out", out.string(), "--force"}, small));
    CHECK(forced_foreign.exit_code == 2);
    CHECK(forced_foreign.err.find("notes.txt") != std::string::npos);
    fs::remove(out / "notes.txt");

    const auto forced = run_dtsim(with({"run", scenario(), "--out", out.string(), "--force"},
                                       {"--set", "training.rounds=3", "--quiet"}));
    CHECK(forced.exit_code == 0);
    CHECK(read_csv(out / "rounds.csv").size() == 3);

    CHECK(run_dtsim({"run", scenario(), "--out", out.string(), "--force", "--resume"}).exit_code == 2);
  }

  TEST_CASE("durable: the folder of a live run is refused, in every mode") {
    const auto dir = scratch("durable_live");
    const auto out = dir / "out";
    fs::create_directories(out);
    const int fd = ::open((out / ".lock").c_str(), O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX) == 0);  // as a running dtsim holds it
    for (const char* mode : {"", "--force", "--resume"}) {
      CAPTURE(mode);
      std::vector<std::string> args{"run", scenario(), "--out", out.string(), "--quiet", "--set", "training.rounds=1"};
      if (*mode) args.push_back(mode);
      const auto r = run_dtsim(args);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("a live dtsim run is using") != std::string::npos);
    }
    ::close(fd);
  }

  TEST_CASE("durable: --out that cannot be a folder is refused before anything is loaded") {
    const auto dir = scratch("durable_bad_out");
    std::ofstream(dir / "file") << "x";
    for (const auto& out : {(dir / "file").string(), (dir / "file" / "below").string(), std::string("/dev/null"),
                            std::string("/proc/dtsim_cannot_create")}) {
      CAPTURE(out);
      const auto r = run_dtsim({"run", scenario(), "--out", out, "--quiet", "--set", "training.rounds=1"});
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("--out") != std::string::npos);
    }
  }

  TEST_CASE("durable: every output column has its declared type: integers as integers, reals finite, flags 0/1") {
    const auto& reference = reference_run();
    check_column_types(reference);
    // and a run whose flops exceed 1e16, where a double's shortest text would be an exponent
    const auto big = scratch("durable_big_flops");
    const auto r = run_dtsim({"run", scenario(), "--out", big.string(), "--quiet", "--no-train", "--set",
                              "training.rounds=1", "--set", "workload.local.epochs=20000", "--set",
                              "workload.model.hidden=[4096, 4096]"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    check_column_types(big);
  }
}
