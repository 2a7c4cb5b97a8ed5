#include "sim/engine/session.hpp"

// SimGrid: s4u.hpp first, it brings the macros that log.h expects.
#include <simgrid/s4u.hpp>
// clang-format off
#include <xbt/log.h>
// clang-format on

#include <csignal>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

std::atomic<bool>& stop_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {
// First SIGINT/SIGTERM: finish the current round, keep the finished rounds, exit 1 (interrupted).
// A second one: stop at once (the final CSV names are only ever renamed into place, so none is torn).
void on_signal(int sig) {
  if (stop_flag().exchange(true)) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}
}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
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
  sigprocmask(SIG_BLOCK, &stop_signals, &previous);
  // One engine per process, alive until it ends; kept reachable so leak checkers do not flag it.
  static sg4::Engine* const engine = new sg4::Engine(&argc, argv.data());
  (void)engine;
  install_stop_handlers();
  sigprocmask(SIG_SETMASK, &previous, nullptr);
}

}  // namespace dtsim::engine
