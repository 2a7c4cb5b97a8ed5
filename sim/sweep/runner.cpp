#include "sim/sweep/runner.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>

#include "sim/engine/output_dir.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace dtsim::sweep {

namespace {

sigset_t sweep_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&set, sig);
  return set;
}

struct Running {
  pid_t pid;
  double memory_bytes;
  std::string folder;
};

// The point's log ends with how its process ended (the run's own last lines say why).
void log_end(const fs::path& dir, const std::string& folder, int status) {
  std::ofstream log(dir / folder / "log", std::ios::app);
  if (WIFEXITED(status))
    log << "=== the point's process ended: exit code " << WEXITSTATUS(status) << "\n";
  else if (WIFSIGNALED(status))
    log << "=== the point's process ended: killed by signal " << WTERMSIG(status) << "\n";
}

// Forks and execs one point. Everything the child touches is prepared before fork(): between fork and
// exec only async-signal-safe calls (the sweep may have threads).
pid_t spawn(const fs::path& dir, const Job& job) {
  std::vector<char*> argv;
  std::string command;
  for (const auto& a : job.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
    command += (command.empty() ? "" : " ") + a;
  }
  argv.push_back(nullptr);
  const std::string log = (dir / job.folder / "log").string();
  const std::string where = dir.string();
  const std::string header = "=== dtsim sweep started the point: " + command + "\n";
  const std::string exec_failed = "dtsim sweep: cannot start " + job.argv.front() + "\n";
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group: a terminal's Ctrl-C goes to the sweep, which forwards it once
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the sweep died before prctl
    // SIGINT, SIGTERM and SIGHUP stay blocked across exec: `dtsim run` unblocks them once its handlers
    // are installed, so a signal forwarded while it starts stops it after its round, never kills it.
    sigset_t held;
    sigemptyset(&held);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&held, sig);
    ::sigprocmask(SIG_SETMASK, &held, nullptr);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || ::chdir(where.c_str()) != 0) ::_exit(127);
    [[maybe_unused]] auto w = ::write(fd, header.data(), header.size());
    const int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0) ::dup2(in, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(argv[0], argv.data());
    w = ::write(2, exec_failed.data(), exec_failed.size());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // from here too, so that a signal forwarded at once finds the group
  return pid;
}

std::string duration_text(double s) {
  const auto total = static_cast<std::int64_t>(s + 0.5);
  return total >= 3600 ? fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
                       : fmt::format("{}:{:02}", total / 60, total % 60);
}

}  // namespace

void block_sweep_signals() {
  const sigset_t set = sweep_signals();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // An ignored signal is discarded, never waited for: a sweep started in the background of a script
  // (SIGINT ignored) would not forward it, and an ignored SIGCHLD reaps the children before waitpid.
  // `dtsim run` also takes SIGHUP as "stop after the round", nohup or not.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) std::signal(sig, SIG_DFL);
}

RunnerOutcome run_jobs(const fs::path& dir, const std::vector<Job>& jobs, const RunnerOptions& options,
                       std::int64_t already_done, const std::function<void()>& after_each) {
  RunnerOutcome outcome;
  std::deque<std::size_t> queue;
  for (std::size_t i = 0; i < jobs.size(); ++i) queue.push_back(i);
  std::vector<Running> running;
  int stops = 0;
  const auto started = Clock::now();
  auto last_line = started;
  const auto total = already_done + static_cast<std::int64_t>(jobs.size());
  const sigset_t set = sweep_signals();

  auto progress = [&](bool final_line) {
    if (options.quiet) return;
    const auto now = Clock::now();
    if (!options.terminal && !final_line && now - last_line < std::chrono::seconds(30)) return;
    last_line = now;
    const double elapsed = std::chrono::duration<double>(now - started).count();
    const auto finished = outcome.succeeded + outcome.failed;
    const auto left = static_cast<double>(queue.size() + running.size());
    const std::string eta =
        finished > 0 && left > 0 ? ", ETA " + duration_text(left * elapsed / static_cast<double>(finished)) : "";
    const std::string line = fmt::format("sweep: {}/{} done, {} failed, {} running, {} remaining{}",
                                         already_done + outcome.succeeded, total, outcome.failed, running.size(),
                                         queue.size(), eta);
    std::fprintf(stderr, options.terminal ? "\r%s\033[K%s" : "%s%s\n", line.c_str(),
                 options.terminal && final_line ? "\n" : "");
  };

  while (true) {
    if (stops == 0) {
      for (auto it = queue.begin(); it != queue.end() && static_cast<int>(running.size()) < options.jobs;) {
        const Job& job = jobs[*it];
        double used = 0;
        for (const auto& r : running) used += r.memory_bytes;
        if (!running.empty() && options.memory_budget_bytes > 0 && used + job.memory_bytes > options.memory_budget_bytes)
          break;  // in order: wait until it fits
        if (engine::run_lock_held(dir / job.folder)) {  // a live run of this point (never two at once)
          ++it;
          continue;
        }
        running.push_back({spawn(dir, job), job.memory_bytes, job.folder});
        it = queue.erase(it);
      }
    }
    if (running.empty() && (queue.empty() || stops > 0)) break;
    timespec wait{0, 250'000'000};
    siginfo_t info;
    const int sig = ::sigtimedwait(&set, &info, &wait);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      ++stops;
      outcome.interrupted = true;
      for (const auto& r : running) ::kill(-r.pid, sig);
      if (!options.quiet)
        std::fprintf(stderr, "%sdtsim sweep: %s\n", options.terminal ? "\n" : "",
                     stops == 1 ? "stopping: the running points stop after their round, no point starts (again to "
                                  "stop them at once)"
                                : "stopping the running points at once");
    }
    while (true) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      for (auto it = running.begin(); it != running.end(); ++it)
        if (it->pid == pid) {
          log_end(dir, it->folder, status);
          running.erase(it);
          if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++outcome.succeeded;
          else ++outcome.failed;
          after_each();
          break;
        }
    }
    progress(false);
  }
  progress(true);
  return outcome;
}

}  // namespace dtsim::sweep
