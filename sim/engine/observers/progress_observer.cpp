#include "sim/engine/observers/progress_observer.hpp"

#include <fmt/format.h>

#include "sim/engine/session.hpp"

namespace dtsim::engine {

ProgressObserver::ProgressObserver(std::int64_t rounds, std::int64_t first_round, bool terminal, std::FILE* out)
    : rounds_(rounds), first_round_(first_round), terminal_(terminal), out_(out) {
  next_tenth_ = 1;
  while (next_tenth_ <= 10 && next_tenth_ * rounds_ / 10 < first_round_) ++next_tenth_;
}

void ProgressObserver::on_run_start(const RunStart&) {
  start_ = last_print_ = std::chrono::steady_clock::now();
  round_in_progress().store(first_round_);
}

void ProgressObserver::print(const RoundRecord& r, bool final_line) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const auto done = r.round - first_round_ + 1;
  const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(rounds_ - r.round) : 0;
  const std::string accuracy = last_accuracy_ ? fmt::format("{:.2f} %", 100 * *last_accuracy_) : "not yet";
  const std::string line = fmt::format("round {}/{}  simulated {:.1f} s  test accuracy {}  ETA {:.0f} s", r.round,
                                       rounds_, r.sim_time_s, accuracy, eta);
  if (terminal_)
    fmt::print(out_, "\r\x1b[2K{}{}", line, final_line ? "\n" : "");
  else
    fmt::print(out_, "{}\n", line);
  std::fflush(out_);
  line_open_ = terminal_ && !final_line;
}

void ProgressObserver::on_round(const RoundRecord& r) {
  round_in_progress().store(r.round + 1);
  if (!out_) return;
  if (r.test_accuracy) last_accuracy_ = r.test_accuracy;
  const auto now = std::chrono::steady_clock::now();
  if (terminal_) {
    // At most ten updates a second: a line per round would cost more than a fast round.
    if (r.round == rounds_ || now - last_print_ >= std::chrono::milliseconds(100)) {
      print(r, r.round == rounds_);
      last_print_ = now;
    }
    return;
  }
  bool due = now - last_print_ >= std::chrono::seconds(30);
  while (next_tenth_ <= 10 && r.round >= next_tenth_ * rounds_ / 10) {
    due = true;
    ++next_tenth_;
  }
  if (due) {
    print(r, false);
    last_print_ = now;
  }
}

void ProgressObserver::on_run_end(const RunEnd&) {
  if (out_ && line_open_) {
    fmt::print(out_, "\n");
    std::fflush(out_);
  }
}

}  // namespace dtsim::engine
