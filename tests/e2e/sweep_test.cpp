// Sweeps (dtsim sweep, dtsim collect; sim/sweep/*.hpp): a sweep killed at any moment and resumed, or run
// point by point elsewhere and collected, writes the same runs.csv as an uninterrupted one (wall-clock
// columns aside); its points die with it and never run twice at once; a folder in use is refused; a bad
// grid is refused before anything is written.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "e2e_util.hpp"

using namespace e2e;

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string quickstart() { return (source_dir() / "scenarios" / "quickstart.yaml").string(); }

// A quickstart small enough for a few seconds per sweep: 20 clients, 5 a round, 4000 training samples.
const std::vector<std::string> kSmall{"platform.clients.count=20",      "training.clients_per_round=5",
                                      "training.eval_every=1",          "training.checkpoint_every=1",
                                      "workload.dataset.max_train=4000", "workload.dataset.max_test=1000"};
const std::string kRules = "policies.aggregation=[{name: fedavg},{name: fedprox, mu: 0.01}]";

// `dtsim sweep quickstart --out OUT --quiet AXES... --set (kSmall, training.rounds=ROUNDS unless 0) EXTRA...`
std::vector<std::string> sweep_args(const fs::path& out, const std::vector<std::string>& axes, int rounds,
                                    const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"sweep", quickstart(), "--out", out.string(), "--quiet"};
  args.insert(args.end(), axes.begin(), axes.end());
  auto sets = kSmall;
  if (rounds > 0) sets.push_back("training.rounds=" + std::to_string(rounds));
  args = with_sets(args, sets);
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

template <class Done>
bool wait_for(Done done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Whether nobody holds DIR/.lock (a shared, non-blocking flock succeeds; no file: nobody).
bool lock_free(const fs::path& dir) {
  const int fd = ::open((dir / ".lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  const bool free = ::flock(fd, LOCK_SH | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

// The processes whose working folder is `dir` (a sweep's children run in the sweep's folder).
std::vector<pid_t> processes_in(const fs::path& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  const auto target = fs::weakly_canonical(dir, ec);
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link;
    if (fs::read_symlink(e.path() / "cwd", link) == target && !link) out.push_back(std::stoi(name));
  }
  return out;
}

// The point folders of a sweep, in point order, from its runs.csv (scenario is <folder>/run.yaml).
std::vector<std::string> folders_of(const Table& runs) {
  std::vector<std::string> out;
  for (const auto& row : runs) out.push_back(fs::path(row.at("scenario")).parent_path().string());
  return out;
}

std::string first_line(const fs::path& p) {
  const auto text = slurp(p);
  return text.substr(0, text.find('\n'));
}

// Two sweeps' runs.csv, cell by cell, apart from wall_time_s (the only wall-clock column).
void check_same_runs(const fs::path& expected, const fs::path& actual) {
  CHECK(first_line(actual) == first_line(expected));
  const auto a = read_csv(expected), b = read_csv(actual);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    for (const auto& [column, cell] : a[i]) {
      if (column == "wall_time_s") continue;
      CAPTURE(column);
      CHECK(b[i].at(column) == cell);
    }
  }
}

const char* kPointFiles[] = {"rounds.csv", "clients.csv", "platform.csv", "policy_metrics.csv"};

// Every file of a folder tree, by relative path (to tell that a refused command wrote nothing).
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    files[fs::relative(e.path(), dir).string()] = e.is_regular_file() ? slurp(e.path()) : std::string("<folder>");
  return files;
}

// A point ran once at a time: no run of it was refused for a live one, and its rounds are 1..n, each once.
void check_ran_alone(const fs::path& point) {
  CAPTURE(point);
  const auto log = slurp(point / "log");
  CHECK(log.find("is using") == std::string::npos);
  CHECK(log.find("lock is held") == std::string::npos);
  const auto rounds = read_csv(point / "rounds.csv");
  for (std::size_t i = 0; i < rounds.size(); ++i) CHECK(rounds[i].at("round") == std::to_string(i + 1));
}

// Every point of the sweep in `out` ended ok with `rounds` rounds, none run twice at once.
void check_all_ok(const fs::path& out, std::size_t points, int rounds) {
  const auto runs = read_csv(out / "runs.csv");
  REQUIRE(runs.size() == points);
  for (const auto& row : runs) {
    CAPTURE(row.at("run_id"));
    CHECK(row.at("status") == "ok");
    CHECK(row.at("rounds_completed") == std::to_string(rounds));
  }
  for (const auto& f : folders_of(runs)) {
    check_ran_alone(out / f);
    CHECK(read_csv(out / f / "rounds.csv").size() == static_cast<std::size_t>(rounds));
  }
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("sweep: a 6-point sweep killed with SIGKILL at a random moment and resumed writes the same runs.csv as an uninterrupted one") {
    const auto spec = [](const fs::path& out, std::vector<std::string> extra = {}) {
      extra.insert(extra.begin(), {"-j", "2"});
      return sweep_args(out, {"--grid", kRules, "--seeds", "1-3"}, 6, extra);
    };
    const auto a = scratch("sweep_kill_reference") / "out";
    const auto t0 = Clock::now();
    const auto reference = run_dtsim(spec(a));
    const double duration_s = std::chrono::duration<double>(Clock::now() - t0).count();
    INFO(reference.err);
    REQUIRE(reference.exit_code == 0);
    const auto ref = read_csv(a / "runs.csv");
    REQUIRE(ref.size() == 6);
    const auto header = first_line(a / "runs.csv");
    CHECK(header.ends_with(",final_test_round,param.policies.aggregation"));
    for (std::size_t i = 0; i < ref.size(); ++i) {
      CAPTURE(i);
      CHECK(ref[i].at("run_id") == "quickstart#000" + std::to_string(i));
      CHECK(ref[i].at("status") == "ok");
      CHECK(ref[i].at("rounds_completed") == "6");
      CHECK(ref[i].at("seed") == std::to_string(i % 3 + 1));  // the seeds fastest
      CHECK(ref[i].at("param.policies.aggregation") == (i < 3 ? "{name: fedavg}" : "{name: fedprox, mu: 0.01}"));
    }
    const auto folders = folders_of(ref);
    CHECK(folders.front() == "0000-fedavg-s1");
    CHECK(folders.back() == "0005-fedprox_0.01-s3");

    // The killed sweep's children are reparented to this process, which can then tell how they ended.
    struct Subreaper {
      Subreaper() { REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0); }
      ~Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
    } const subreaper;
    const std::vector<unsigned> seeds{1, 2, 3};
    int left_work = 0;  // kills that left a point to resume (else the case proved nothing)
    for (std::size_t k = 0; k < seeds.size(); ++k) {
      const unsigned seed = seeds[k];
      CAPTURE(seed);
      std::mt19937 rng(seed);
      // One kill in each k-th part of the uninterrupted sweep's wall time.
      const double kill_after_s =
          duration_s * (static_cast<double>(k) + std::uniform_real_distribution<double>(0.05, 0.95)(rng)) /
          static_cast<double>(seeds.size());
      CAPTURE(kill_after_s);
      const auto dir = scratch("sweep_kill_" + std::to_string(seed));
      const auto b = dir / "out";
      const pid_t pid = spawn(spec(b), dir / "err1");
      std::this_thread::sleep_for(std::chrono::duration<double>(kill_after_s));
      REQUIRE(::kill(pid, SIGKILL) == 0);
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);

      // Its points die with it (PR_SET_PDEATHSIG: SIGKILL), at once: none finishes or lives on.
      std::vector<int> orphans;
      const bool reaped = wait_for(
          [&] {
            int s = 0;
            const pid_t p = ::waitpid(-1, &s, WNOHANG);
            if (p > 0) orphans.push_back(s);
            return p < 0 && errno == ECHILD;
          },
          3000ms);
      if (!reaped)
        for (const pid_t p : processes_in(b)) ::kill(p, SIGKILL);
      REQUIRE_MESSAGE(reaped, "a point of the killed sweep is still running");
      for (const int s : orphans) {
        CAPTURE(s);  // killed, or (between fork and prctl) refused to start: never ended by itself
        CHECK(((WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL) || (WIFEXITED(s) && WEXITSTATUS(s) == 127)));
      }
      CHECK(wait_for([&] { return processes_in(b).empty(); }, 1000ms));
      CHECK(lock_free(b));
      for (const auto& f : folders) {
        CAPTURE(f);
        CHECK(wait_for([&] { return lock_free(b / f); }, 1000ms));
        // What a killed point wrote is the start of the uninterrupted point's rounds.
        if (fs::exists(b / f / "rounds.csv")) {
          const auto text = slurp(b / f / "rounds.csv");
          const auto whole = text.substr(0, text.rfind('\n') + 1);
          CHECK(slurp(a / f / "rounds.csv").compare(0, whole.size(), whole) == 0);
        }
      }
      // The points' own folders tell what happened to each: nothing still reads `running`.
      bool all_done = false;
      if (fs::exists(b / "sweep.yaml")) {
        const auto c = run_dtsim({"collect", b.string()});
        INFO(c.err);
        CHECK((c.exit_code == 0 || c.exit_code == 1));
        const auto rows = read_csv(b / "runs.csv");
        CHECK(rows.size() == 6);
        all_done = c.exit_code == 0;
        for (const auto& row : rows) {
          CAPTURE(row.at("run_id"));
          const auto& st = row.at("status");
          CHECK((st == "ok" || st == "interrupted" || st == "failed" || st == "pending"));
          if (st == "interrupted") {  // killed: its row tells what its rounds.csv holds
            const auto folder = b / row.at("scenario").substr(0, row.at("scenario").find('/'));
            CHECK(row.at("rounds_completed") == std::to_string(read_csv(folder / "rounds.csv").size()));
          }
        }
      }
      if (!all_done) ++left_work;

      const auto resumed = run_dtsim(spec(b, {"--resume"}));
      INFO(resumed.err);
      REQUIRE(resumed.exit_code == 0);
      check_same_runs(a / "runs.csv", b / "runs.csv");
      for (const auto& f : folders) {
        CAPTURE(f);
        for (const char* file : kPointFiles) {
          CAPTURE(file);
          CHECK(slurp(b / f / file) == slurp(a / f / file));
        }
        check_ran_alone(b / f);
      }
    }
    CHECK(left_work > 0);
  }

  TEST_CASE("sweep: a second sweep on a folder in use is refused") {
    const auto dir = scratch("sweep_in_use");
    const auto out = dir / "out";
    const auto spec = [&](std::vector<std::string> extra) {
      extra.insert(extra.begin(), {"-j", "1"});
      return sweep_args(out, {"--seeds", "1-3"}, 40, extra);
    };
    const pid_t pid = spawn(spec({}), dir / "err1");
    // sweep.yaml is written once the sweep holds DIR/.lock, which it keeps until it exits.
    const bool started = wait_for([&] { return fs::exists(out / "sweep.yaml"); }, 60000ms);
    if (!started) ::kill(pid, SIGKILL);
    REQUIRE(started);
    for (const char* mode : {"--resume", "", "--force"}) {
      CAPTURE(mode);
      const auto r = run_dtsim(spec(*mode ? std::vector<std::string>{mode} : std::vector<std::string>{}));
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("a live dtsim sweep is using '" + out.string() + "' (its .lock is held)") != std::string::npos);
    }
    int status = 0;
    CHECK(::waitpid(pid, &status, WNOHANG) == 0);  // refused while it ran, not after it ended
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(lock_free(out));
    check_all_ok(out, 3, 40);
    for (const auto& f : folders_of(read_csv(out / "runs.csv"))) {
      const auto log = slurp(out / f / "log");
      CHECK(log.find("=== dtsim sweep started") == log.rfind("=== dtsim sweep started"));  // started once
    }
  }

  TEST_CASE("sweep: SIGINT stops the running points after their round and --resume finishes them") {
    const auto dir = scratch("sweep_interrupt");
    const auto out = dir / "out";
    const auto spec = [&](std::vector<std::string> extra) {
      extra.insert(extra.begin(), {"-j", "2"});
      return sweep_args(out, {"--seeds", "1-4"}, 40, extra);
    };
    const auto err_path = dir / "err1";
    const pid_t pid = spawn(spec({}), err_path);
    // Both running points are past their start: each has a round in its rounds.csv.
    const bool started = wait_for(
        [&] { return !read_csv(out / "0000-s1" / "rounds.csv").empty() && !read_csv(out / "0001-s2" / "rounds.csv").empty(); },
        60000ms);
    REQUIRE(::kill(pid, started ? SIGINT : SIGKILL) == 0);  // never leave the sweep running
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(started);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(slurp(err_path).find("dtsim sweep: interrupted; --resume continues it") != std::string::npos);

    const auto rows = read_csv(out / "runs.csv");
    REQUIRE(rows.size() == 4);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CAPTURE(i);
      const auto& st = rows[i].at("status");
      CHECK(st != "running");
      const auto folder = out / folders_of(rows)[i];
      if (i < 2) {  // the two that ran stopped after a round, their rows and files agreeing
        CHECK(st == "interrupted");
        const auto done = std::stoll(rows[i].at("rounds_completed"));
        CHECK(done >= 1);
        CHECK(done < 40);
        CHECK(static_cast<long long>(read_csv(folder / "rounds.csv").size()) == done);
        CHECK(read_csv(folder / "runs.csv").at(0).at("status") == "interrupted");
      } else {  // no point starts after the signal
        CHECK(st == "pending");
        CHECK(rows[i].at("message") == "not started");
        CHECK_FALSE(fs::exists(folder / "log"));
      }
    }

    const auto resumed = run_dtsim(spec({"--resume"}));
    INFO(resumed.err);
    REQUIRE(resumed.exit_code == 0);
    check_all_ok(out, 4, 40);
  }

  TEST_CASE("sweep: bad grid specs exit 2 naming the offending --grid and write nothing") {
    const auto dir = scratch("sweep_bad_grid");
    struct Bad {
      std::vector<std::string> axes;
      int rounds;
      std::vector<std::string> expected;  // in stderr
    };
    const std::vector<Bad> bad{
        {{"--grid", "a=[1,2"}, 2, {"--grid 'a=[1,2'", "not valid YAML"}},
        {{"--grid", "noequals"}, 2, {"--grid 'noequals'", "KEY=VALUES"}},
        {{"--zip", "a=[1,2],b=[1]"}, 2, {"--zip 'a=[1,2],b=[1]'", "one length"}},
        {{"--seeds", "5-1"}, 2, {"--seeds '5-1'", "the range is empty"}},
        {{"--grid", "workload.local.epochs=[1,2]", "--grid", "workload.local.epochs=[3]"},
         2,
         {"--grid 'workload.local.epochs=[3]'", "swept by another --grid or --zip"}},
        {{"--grid", "training.clients_per_round=[2,3]"},
         2,
         {"--grid 'training.clients_per_round=[2,3]'", "also given by --set"}},
        {{"--grid", "seed=[1,2]", "--seeds", "1-2"}, 2, {"--grid 'seed=[1,2]'", "by --seeds"}},
        {{"--grid", "training.rounds=[2,0]"}, 0, {"point 0001-0 is invalid", "training.rounds", "1 of 2 points"}},
        {{}, 2, {"nothing to sweep"}},
    };
    for (std::size_t i = 0; i < bad.size(); ++i) {
      CAPTURE(i);
      const auto out = dir / ("out" + std::to_string(i));
      const auto r = run_dtsim(sweep_args(out, bad[i].axes, bad[i].rounds, {"--no-train"}));
      CHECK(r.exit_code == 2);
      for (const auto& text : bad[i].expected) CHECK_MESSAGE(r.err.find(text) != std::string::npos, text << "\n--- got:\n" << r.err);
      CHECK_FALSE(fs::exists(out));
    }

    // A folder holding a sweep: never overwritten, resumed only by the same sweep, replaced by --force.
    const auto out = dir / "sweep";
    const auto sweep = [&](const std::string& grid, std::vector<std::string> extra) {
      extra.push_back("--no-train");
      return run_dtsim(sweep_args(out, {"--grid", grid}, 0, extra));
    };
    const auto first = sweep("training.rounds=[1,2]", {});
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    const auto before = snapshot(out);
    struct Refused {
      std::string grid;
      std::vector<std::string> extra;
      std::vector<std::string> expected;
    };
    const std::vector<Refused> refused{
        {"training.rounds=[1,2]", {}, {"holds an earlier sweep", "never overwrites"}},
        {"training.rounds=[1,3]", {"--resume"}, {"--resume: this sweep differs", "point 1 is 0001-2 there and 0001-3 here"}},
        {"training.rounds=[1,2]", {"--resume", "--seeds", "1-2"}, {"it has 2 points, this sweep 4"}},
        {"training.rounds=[1,2]",
         {"--resume", "--set", "workload.local.epochs=2"},
         {"point 0000-1 differs from the run in", "workload.local.epochs"}},
        {"training.rounds=[1,2]", {"--resume", "--force"}, {"--resume"}},
    };
    for (const auto& r : refused) {
      std::string extra;
      for (const auto& a : r.extra) extra += " " + a;
      CAPTURE(r.grid);
      CAPTURE(extra);
      const auto got = sweep(r.grid, r.extra);
      CHECK(got.exit_code == 2);
      for (const auto& text : r.expected) CHECK_MESSAGE(got.err.find(text) != std::string::npos, text << "\n--- got:\n" << got.err);
      CHECK(snapshot(out) == before);
    }
    std::ofstream(out / "0000-1" / "notes.txt") << "mine\n";
    const auto foreign = sweep("training.rounds=[1,3]", {"--force"});
    CHECK(foreign.exit_code == 2);
    CHECK(foreign.err.find("also holds notes.txt") != std::string::npos);
    fs::remove(out / "0000-1" / "notes.txt");
    CHECK(snapshot(out) == before);

    const auto same = sweep("training.rounds=[1,2]", {"--resume"});  // finished: nothing to do
    CHECK(same.exit_code == 0);
    CHECK(slurp(out / "0001-2" / "rounds.csv") == before.at("0001-2/rounds.csv"));

    const auto forced = sweep("training.rounds=[1,3]", {"--force"});
    INFO(forced.err);
    CHECK(forced.exit_code == 0);
    const auto rows = read_csv(out / "runs.csv");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].at("rounds_completed") == "1");
    CHECK(rows[1].at("rounds_completed") == "3");
    CHECK(rows[1].at("param.training.rounds") == "3");
    CHECK_FALSE(fs::exists(out / "0001-2"));  // the replaced sweep's point is gone
    CHECK(read_csv(out / "0001-3" / "rounds.csv").size() == 3);
  }

  TEST_CASE("collect: merges the points into the same runs.csv as the sweep wrote, and marks a point that never ran as pending") {
    const auto dir = scratch("sweep_collect");
    const auto emitted = dir / "slurm", local = dir / "local";
    const auto spec = [](const fs::path& out, const std::vector<std::string>& extra) {
      return sweep_args(out, {"--grid", kRules, "--seeds", "1-2"}, 4, extra);
    };
    const auto e = run_dtsim(spec(emitted, {"--emit", "slurm"}));
    INFO(e.err);
    REQUIRE(e.exit_code == 0);
    const auto pending = read_csv(emitted / "runs.csv");
    REQUIRE(pending.size() == 4);
    const auto folders = folders_of(pending);
    for (const auto& row : pending) CHECK(row.at("status") == "pending");
    for (const auto& f : folders) CHECK_FALSE(fs::exists(emitted / f / "log"));  // nothing ran

    // The script: one array task per point, the points listed one a line, in order.
    const auto script = slurp(emitted / "sweep.sbatch");
    CHECK(script.find("\n#SBATCH --array=0-3\n") != std::string::npos);
    const auto open = script.find("\npoints=(\n"), close = script.find("\n)\n", open);
    REQUIRE(open != std::string::npos);
    REQUIRE(close != std::string::npos);
    std::string listed = script.substr(open + 10, close - open - 10), expected;
    for (const auto& f : folders) expected += (expected.empty() ? "  " : "\n  ") + f;
    CHECK(listed == expected);

    // Array tasks run by hand: the script itself, with the task id Slurm would give it.
    const auto task = [&](int id) {
      const std::string cmd = "cd " + quote(emitted.string()) +
                              " && env -u SLURM_CPUS_PER_TASK -u SLURM_ARRAY_JOB_ID SLURM_ARRAY_TASK_ID=" +
                              std::to_string(id) + " bash sweep.sbatch >/dev/null 2>&1";
      return std::system(cmd.c_str());
    };
    REQUIRE(task(1) == 0);
    REQUIRE(task(2) == 0);
    const auto partial = run_dtsim({"collect", emitted.string()});
    INFO(partial.err);
    CHECK(partial.exit_code == 1);  // not every point ran
    CHECK(partial.out.find("4 points: 2 ok, 0 failed, 0 running, 2 pending") != std::string::npos);
    const auto rows = read_csv(emitted / "runs.csv");
    REQUIRE(rows.size() == 4);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CAPTURE(i);
      CHECK(rows[i].at("run_id") == "quickstart#000" + std::to_string(i));
      CHECK(rows[i].at("status") == (i == 1 || i == 2 ? "ok" : "pending"));
      CHECK(rows[i].at("param.policies.aggregation") == pending[i].at("param.policies.aggregation"));
      CHECK(rows[i].at("seed") == pending[i].at("seed"));
    }

    REQUIRE(task(0) == 0);
    REQUIRE(task(3) == 0);
    const auto all = run_dtsim({"collect", emitted.string()});
    INFO(all.err);
    CHECK(all.exit_code == 0);

    const auto here = run_dtsim(spec(local, {"-j", "2"}));
    INFO(here.err);
    REQUIRE(here.exit_code == 0);
    CHECK(first_line(local / "runs.csv").ends_with(",param.policies.aggregation"));
    check_same_runs(local / "runs.csv", emitted / "runs.csv");
    for (const auto& f : folders) {
      CAPTURE(f);
      CHECK(slurp(emitted / f / "rounds.csv") == slurp(local / f / "rounds.csv"));
      CHECK(slurp(emitted / f / "clients.csv") == slurp(local / f / "clients.csv"));
    }
  }
}
