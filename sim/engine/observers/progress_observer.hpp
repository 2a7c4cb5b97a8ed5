// Progress of a run on stderr (DESIGN "Progress"): on a terminal, one line updated in place (round k of
// n, simulated time, last test accuracy, ETA); off a terminal (a Slurm log), a plain line every 30 s of
// wall time and at each 10 % of the rounds. It also tells the signal handler which round is in progress,
// so that a first Ctrl-C can say "stopping after round k".
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>

#include "sim/engine/observer.hpp"

namespace dtsim::engine {

class ProgressObserver final : public RunObserver {
 public:
  // first_round: 1, or the round after a checkpoint (a resumed run). terminal: stderr is a terminal.
  // out == nullptr (--quiet): prints nothing, still tracks the round in progress.
  ProgressObserver(std::int64_t rounds, std::int64_t first_round, bool terminal, std::FILE* out);

  void on_run_start(const RunStart&) override;
  void on_round(const RoundRecord& r) override;
  void on_run_end(const RunEnd&) override;

 private:
  void print(const RoundRecord& r, bool final_line);
  std::int64_t rounds_, first_round_;
  bool terminal_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_, last_print_;
  std::int64_t next_tenth_ = 1;  // the next 10 % mark to print at (off a terminal)
  std::optional<double> last_accuracy_;
  bool line_open_ = false;  // a terminal line without its newline yet
};

}  // namespace dtsim::engine
