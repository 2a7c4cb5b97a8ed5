// The process-wide side of a run: SimGrid's engine (one per process, shared/reference/SIMGRID.md §6),
// the SIGINT/SIGTERM handlers and the stop flag they set.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace dtsim::engine {

// Set by the first SIGINT/SIGTERM/SIGHUP once install_stop_handlers() ran: the paradigm stops between rounds and
// the finished rounds are committed with status=interrupted. A second signal ends the process at once.
std::atomic<bool>& stop_flag();

// The round in progress, for the first signal's message ("stopping after round k"); the progress
// observer keeps it up to date.
std::atomic<std::int64_t>& round_in_progress();

// Installs the handlers (idempotent). Call before anything is written, so a signal never tears a file.
void install_stop_handlers();

// Creates SimGrid's engine with `simgrid_args` (--cfg=.../--log=... arguments), silencing SimGrid's own
// chatter unless a --log argument asks for it. SimGrid installs a SIGINT handler of its own that exits
// at once: signals are held while the engine is built, then ours are put back. Call at most once.
void start_simgrid(const std::vector<std::string>& simgrid_args);

}  // namespace dtsim::engine
