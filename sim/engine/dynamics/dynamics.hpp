// The Dynamics seam (DESIGN "Dynamics"): how clients misbehave, answered lazily from keyed streams, so a
// population of 10^6 clients costs nothing until a client is asked about. slowdown(id, round),
// available(id, t) and online_until(id, t) (DESIGN's next_off), crash_point(id, round); the per-host
// power is the platform's (host classes) and the energy meter is energy.hpp. The task actor applies
// what these say (actors/task.hpp); the scheduler sees availability as an oracle.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "sim/common/ids.hpp"
#include "sim/common/memory_part.hpp"
#include "sim/engine/actors/task.hpp"
#include "sim/engine/dynamics/availability.hpp"
#include "sim/engine/platform/platform.hpp"
#include "sim/scenario/scenario.hpp"

namespace dtsim::engine {

// Factors (> 0; 1 = as planned) on a task's compute time and on its transfers' bandwidth term: a slowed
// transfer moves factor × its bytes through SimGrid, so uncontended it takes latency + factor × bytes /
// bandwidth (the outcome counts the model's bytes).
struct Slowdown {
  double compute = 1;
  double link = 1;
};

class Dynamics {
 public:
  // `trace`: the loaded dynamics.availability.trace when the model is trace (else unused).
  Dynamics(const DynamicsSpec& spec, std::uint64_t seed, std::shared_ptr<const TraceAvailability> trace = nullptr);

  // The client's factor in `round`: its slow-host factor (dynamics.slow_hosts: drawn once per client from
  // Rng(seed, "dynamics.slow_host", client)) times its straggler draw (dynamics.straggler: from
  // Rng(seed, "dynamics.straggler", client, round)), applied to dynamics.straggler_target.
  Slowdown slowdown(ClientId client, std::int64_t round) const;
  bool slow_host(ClientId client) const;

  // The availability oracle, or nullptr when every client is always online.
  const Availability* availability() const { return availability_.get(); }
  bool available(ClientId client, double t_s) const { return !availability_ || availability_->available(client, t_s); }
  // When the client, online at t_s, goes offline (+inf when never); t_s when it is offline at t_s.
  double online_until(ClientId client, double t_s) const;

  // Whether the client crashes in `round` and, if so, at which fraction u ~ U(0, 1) of its task's planned
  // duration; from Rng(seed, "dynamics.crash", client, round).
  std::optional<double> crash_point(ClientId client, std::int64_t round) const;

  // FedProx's paper-mode stragglers (dynamics.epoch_stragglers; Li et al. 2020 §5.2, litian96/FedProx
  // flearn/trainers/fedprox.py): which of a round's `planned` clients (in plan order) straggle. All but
  // round(planned × (1 − fraction)) of them (half to even, as Python's round), drawn without replacement
  // from Rng(seed, "dynamics.epoch_stragglers", round); all false when the protocol is off. O(planned).
  std::vector<bool> epoch_stragglers(std::int64_t round, std::size_t planned) const;
  // A straggler's local epochs out of its planned `epochs`: U{1..epochs-1} (numpy's randint(1, E)), from
  // Rng(seed, "dynamics.straggler_epochs", client, round); `epochs` itself when it is 1.
  std::int64_t straggler_epochs(ClientId client, std::int64_t round, std::int64_t epochs) const;

 private:
  bool slows() const { return spec_.straggler || spec_.slow_fraction > 0; }
  DynamicsSpec spec_;
  std::uint64_t seed_;
  std::shared_ptr<const Availability> availability_;
};

// What the client's dynamics do to its task, planned to start at t0: its straggler factors, and when it
// crashes — at u of its planned duration (download + compute + upload, uncontended: the route's latency
// plus bytes times the link factor over its bandwidth, and flops at its host's speed) — or goes
// offline, whichever comes first. Needs the live engine (routes, host speeds).
void apply_dynamics(const Dynamics& dynamics, const Platform& platform, double t0, actors::TaskPlan& task);

// Modelled memory of the dynamics and traces: platform.clients.trace's rows; Markov availability's cursors (at most one per client asked about:
// about ceil(wanted / on-fraction) a round), or the loaded trace (24 bytes an interval, at most one per
// 6 bytes of its file).
std::vector<MemoryPart> dynamics_memory(const Scenario& scenario);

// The smallest straggler factor a draw may take (a draw below is drawn again): SimGrid cannot run a
// task in no time at all.
inline constexpr double kMinSlowdown = 1e-6;
inline constexpr double kMaxSlowdown = 1e6;

}  // namespace dtsim::engine
