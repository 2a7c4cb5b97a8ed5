// The energy meter (DESIGN "Dynamics"; issue "Machines that misbehave"): a participant's energy in one
// round from its task's stage times and its host class's power (platform.host_classes watts_idle,
// watts_busy). Plain arithmetic on a TaskOutcome, so it is tested against SimGrid's host energy plugin
// and needs no SimGrid itself.
#pragma once

#include "sim/engine/actors/task.hpp"
#include "sim/engine/platform/platform.hpp"

namespace dtsim::engine {

// busy_w × its compute time + idle_w × the rest of its time from the round's start to its last stage end
// — the end of its upload, or where it was stopped (a late, dropped or crashed client's wasted energy).
// Joules; the server and unselected clients are not metered.
double participant_energy_j(const actors::TaskOutcome& task, double round_start_s, const HostPower& power);

}  // namespace dtsim::engine
