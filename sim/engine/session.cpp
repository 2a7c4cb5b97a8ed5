#include "sim/engine/session.hpp"

// SimGrid: s4u.hpp first, it brings the macros that log.h expects.
#include <simgrid/s4u.hpp>
// clang-format off
#include <xbt/log.h>
// clang-format on

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

std::atomic<bool>& stop_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

std::atomic<std::int64_t>& round_in_progress() {
  static std::atomic<std::int64_t> round{0};
  return round;
}

namespace {
// Async-signal-safe: only write(2) on a buffer formatted by hand.
void say_stopping() {
  char text[192] = "\ndtsim: stopping after round ";
  std::size_t n = std::strlen(text);
  char digits[24];
  std::size_t d = 0;
  for (auto k = static_cast<std::uint64_t>(std::max<std::int64_t>(0, round_in_progress().load())); d == 0 || k > 0;
       k /= 10)
    digits[d++] = static_cast<char>('0' + k % 10);
  while (d > 0) text[n++] = digits[--d];
  const char tail[] = " (again to stop at once; the finished rounds are kept)\n";
  for (const char* c = tail; *c != '\0' && n + 1 < sizeof text; ++c) text[n++] = *c;
  [[maybe_unused]] const auto written = ::write(2, text, n);
}

// First SIGINT/SIGTERM: finish the current round, keep the finished rounds, exit 1 (interrupted).
// A second one: stop at once (every finished round's rows are already in the files, whole).
void on_signal(int sig) {
  if (stop_flag().exchange(true)) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  say_stopping();
}
}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGHUP, on_signal);  // a closed ssh session: finish the round like Ctrl-C
  // dtsim sweep starts its points with these blocked, so that one forwarded before the handlers exist
  // waits for them instead of killing the point: it is delivered here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, sig);
  sigprocmask(SIG_UNBLOCK, &stop_signals, nullptr);
}

void start_simgrid(const std::vector<std::string>& simgrid_args) {
  xbt_log_control_set("root.thres:critical");
  static std::vector<std::string> storage;  // SimGrid keeps pointers into argv
  static std::vector<char*> argv;
  storage = {"dtsim"};
  storage.insert(storage.end(), simgrid_args.begin(), simgrid_args.end());
  argv.clear();
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(storage.size());
  sigset_t stop_signals, previous;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  sigprocmask(SIG_BLOCK, &stop_signals, &previous);
  // One engine per process, alive until it ends; kept reachable so leak checkers do not flag it.
  static sg4::Engine* const engine = new sg4::Engine(&argc, argv.data());
  (void)engine;
  install_stop_handlers();
  sigprocmask(SIG_SETMASK, &previous, nullptr);
}

}  // namespace dtsim::engine
