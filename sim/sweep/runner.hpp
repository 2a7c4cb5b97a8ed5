// Runs a sweep's points on this machine: one `dtsim run` process per point, at most `jobs` at once and
// only while the running points' memory estimates fit the budget (one always runs).
//
// Children run in DIR (their paths in runs.csv are relative to it), in process groups of their own (a
// terminal's Ctrl-C reaches only the sweep), and die with the sweep (PR_SET_PDEATHSIG: SIGKILL; their
// finished rounds are already in their files). A point whose DIR/<point>/.lock is held is never started
// (it waits). A child starts with SIGINT, SIGTERM and SIGHUP blocked (dtsim run unblocks them once its
// handlers are in place). SIGINT, SIGTERM and SIGHUP are forwarded to every running child: the first stops them
// after their round (no point is started after it), a second at once. The caller blocks those signals
// and SIGCHLD in every thread before calling (block_sweep_signals), so that only this loop receives them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace dtsim::sweep {

struct Job {
  std::string folder;              // the point's folder, relative to the sweep's
  std::vector<std::string> argv;   // the child's command line, argv[0] an absolute path
  double memory_bytes = 0;         // its estimate
};

struct RunnerOptions {
  int jobs = 1;
  double memory_budget_bytes = 0;  // 0: no budget
  bool terminal = false;           // progress as one updating line (else a line every 30 s)
  bool quiet = false;              // no progress
};

struct RunnerOutcome {
  std::int64_t succeeded = 0, failed = 0;  // by the children's exit codes
  bool interrupted = false;                // a signal stopped the sweep
};

// Blocks SIGINT, SIGTERM, SIGHUP and SIGCHLD in the calling thread (and the threads it creates later),
// and gives them their default disposition (an inherited SIG_IGN would discard them unseen).
void block_sweep_signals();

// Runs `jobs` in order from the folder `dir`; `after_each` runs whenever a child has ended (the caller
// may rewrite the combined runs.csv). `already_done` counts the points finished before (progress only).
RunnerOutcome run_jobs(const std::filesystem::path& dir, const std::vector<Job>& jobs, const RunnerOptions& options,
                       std::int64_t already_done, const std::function<void()>& after_each);

}  // namespace dtsim::sweep
