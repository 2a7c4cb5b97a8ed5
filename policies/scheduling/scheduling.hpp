// Scheduling family: which clients take part in a round. select() returns `wanted` distinct clients,
// each < population and available; the base class checks this. feedback() tells the policy how the
// round went (for utility-based selectors such as Oort).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "policies/common.hpp"
#include "policies/registry.hpp"
#include "sim/common/rng.hpp"

namespace dtsim::policies {

struct SelectionContext {
  RoundContext round;
  std::int64_t population = 0;              // N
  std::int64_t wanted = 0;                  // K, 1 <= K <= N
  std::span<const std::uint8_t> available;  // N flags (1 = can be picked); empty = everyone available
  std::uint64_t seed = 0;                   // draw from Rng(seed, "<policy>", round) streams
};

struct ClientOutcome {
  ClientId client;
  bool completed = false;
  double duration_s = 0;  // from selection to upload end (or to the drop)
  double train_loss = 0;  // mean local training loss, when completed
  double samples = 0;
};

class SchedulingPolicy {
 public:
  virtual ~SchedulingPolicy() = default;
  std::vector<ClientId> select(const SelectionContext& ctx);
  void feedback(const RoundContext& ctx, std::span<const ClientOutcome> outcomes) { do_feedback(ctx, outcomes); }

 private:
  virtual std::vector<ClientId> do_select(const SelectionContext& ctx) = 0;
  virtual void do_feedback(const RoundContext&, std::span<const ClientOutcome>) {}
};

const Registry<SchedulingPolicy>& scheduling_registry();

}  // namespace dtsim::policies
