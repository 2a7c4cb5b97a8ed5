#include "policies/aggregation/fedavg.hpp"

#include <vector>

namespace dtsim::policies {

void fedavg_combine(std::span<const ClientUpdate> updates, std::span<float> global) {
  double total = 0;
  for (const auto& u : updates) total += u.samples;
  const bool equal = total <= 0;
  std::vector<double> acc(global.size(), 0.0);
  for (const auto& u : updates) {
    const double w = equal ? 1.0 / static_cast<double>(updates.size()) : u.samples / total;
    if (w == 0) continue;
    const float* y = u.params.data();
    for (std::size_t j = 0; j < acc.size(); ++j) acc[j] += w * static_cast<double>(y[j]);
  }
  for (std::size_t j = 0; j < acc.size(); ++j) global[j] = static_cast<float>(acc[j]);
}

namespace {

class FedAvg final : public AggregationPolicy {
  void do_aggregate(const RoundContext&, std::span<const ClientUpdate> updates, std::span<float> global) override {
    fedavg_combine(updates, global);
  }
};

}  // namespace

std::unique_ptr<AggregationPolicy> make_fedavg(Params&, const BuildContext&) { return std::make_unique<FedAvg>(); }

}  // namespace dtsim::policies
