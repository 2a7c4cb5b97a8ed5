#include "policies/aggregation/aggregation.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace dtsim::policies {

namespace {

std::string client_name(ClientId c) { return "client " + std::to_string(c.value); }

// Hands the rule the real set's chunks while checking that they come in order, cover every update once
// and hold no null view.
class CheckedUpdates final : public UpdateSet {
 public:
  explicit CheckedUpdates(UpdateSet& inner) : inner_(inner) {}
  std::span<const UpdateInfo> infos() const override { return inner_.infos(); }
  void read(const ChunkFn& fn) override {
    if (reads_++ > 0) throw PolicyError("aggregate: the rule read the updates twice");
    inner_.read([&](std::size_t first, std::span<const float* const> models) {
      if (first != seen_) throw PolicyError("aggregate: a chunk starts at update " + std::to_string(first) +
                                            ", expected " + std::to_string(seen_));
      for (std::size_t i = 0; i < models.size(); ++i)
        if (models[i] == nullptr) throw PolicyError("aggregate: update " + std::to_string(first + i) + " has no values");
      seen_ += models.size();
      if (seen_ > infos().size()) throw PolicyError("aggregate: more update values than infos");
      fn(first, models);
    });
  }
  std::size_t seen() const { return seen_; }

 private:
  UpdateSet& inner_;
  int reads_ = 0;
  std::size_t seen_ = 0;
};

}  // namespace

ResidentUpdates::ResidentUpdates(std::vector<UpdateInfo> infos, std::vector<const float*> models, std::size_t chunk)
    : chunk_(std::max<std::size_t>(chunk, 1)) {
  if (infos.size() != models.size())
    throw PolicyError("ResidentUpdates: " + std::to_string(infos.size()) + " infos for " +
                      std::to_string(models.size()) + " models");
  std::vector<std::size_t> order(infos.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return infos[a].client < infos[b].client; });
  for (auto k : order) {
    infos_.push_back(infos[k]);
    models_.push_back(models[k]);
  }
}

void ResidentUpdates::read(const ChunkFn& fn) {
  for (std::size_t first = 0; first < models_.size(); first += chunk_)
    fn(first, std::span<const float* const>(models_).subspan(first, std::min(chunk_, models_.size() - first)));
}

kernels::Cost AggregationPolicy::aggregate(const AggregationContext& ctx, UpdateSet& updates, std::span<float> global) {
  const auto infos = updates.infos();
  if (infos.empty()) throw PolicyError("aggregate: no client updates");
  for (std::size_t i = 0; i < infos.size(); ++i) {
    const auto& u = infos[i];
    if (i > 0 && !(infos[i - 1].client < u.client))
      throw PolicyError("aggregate: updates must be in strictly ascending client order (" +
                        client_name(infos[i - 1].client) + " before " + client_name(u.client) + ")");
    if (!std::isfinite(u.samples) || u.samples < 0)
      throw PolicyError("aggregate: " + client_name(u.client) + " has an invalid sample count");
    if (u.local_steps < 0) throw PolicyError("aggregate: " + client_name(u.client) + " has negative local steps");
  }
  CheckedUpdates checked(updates);
  const kernels::Cost cost = do_aggregate(ctx, checked, global);
  if (checked.seen() != infos.size())
    throw PolicyError("aggregate: the rule read " + std::to_string(checked.seen()) + " of " +
                      std::to_string(infos.size()) + " updates");
  // A non-finite global model is the caller's business (divergence), not a contract breach: the engine
  // checks the model and the training loss and stops the run cleanly.
  return cost;
}

kernels::Cost AggregationPolicy::write_correction(ClientId client, kernels::Backend& backend, float* out) {
  if (!local_objective(client, 0).corrected)
    throw PolicyError("write_correction: " + client_name(client) + " has no correction under this rule");
  return do_write_correction(client, backend, out);
}

WireBytes AggregationPolicy::wire_bytes(std::int64_t d) const {
  const WireBytes w = do_wire_bytes(d);
  if (!std::isfinite(w.down_bytes) || !std::isfinite(w.up_bytes) || w.down_bytes < 0 || w.up_bytes < 0)
    throw PolicyError("wire_bytes: not finite and non-negative");
  return w;
}

double AggregationPolicy::server_flops(std::int64_t n, std::int64_t d) const {
  const double f = do_server_flops(n, d);
  if (!std::isfinite(f) || f < 0) throw PolicyError("server_flops: not finite and non-negative");
  return f;
}

WireBytes model_bytes(std::int64_t d) { return {4.0 * static_cast<double>(d), 4.0 * static_cast<double>(d)}; }

}  // namespace dtsim::policies
