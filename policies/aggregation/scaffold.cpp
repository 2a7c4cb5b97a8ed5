#include "policies/aggregation/scaffold.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>

#include "kernels/op_contract.hpp"
#include "sim/scenario/params.hpp"

namespace dtsim::policies {

namespace {

// c_i⁺ from c_i, c, x, y_i: the weights of Backend::weighted_sum's four items (option II; a client that
// took no step keeps c_i).
std::array<double, 4> next_variate_weights(std::int64_t steps, double lr) {
  if (steps <= 0 || lr == 0) return {1, 0, 0, 0};
  const double s = 1.0 / (static_cast<double>(steps) * lr);
  return {1, -1, s, -s};
}

class Scaffold final : public AggregationPolicy {
 public:
  Scaffold(double server_lr, const BuildContext& b)
      : server_lr_(server_lr),
        d_(static_cast<std::size_t>(b.parameter_count)),
        population_(static_cast<double>(std::max<std::int64_t>(b.population, 1))),
        lr_(b.optimizer.lr),
        most_clients_(std::min(b.population, b.rounds * b.clients_per_round)) {}

  bool supports(TrainingMode mode) const override { return mode == TrainingMode::sync; }

  std::vector<MemoryPart> memory() const override {
    // c, the c_i of every client that may take part; the x and c accumulators and a per-client one
    // (8·d each), the c_i⁺ being formed and the host copy of c for its norm (4·d each).
    const double d = static_cast<double>(d_);
    const double bytes = 4 * d * static_cast<double>(most_clients_ + 1) + 3 * 8 * d + 2 * 4 * d;
    return {{"aggregation", bytes,
             "(SCAFFOLD: the control variates of up to " + std::to_string(most_clients_) +
                 " clients, c and the accumulators)",
             "platform.clients.count"}};
  }

  void save(ByteWriter& out) const override {
    const std::size_t count = be_ ? variates_.size() : (loaded_ ? loaded_->second.size() : 0);
    out.reserve(saved_bytes(count));
    out.u64(d_);
    out.floats(host_copy(c_, loaded_ ? &loaded_->first : nullptr));
    out.u64(count);
    if (be_) {
      for (const auto& [client, buffer] : variates_) {
        out.i64(client);
        out.floats(host_copy(buffer, nullptr));
      }
    } else if (loaded_) {
      for (const auto& [client, values] : loaded_->second) {
        out.i64(client);
        out.floats(values);
      }
    }
  }

  // A checkpoint holds the whole state: (d, c, count, (client, c_i)…).
  double checkpoint_bytes() const override { return static_cast<double>(saved_bytes(static_cast<std::size_t>(most_clients_))); }

  void load(ByteReader& in) override {
    if (in.u64() != d_) throw std::runtime_error("checkpoint: SCAFFOLD's state has another model size");
    Loaded l;
    l.first = in.floats();
    const auto count = in.u64();
    for (std::uint64_t k = 0; k < count; ++k) {
      const auto client = static_cast<std::int32_t>(in.i64());
      l.second[client] = in.floats();
      if (l.second[client].size() != d_) throw std::runtime_error("checkpoint: a SCAFFOLD c_i has another size");
    }
    if (l.first.size() != d_) throw std::runtime_error("checkpoint: SCAFFOLD's c has another size");
    loaded_ = std::move(l);
    if (be_) move_loaded_state();
  }

 private:
  using Loaded = std::pair<std::vector<float>, std::map<std::int32_t, std::vector<float>>>;

  kernels::Cost do_aggregate(const AggregationContext& ctx, UpdateSet& updates, std::span<float> global) override {
    if (global.size() != d_) throw PolicyError("scaffold: the model has " + std::to_string(global.size()) +
                                               " parameters, built for " + std::to_string(d_));
    kernels::Backend& be = attach(ctx.backend);
    const auto infos = updates.infos();
    const double step = server_lr_ / static_cast<double>(infos.size());
    const double to_mean = 1.0 / population_;
    const float* x = global.data();
    kernels::Cost cost;
    // acc_x = (1 − η_g)·x + Σ (η_g/|S|)·y_i = x + (η_g/|S|)·Σ Δy_i;  acc_c = c + (1/N)·Σ (c_i⁺ − c_i).
    const double keep_x = 1.0 - server_lr_;
    cost += be.weighted_sum(std::span(&x, 1), std::span(&keep_x, 1), d_, false, acc_x_.doubles(), nullptr);
    const float* c = c_.data();
    const double one = 1.0;
    cost += be.weighted_sum(std::span(&c, 1), std::span(&one, 1), d_, false, acc_c_.doubles(), nullptr);
    std::vector<double> weights;
    updates.read([&](std::size_t first, std::span<const float* const> models) {
      weights.assign(models.size(), step);
      cost += be.weighted_sum(models, weights, d_, true, acc_x_.doubles(), nullptr);
      for (std::size_t i = 0; i < models.size(); ++i) {
        const UpdateInfo& u = infos[first + i];
        float* ci = variate(be, u.client);
        const auto w = next_variate_weights(u.local_steps, lr_);
        const std::array<const float*, 4> terms{ci, c, x, models[i]};
        cost += be.weighted_sum(terms, w, d_, false, acc_.doubles(), fresh_.data());
        const std::array<const float*, 2> delta{fresh_.data(), ci};
        const std::array<double, 2> dw{to_mean, -to_mean};
        cost += be.weighted_sum(delta, dw, d_, true, acc_c_.doubles(), nullptr);
        be.copy(fresh_.data(), d_, ci);
      }
    });
    cost += be.weighted_sum({}, {}, d_, true, acc_c_.doubles(), c_.data());
    cost += be.weighted_sum({}, {}, d_, true, acc_x_.doubles(), global.data());
    be.download(c_.data(), d_, host_.data());
    double sq = 0;
    for (float v : host_) sq += static_cast<double>(v) * static_cast<double>(v);
    ctx.metrics.record("server_control_norm", std::sqrt(sq));
    return cost;
  }

  LocalObjective do_local_objective(ClientId, std::int64_t) const override { return {0, true}; }

  kernels::Cost do_write_correction(ClientId client, kernels::Backend& backend, float* out) override {
    kernels::Backend& be = attach(backend);
    const auto it = variates_.find(client.value);
    if (it == variates_.end()) {  // c_i = 0
      be.copy(c_.data(), d_, out);
      return {};
    }
    const std::array<const float*, 2> terms{c_.data(), it->second.data()};
    const std::array<double, 2> w{1, -1};
    return be.weighted_sum(terms, w, d_, false, acc_.doubles(), out);
  }

  WireBytes do_wire_bytes(std::int64_t d) const override {
    const WireBytes one = model_bytes(d);
    return {2 * one.down_bytes, 2 * one.up_bytes};  // (x, c) down, (Δy, Δc) up
  }

  double do_server_flops(std::int64_t n, std::int64_t d) const override {
    // The x and c accumulators start from one item each; per update, its share of the x sum (1 item),
    // c_i⁺ (4 items) and c_i⁺ − c_i into c's sum (2 items). Rounding costs no flop.
    const double dd = static_cast<double>(d), nn = static_cast<double>(n);
    return kernels::contract::weighted_sum_flops(2, dd) + nn * kernels::contract::weighted_sum_flops(1 + 4 + 2, dd);
  }

  std::size_t saved_bytes(std::size_t clients) const { return 8 + (8 + 4 * d_) + 8 + clients * (8 + 8 + 4 * d_); }

  // The backend the state lives on: the first one used; the buffers are made there.
  kernels::Backend& attach(kernels::Backend& be) {
    if (be_ == &be) return be;
    if (be_ != nullptr) throw PolicyError("scaffold: the state already lives on another backend");
    be_ = &be;
    c_ = be.alloc(d_);
    acc_x_ = be.alloc_doubles(d_);
    acc_c_ = be.alloc_doubles(d_);
    acc_ = be.alloc_doubles(d_);
    fresh_ = be.alloc(d_);
    host_.assign(d_, 0.0f);
    if (loaded_) move_loaded_state();
    return be;
  }

  void move_loaded_state() {
    be_->upload(loaded_->first.data(), d_, c_.data());
    variates_.clear();
    for (const auto& [client, values] : loaded_->second) {
      variates_[client] = be_->alloc(d_);
      be_->upload(values.data(), d_, variates_[client].data());
    }
    loaded_.reset();
  }

  // The client's c_i, materialised (zero) at its first participation.
  float* variate(kernels::Backend& be, ClientId client) {
    auto it = variates_.find(client.value);
    if (it == variates_.end()) it = variates_.emplace(client.value, be.alloc(d_)).first;
    return it->second.data();
  }

  std::vector<float> host_copy(const kernels::Buffer& b, const std::vector<float>* fallback) const {
    if (be_ && b.data()) {
      std::vector<float> v(d_);
      be_->download(b.data(), d_, v.data());
      return v;
    }
    return fallback ? *fallback : std::vector<float>(d_, 0.0f);
  }

  double server_lr_;
  std::size_t d_;
  double population_;
  double lr_;
  std::int64_t most_clients_;
  kernels::Backend* be_ = nullptr;
  kernels::Buffer c_, acc_x_, acc_c_, acc_, fresh_;
  std::map<std::int32_t, kernels::Buffer> variates_;  // c_i by client, in client order
  std::vector<float> host_;
  std::optional<Loaded> loaded_;  // a checkpoint's state, loaded before the first use of a backend
};

}  // namespace

std::unique_ptr<AggregationPolicy> make_scaffold(Params& params, const BuildContext& build) {
  const double server_lr = params.get_double("server_lr", 1.0, 1e-9, 1e3);
  return std::make_unique<Scaffold>(server_lr, build);
}

}  // namespace dtsim::policies
