#include "policies/aggregation/fedavg.hpp"

#include "kernels/op_contract.hpp"

namespace dtsim::policies {

std::vector<double> sample_weights(std::span<const UpdateInfo> infos) {
  double total = 0;
  for (const auto& u : infos) total += u.samples;
  std::vector<double> w;
  w.reserve(infos.size());
  for (const auto& u : infos) w.push_back(total > 0 ? u.samples / total : 1.0 / static_cast<double>(infos.size()));
  return w;
}

kernels::Cost stream_weighted_sum(kernels::Backend& backend, UpdateSet& updates, std::span<const double> weights,
                                  std::span<float> global) {
  const std::size_t d = global.size();
  kernels::Buffer acc = backend.alloc_doubles(d);
  kernels::Cost cost;
  bool started = false;
  updates.read([&](std::size_t first, std::span<const float* const> models) {
    cost += backend.weighted_sum(models, weights.subspan(first, models.size()), d, started, acc.doubles(), nullptr);
    started = true;
  });
  cost += backend.weighted_sum({}, {}, d, true, acc.doubles(), global.data());
  return cost;
}

MemoryPart accumulator_memory(std::int64_t d, const std::string& rule) {
  return {"aggregation", 8.0 * static_cast<double>(d), "(" + rule + "'s double accumulator)", "workload.model"};
}

namespace {

class FedAvg final : public AggregationPolicy {
 public:
  explicit FedAvg(const BuildContext& build) : d_(build.parameter_count) {}
  bool supports(TrainingMode mode) const override { return mode == TrainingMode::sync; }
  std::vector<MemoryPart> memory() const override { return {accumulator_memory(d_, "FedAvg")}; }

 private:
  kernels::Cost do_aggregate(const AggregationContext& ctx, UpdateSet& updates, std::span<float> global) override {
    return stream_weighted_sum(ctx.backend, updates, sample_weights(updates.infos()), global);
  }
  WireBytes do_wire_bytes(std::int64_t d) const override { return model_bytes(d); }
  double do_server_flops(std::int64_t n, std::int64_t d) const override {
    return kernels::contract::weighted_sum_flops(static_cast<double>(n), static_cast<double>(d));
  }
  std::int64_t d_;
};

}  // namespace

std::unique_ptr<AggregationPolicy> make_fedavg(Params&, const BuildContext& build) {
  return std::make_unique<FedAvg>(build);
}

}  // namespace dtsim::policies
