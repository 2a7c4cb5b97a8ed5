// FedProx synthetic(alpha, beta) data: Li, Sahu, Zaheer, Sanjabi, Talwalkar, Smith, "Federated
// Optimization in Heterogeneous Networks", MLSys 2020, §5.1; generator as in litian96/FedProx
// data/synthetic_1_1/generate_synthetic.py and data/synthetic_iid/generate_iid.py
// (shared/reference/POLICIES.md §1.2). Same distributions, not the same bits: every user draws from
// its own keyed stream Rng(seed, "synthetic", user), so a user's data do not depend on the others.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "models/dataset.hpp"
#include "models/dataset_source.hpp"
#include "sim/common/rng.hpp"

namespace dtsim::models {
namespace {

// The lognormal(4, 2) sample count has a heavy tail (P(n_k > 1e5) is about 1e-4 per user); the cap
// bounds memory at 100,000 × dimension floats per user and changes nothing in the bulk.
constexpr std::int64_t k_max_user_samples = 100'000;
constexpr std::int64_t k_min_user_samples = 50;

void validate(const SyntheticParams& params) {
  std::string errors;
  auto check = [&errors](bool ok, const std::string& message) {
    if (!ok) errors += (errors.empty() ? "" : "; ") + message;
  };
  check(params.users >= 1, "users must be >= 1, got " + std::to_string(params.users));
  check(params.dimension >= 1, "dimension must be >= 1, got " + std::to_string(params.dimension));
  check(params.classes >= 1, "classes must be >= 1, got " + std::to_string(params.classes));
  check(std::isfinite(params.alpha) && params.alpha >= 0, "alpha must be finite and >= 0");
  check(std::isfinite(params.beta) && params.beta >= 0, "beta must be finite and >= 0");
  if (!errors.empty()) throw std::invalid_argument("synthetic: " + errors);
}

// n_k = int(lognormal(4, 2)) + 50, the first draw of a user's stream; the comparison in double avoids
// overflowing the integer cast.
std::int64_t draw_sample_count(Rng& rng) {
  const double lognormal = std::exp(4.0 + 2.0 * rng.normal());
  const double capped = std::min(lognormal, static_cast<double>(k_max_user_samples - k_min_user_samples));
  return static_cast<std::int64_t>(capped) + k_min_user_samples;
}

std::int64_t train_share(std::int64_t samples) {
  return static_cast<std::int64_t>(0.9 * static_cast<double>(samples));
}

// Draws, in this order, n_k and the user's hidden model from `rng`; generate_synthetic then draws the
// samples and the shuffle from the same stream. For iid, W and b come from the shared stream.
SyntheticUserModel draw_user_model(const SyntheticParams& params, std::uint64_t seed, Rng& rng) {
  const auto dim = static_cast<std::size_t>(params.dimension);
  const auto classes = static_cast<std::size_t>(params.classes);
  SyntheticUserModel model;
  model.samples = draw_sample_count(rng);
  model.mean.assign(dim, 0.0);
  model.w.resize(dim * classes);
  model.b.resize(classes);
  if (params.iid) {
    Rng shared(seed, "synthetic_shared");
    for (double& v : model.w) v = shared.normal();
    for (double& v : model.b) v = shared.normal();
    return model;
  }
  const double u_k = rng.normal(0.0, params.alpha);  // mean of W_k and of b_k (numpy: alpha is a std)
  const double b_k = rng.normal(0.0, params.beta);   // mean of v_k (beta is a std)
  for (double& v : model.mean) v = rng.normal(b_k, 1.0);
  for (double& v : model.w) v = rng.normal(u_k, 1.0);
  for (double& v : model.b) v = rng.normal(u_k, 1.0);
  return model;
}

void append_sample(Dataset& to, const float* x, std::size_t dim, std::int32_t y) {
  to.x.insert(to.x.end(), x, x + dim);
  to.y.push_back(y);
  ++to.samples;
}

// The generator's memory (generate_synthetic, then what the workload keeps), from every user's sample
// count — the first draw of its stream, cheap — up to k_exact_users users, from the mean beyond.
struct SyntheticFootprint {
  double kept = 0;        // bytes the dataset and the workload keep once generated
  double generating = 0;  // peak bytes while generating
  std::int64_t train = 0, test = 0;
  bool exact = true;
};
constexpr std::int64_t k_exact_users = std::int64_t{1} << 22;

// A std::vector grown one element (or one row) at a time holds capacity for the next power of two; its
// peak resident size is that too: while it grows past a full buffer, the old one and the copy in the new
// one (twice as large, untouched beyond the copy) are both resident.
double next_pow2(double n) { return n <= 1 ? n : std::exp2(std::ceil(std::log2(n))); }

SyntheticFootprint synthetic_footprint(const SyntheticParams& params, std::uint64_t seed) {
  SyntheticFootprint f;
  const double users = static_cast<double>(params.users);
  const double dim = static_cast<double>(params.dimension), classes = static_cast<double>(params.classes);
  double largest = 0, index_capacity = 0;  // the largest user (its temporaries); Σ capacity of the users' index lists
  if (params.users <= k_exact_users) {
    for (std::int64_t user = 0; user < params.users; ++user) {
      const auto s = synthetic_user_sizes(seed, user);
      f.train += s.train;
      f.test += s.test;
      largest = std::max(largest, static_cast<double>(s.train + s.test));
      index_capacity += next_pow2(static_cast<double>(s.train));
    }
  } else {  // the mean ignores the cap: an upper bound; the largest user is at the cap
    f.exact = false;
    const double samples = users * synthetic_mean_samples_per_user();
    f.train = static_cast<std::int64_t>(0.9 * samples);
    f.test = static_cast<std::int64_t>(samples) - f.train;
    largest = static_cast<double>(k_max_user_samples);
    index_capacity = 2 * static_cast<double>(f.train);
  }
  const double train = static_cast<double>(f.train), test = static_cast<double>(f.test);
  const double row = dim * 4 + 4;  // float32 features and an int32 label
  // Per user: the index list's vector and heap headers (24 + 16 bytes) in the dataset and in the
  // workload's copy, and the train count in both.
  const double per_user = 2 * (24 + 16) + 2 * 8;
  f.kept = (train + test) * row + 4 * train + 4 * index_capacity + users * per_user;
  // While generating: the pooled sets at their grown capacity, the index lists, the train counts, and the
  // largest user's temporaries (x, y, the shuffle order; its mean, W and b in double, and the stddevs).
  f.generating = (next_pow2(train) + next_pow2(test)) * row + 4 * index_capacity + users * (24 + 16) +
                 8 * next_pow2(users) + largest * (dim * 4 + 4 + 8) + (dim * classes + classes + 2 * dim) * 8;
  return f;
}

}  // namespace

SyntheticUserSizes synthetic_user_sizes(std::uint64_t seed, std::int64_t user) {
  Rng rng(seed, "synthetic", static_cast<std::uint64_t>(user));
  const std::int64_t n = draw_sample_count(rng);
  return {train_share(n), n - train_share(n)};
}

double synthetic_mean_samples_per_user() {
  // E[lognormal(4, 2)] + 50 = e^(4 + 2²/2) + 50, ignoring the cap (an upper bound).
  return std::exp(6.0) + static_cast<double>(k_min_user_samples);
}

SyntheticUserModel synthetic_user_model(const SyntheticParams& params, std::uint64_t seed, std::int64_t user) {
  validate(params);
  if (user < 0 || user >= params.users) {
    throw std::invalid_argument("synthetic: user " + std::to_string(user) + " out of range [0, " +
                                std::to_string(params.users) + ")");
  }
  Rng rng(seed, "synthetic", static_cast<std::uint64_t>(user));
  return draw_user_model(params, seed, rng);
}

LoadedData generate_synthetic(const SyntheticParams& params, std::uint64_t seed) {
  validate(params);
  const auto dim = static_cast<std::size_t>(params.dimension);
  const auto classes = static_cast<std::size_t>(params.classes);
  // x_j = v_k[j] + sqrt(Σ_jj)·N(0, 1) with Σ = diag(j^-1.2), j = 1..dimension.
  std::vector<double> stddev(dim);
  for (std::size_t j = 0; j < dim; ++j) stddev[j] = std::sqrt(std::pow(static_cast<double>(j + 1), -1.2));

  LoadedData data;
  for (Dataset* set : {&data.train, &data.test}) {
    set->features = params.dimension;
    set->classes = params.classes;
  }
  data.natural_partition.resize(static_cast<std::size_t>(params.users));

  std::vector<float> x;
  std::vector<std::int32_t> y;
  std::vector<std::size_t> order;
  std::vector<double> logits(classes);
  for (std::int64_t user = 0; user < params.users; ++user) {
    Rng rng(seed, "synthetic", static_cast<std::uint64_t>(user));
    const SyntheticUserModel model = draw_user_model(params, seed, rng);
    const auto n = static_cast<std::size_t>(model.samples);

    x.resize(n * dim);
    y.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      float* row = x.data() + i * dim;
      for (std::size_t j = 0; j < dim; ++j) row[j] = static_cast<float>(model.mean[j] + stddev[j] * rng.normal());
      // y = argmax(x·W_k + b_k) on the stored (float) x, so the label is exact for the data handed out.
      for (std::size_t c = 0; c < classes; ++c) logits[c] = model.b[c];
      for (std::size_t j = 0; j < dim; ++j) {
        const double xj = row[j];
        const double* w_row = model.w.data() + j * classes;
        for (std::size_t c = 0; c < classes; ++c) logits[c] += xj * w_row[c];
      }
      std::size_t best = 0;
      for (std::size_t c = 1; c < classes; ++c) {
        if (logits[c] > logits[best]) best = c;
      }
      y[i] = static_cast<std::int32_t>(best);
    }

    // Per-user shuffle (Fisher–Yates), then the first int(0.9 n_k) train and the rest test.
    order.resize(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
    const auto train_len = static_cast<std::size_t>(train_share(model.samples));

    data.natural_sizes.push_back(static_cast<std::int64_t>(train_len));
    auto& indices = data.natural_partition[static_cast<std::size_t>(user)];
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t s = order[i];
      if (i < train_len) {
        if (data.train.samples >= std::numeric_limits<std::int32_t>::max()) {
          throw std::invalid_argument("synthetic: more than 2^31-1 training samples; use fewer users");
        }
        indices.push_back(static_cast<std::int32_t>(data.train.samples));
        append_sample(data.train, x.data() + s * dim, dim, y[s]);
      } else {
        append_sample(data.test, x.data() + s * dim, dim, y[s]);
      }
    }
  }
  return data;
}

}  // namespace dtsim::models

namespace dtsim::models {
namespace {

class SyntheticSource final : public DatasetSource {
 public:
  SyntheticSource(const DatasetSpec& spec, const DataContext& context) : seed_(context.seed) {
    params_.alpha = spec.alpha;
    params_.beta = spec.beta;
    params_.iid = spec.iid;
    params_.users = context.clients;
    params_.dimension = spec.dimension;
    params_.classes = spec.classes;
  }
  std::int64_t features() const override { return params_.dimension; }
  std::int64_t classes() const override { return params_.classes; }
  std::vector<MemoryPart> memory(const DataNeeds& needs, DataSizes* sizes = nullptr) const override {
    const double users = static_cast<double>(params_.users);
    if (!needs.features) {
      // Sizes only: the dataset's per-user train counts and the workload's copy, 8 bytes each per user.
      if (sizes) *sizes = {0, 0};
      return {{"data", users * 16, "(sample counts of " + std::to_string(params_.users) + " users)",
               "platform.clients.count"}};
    }
    const SyntheticFootprint f = synthetic_footprint(params_, seed_);
    if (sizes) *sizes = {f.train, f.test};
    const std::string counts = f.exact
                                   ? std::to_string(f.train) + " train + " + std::to_string(f.test) + " test samples"
                                   : "about " + std::to_string(f.train + f.test) + " samples";
    return {{"data", std::max(f.kept, f.generating),
             "(" + counts + " of " + std::to_string(params_.dimension) + " features; " +
                 (f.generating > f.kept ? "the peak while generating" : "kept") + ")",
             "platform.clients.count"}};
  }
  LoadedData load(const DataNeeds& needs) const override {
    if (needs.features) {
      try {
        return generate_synthetic(params_, seed_);
      } catch (const std::invalid_argument& e) {
        throw DataError(e.what(), "workload.dataset");
      }
    }
    // Sizes only: the first draw of every user's stream, exactly as generate_synthetic splits them.
    LoadedData data;
    for (auto* set : {&data.train, &data.test}) {
      set->features = params_.dimension;
      set->classes = params_.classes;
    }
    data.natural_sizes.reserve(static_cast<std::size_t>(params_.users));
    for (std::int64_t user = 0; user < params_.users; ++user) {
      const auto sizes = synthetic_user_sizes(seed_, user);
      data.natural_sizes.push_back(sizes.train);
      data.train.samples += sizes.train;
      data.test.samples += sizes.test;
    }
    return data;
  }

 private:
  SyntheticParams params_;
  std::uint64_t seed_;
};

}  // namespace

std::unique_ptr<DatasetSource> make_synthetic_source(const DatasetSpec& spec, const DataContext& context) {
  return std::make_unique<SyntheticSource>(spec, context);
}

}  // namespace dtsim::models
