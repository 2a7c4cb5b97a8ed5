// Scheduling family: who takes part in a round, and on what terms (DESIGN "SchedulingPolicy").
//
// plan() returns a SchedulePlan: the clients to start (distinct, inside the population, available at
// the round's start), the round's deadline (seconds from its start; nullopt = wait for every client)
// and keep_first (the round keeps the first keep_first updates to arrive, 1 <= keep_first <= the
// number of clients, or 0 for an empty plan). The base class checks all of this in O(K log K) —
// never O(population) — and throws PolicyError on a breach. feedback() tells the policy how the round
// went, with only what a real server knows (for utility-based selectors such as Oort).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "policies/common.hpp"
#include "sim/common/checkpointable.hpp"
#include "sim/common/rng.hpp"

namespace dtsim::policies {

// Whether a client can be reached at simulated time t_s (dynamics.availability). An oracle, never a
// population-sized vector: a population may hold 10^6 clients.
class AvailabilityOracle {
 public:
  virtual ~AvailabilityOracle() = default;
  virtual bool available(ClientId client, double t_s) const = 0;
};

struct SchedulingContext {
  RoundContext round;                 // round.sim_time_s is the round's start
  std::int64_t population = 0;        // N
  std::int64_t wanted = 0;            // how many to select: ceil(over_selection · K), capped at N; >= 1
  std::int64_t keep_first = 0;        // K (training.clients_per_round), 1 <= K <= wanted
  std::optional<double> deadline_s;   // training.deadline (s from the round's start); nullopt = none
  const AvailabilityOracle* availability = nullptr;  // nullptr = every client is available
  std::uint64_t seed = 0;             // draw from Rng(seed, "<policy>", round) streams
};

struct SchedulePlan {
  std::vector<ClientId> clients;
  std::optional<double> deadline_s;  // > 0 when set
  std::int64_t keep_first = 0;
};

// One selected client's part in a finished round. Durations are simulated seconds of the stages it
// finished (empty for a stage it never finished); train_loss is its mean local training loss, empty
// when nothing was trained (timing-only runs, a client whose update was not used).
struct ClientOutcome {
  ClientId client;
  ClientStatus status = ClientStatus::completed;
  double samples = 0;           // its training samples
  std::int64_t steps = 0;       // local SGD steps it executed (all of them, or the part it reached)
  std::optional<double> download_s, compute_s, upload_s;
  std::optional<double> train_loss;
};

// Checkpointable: a selector with state across rounds (Oort's utilities, a history) saves it.
class SchedulingPolicy : public Checkpointable {
 public:
  virtual ~SchedulingPolicy() = default;
  SchedulePlan plan(const SchedulingContext& ctx);
  void feedback(const RoundContext& ctx, std::span<const ClientOutcome> outcomes) { do_feedback(ctx, outcomes); }

 private:
  virtual SchedulePlan do_plan(const SchedulingContext& ctx) = 0;
  virtual void do_feedback(const RoundContext&, std::span<const ClientOutcome>) {}
};

using SchedulingRegistry = Registry<std::unique_ptr<SchedulingPolicy>(Params&, const BuildContext&)>;
const SchedulingRegistry& scheduling_registry();

}  // namespace dtsim::policies
