#include "policies/aggregation/fedprox.hpp"

#include "kernels/op_contract.hpp"
#include "policies/aggregation/fedavg.hpp"
#include "sim/scenario/params.hpp"

namespace dtsim::policies {

namespace {

class FedProx final : public AggregationPolicy {
 public:
  FedProx(double mu, const BuildContext& build) : mu_(mu), d_(build.parameter_count) {}
  bool supports(TrainingMode mode) const override { return mode == TrainingMode::sync; }
  std::vector<MemoryPart> memory() const override { return {accumulator_memory(d_, "FedProx")}; }

 private:
  kernels::Cost do_aggregate(const AggregationContext& ctx, UpdateSet& updates, std::span<float> global) override {
    return stream_weighted_sum(ctx.backend, updates, sample_weights(updates.infos()), global);
  }
  LocalObjective do_local_objective(ClientId, std::int64_t) const override { return {mu_, false}; }
  WireBytes do_wire_bytes(std::int64_t d) const override { return model_bytes(d); }
  double do_server_flops(std::int64_t n, std::int64_t d) const override {
    return kernels::contract::weighted_sum_flops(static_cast<double>(n), static_cast<double>(d));
  }
  double mu_;
  std::int64_t d_;
};

}  // namespace

std::unique_ptr<AggregationPolicy> make_fedprox(Params& params, const BuildContext& build) {
  const double mu = params.get_double("mu", 0.01, 0.0, 1e6);
  return std::make_unique<FedProx>(mu, build);
}

}  // namespace dtsim::policies
