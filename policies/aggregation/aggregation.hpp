// Aggregation family (DESIGN "AggregationPolicy"): what the server does with the round's updates, what
// it asks of the clients' local training, what it sends each way and what it costs the server.
//
// A rule computes on the Backend: the round's updates are views in backend memory, handed out chunk by
// chunk (UpdateSet), so a linear rule's memory follows --chunk, not clients_per_round. Rules that need
// every update at once say so (needs_all_updates) and count it in memory().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "policies/common.hpp"
#include "sim/common/checkpointable.hpp"
#include "sim/common/memory_part.hpp"

namespace dtsim::policies {

// What a rule adds to one client's local training. The shape is all the simulated timing needs; a
// correction's values are written, when training, by AggregationPolicy::write_correction.
struct LocalObjective {
  double proximal_mu = 0;  // FedProx: + (μ/2)·‖w − x_t‖², so every step's gradient gains μ·(w − x_t)
  bool corrected = false;  // SCAFFOLD: every step's gradient gains the correction c − c_i
};

// The simulated bytes of one client's round trip.
struct WireBytes {
  double down_bytes = 0;  // server → client
  double up_bytes = 0;    // client → server
};

// What the server knows of one update besides its values (it arrives with them).
struct UpdateInfo {
  ClientId client;
  double samples = 0;            // n_k, the client's training samples (FedAvg's weight)
  std::int64_t local_steps = 0;  // τ_k, the SGD steps it took
};

// The round's updates: their infos in ascending client order, and their models y_k (d floats each, in
// backend memory) handed out chunk by chunk in the same order.
class UpdateSet {
 public:
  using ChunkFn = std::function<void(std::size_t first, std::span<const float* const> models)>;
  virtual ~UpdateSet() = default;
  virtual std::span<const UpdateInfo> infos() const = 0;
  // Calls fn(first, models) for consecutive chunks that cover every update once, in order: models[i] is
  // update first + i's y (valid during that call only). A set can be read once.
  virtual void read(const ChunkFn& fn) = 0;
};

// Updates already in backend memory, handed out `chunk` at a time; sorted into client order when made.
class ResidentUpdates final : public UpdateSet {
 public:
  ResidentUpdates(std::vector<UpdateInfo> infos, std::vector<const float*> models, std::size_t chunk);
  std::span<const UpdateInfo> infos() const override { return infos_; }
  void read(const ChunkFn& fn) override;

 private:
  std::vector<UpdateInfo> infos_;
  std::vector<const float*> models_;
  std::size_t chunk_;
};

// Where a rule's per-round figures go (policy_metrics.csv: family aggregation, the rule's name).
class MetricSink {
 public:
  virtual ~MetricSink() = default;
  virtual void record(const std::string& metric, double value) = 0;
};

struct AggregationContext {
  RoundContext round;
  kernels::Backend& backend;
  MetricSink& metrics;
};

// Checkpointable: a rule with state across rounds (SCAFFOLD's control variates, server moments) saves it.
class AggregationPolicy : public Checkpointable {
 public:
  virtual ~AggregationPolicy() = default;

  // x_{t+1} from x_t and the round's updates. `global`: d floats of backend memory, x_t on entry and
  // x_{t+1} on return. Checks that there is at least one update, that the infos are in strictly
  // ascending client order with finite samples >= 0 and steps >= 0, and that the rule read every update
  // once, in order, from non-null views (PolicyError otherwise). Returns the cost of the backend
  // operations the rule ran (what server_flops models).
  kernels::Cost aggregate(const AggregationContext& ctx, UpdateSet& updates, std::span<float> global);

  // What local training must add for `client` in `round`.
  LocalObjective local_objective(ClientId client, std::int64_t round) const { return do_local_objective(client, round); }
  // Writes the client's correction (d floats of backend memory) when local_objective says it is corrected;
  // PolicyError otherwise.
  kernels::Cost write_correction(ClientId client, kernels::Backend& backend, float* out);
  // Bytes each way for a model of d parameters; checked finite and >= 0.
  WireBytes wire_bytes(std::int64_t d) const;
  // Flops the server executes to aggregate n updates of d parameters; checked finite and >= 0.
  double server_flops(std::int64_t n, std::int64_t d) const;
  virtual bool supports(TrainingMode mode) const = 0;
  // Whether aggregate() must see every update in one chunk (rank-based rules); the caller keeps them all.
  virtual bool needs_all_updates() const { return false; }
  // The rule's own modelled memory (accumulators, state), named "aggregation".
  virtual std::vector<MemoryPart> memory() const = 0;
  // The most bytes save() writes (a checkpoint holds them while it is written).
  virtual double checkpoint_bytes() const { return 0; }

 private:
  virtual kernels::Cost do_aggregate(const AggregationContext& ctx, UpdateSet& updates, std::span<float> global) = 0;
  virtual LocalObjective do_local_objective(ClientId, std::int64_t) const { return {}; }
  virtual kernels::Cost do_write_correction(ClientId, kernels::Backend&, float*) { return {}; }
  virtual WireBytes do_wire_bytes(std::int64_t d) const = 0;
  virtual double do_server_flops(std::int64_t n, std::int64_t d) const = 0;
};

using AggregationRegistry = Registry<std::unique_ptr<AggregationPolicy>(Params&, const BuildContext&)>;
const AggregationRegistry& aggregation_registry();

// Float32 models each way: 4·d bytes (FedAvg, FedProx).
WireBytes model_bytes(std::int64_t d);

}  // namespace dtsim::policies
