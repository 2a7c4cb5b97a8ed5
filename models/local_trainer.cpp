// Local training of any Model over the Backend (models/local_trainer.hpp).
//
// One train() call trains its tasks in chunks of `chunk`, in the parallel structure the backend asks
// for (Backend::item_schedule()):
//   batched (cuda): within a chunk every task steps in lockstep, so each Backend call carries one item
//     per task still training (tasks have different step counts: a task drops out once its steps are
//     done);
//   concurrent (cpu): one Backend::for_each_item per chunk; each of its items trains one whole task
//     through all its steps with single-item calls, in the workspace (Lane) of the backend thread that
//     runs it, the biggest tasks first. One fork/join per chunk instead of about ten per step.
// Both are the same code: a Lane steps a group of tasks in lockstep (a chunk, or one task).
//
// One SGD step of a task on a minibatch of b rows: gather X; Model::forward; softmax_xent writes the
// gradient of the minibatch's mean loss, (softmax − onehot) / b, over the logits; Model::backward adds
// it (scaled) to g. Plain SGD: g = the parameters, scale = −lr (the update fused into the gradient
// GEMMs). Otherwise g = a velocity buffer U (the parameters' layout) holding the velocity pre-scaled by
// μ (momentum), scale = 1, and after the backward pass (so every input gradient used the old
// parameters) one Backend::sgd_step over the whole vector:
//   U += λ·p (weight decay); U += μ_prox·(p − from); U += correction; p −= lr·U; U *= μ
// U is zeroed when a task starts.
// Why this is PyTorch's SGD (v_t = μ·v_{t−1} + g_t; p_t = p_{t−1} − lr·v_t; v_0 = 0, g_t holding every
// term) exactly: claim U = μ·v_{t−1} when step t starts. True at t = 1 (U = 0 = μ·v_0). During step t
// the backward pass adds the loss gradient and sgd_step the other terms (p is still p_{t−1}), so
// U = v_t; then p −= lr·U gives p_t; finally U *= μ leaves μ·v_t for step t + 1. In float the
// operations and their order are the ones of the three-pass form (scale v by μ, add the gradient, add
// the terms, subtract lr·v), only the scaling moves to the end of the previous step; it costs one pass
// over p and U per step instead of three, and no beta-scaling pass inside the GEMMs.
#include "models/local_trainer.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/op_contract.hpp"

namespace dtsim::models {

using kernels::ConstMatView;
using kernels::MatView;

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

void check_dataset(const Dataset& d, const Model& model, const char* which) {
  if (d.samples < 0 || static_cast<std::int64_t>(d.x.size()) != d.samples * d.features ||
      static_cast<std::int64_t>(d.y.size()) != d.samples) {
    throw std::invalid_argument(std::string("LocalTrainer: the ") + which + " set's arrays do not match its " +
                                std::to_string(d.samples) + " samples");
  }
  if (d.samples > 0 && d.features != model.input_features()) {
    throw std::invalid_argument(std::string("LocalTrainer: the ") + which + " set has " + std::to_string(d.features) +
                                " features, the model " + std::to_string(model.input_features()) + " inputs");
  }
  for (std::int32_t y : d.y) {
    if (y < 0 || y >= model.classes()) {
      throw std::invalid_argument(std::string("LocalTrainer: the ") + which + " set has label " + std::to_string(y) +
                                  " outside [0, " + std::to_string(model.classes()) + ")");
    }
  }
}

void check_config(const LocalTrainingConfig& c) {
  if (c.batch_size < 1) throw std::invalid_argument("LocalTrainer: batch_size must be >= 1");
  if (c.epochs < 0) throw std::invalid_argument("LocalTrainer: epochs must be >= 0");
  if (!std::isfinite(c.lr)) throw std::invalid_argument("LocalTrainer: lr must be finite");
  if (!(c.momentum >= 0 && c.momentum < 1))
    throw std::invalid_argument("LocalTrainer: momentum must be in [0, 1), got " + std::to_string(c.momentum));
  if (!(c.weight_decay >= 0 && std::isfinite(c.weight_decay)))
    throw std::invalid_argument("LocalTrainer: weight_decay must be finite and >= 0, got " +
                                std::to_string(c.weight_decay));
}

kernels::SgdStep sgd_of(const LocalTrainingConfig& c, const LocalObjective& o) {
  return kernels::SgdStep{static_cast<float>(c.lr), static_cast<float>(c.momentum), static_cast<float>(c.weight_decay),
                          static_cast<float>(o.proximal_mu)};
}

// Rows of the test set per evaluation item, and the items of one evaluation pass: at most 64, and no more
// than fit in 64 MiB of workspace (a CNN's item needs 9 MB), but at least one.
constexpr std::int64_t kEvalRows = 256;
constexpr std::int64_t kEvalItemsPerPass = 64;
constexpr double kEvalWorkspaceBytes = 64.0 * 1024 * 1024;

std::int64_t eval_items_per_pass(const Model& model, std::int64_t items_total) {
  const double item_bytes = 4.0 * static_cast<double>(model.workspace_floats(kEvalRows, false));
  const auto fit = static_cast<std::int64_t>(kEvalWorkspaceBytes / std::max(item_bytes, 1.0));
  return std::min({items_total, kEvalItemsPerPass, std::max<std::int64_t>(fit, 1)});
}

}  // namespace

std::int64_t local_steps(std::int64_t samples, const LocalTrainingConfig& config) {
  if (samples <= 0 || config.epochs <= 0) return 0;
  if (config.batch_size < 1) throw std::invalid_argument("local_steps: batch_size must be >= 1");
  return config.epochs * ceil_div(samples, config.batch_size);
}

std::span<const float> ModelStore::at(std::int64_t version) const {
  const auto it = versions_.find(version);
  if (it == versions_.end()) throw std::out_of_range("ModelStore: no model version " + std::to_string(version));
  return it->second;
}

bool needs_velocity(const LocalTrainingConfig& config, const LocalObjective& objective) {
  return config.momentum != 0 || config.weight_decay != 0 || objective.proximal_mu != 0 || objective.corrected;
}

double update_flops_per_step(const Model& model, const LocalTrainingConfig& config, const LocalObjective& objective) {
  check_config(config);
  if (!needs_velocity(config, objective)) return 0;
  return kernels::contract::sgd_step_flops(sgd_of(config, objective), objective.corrected,
                                           static_cast<double>(model.parameter_count()));
}

TrainerMemory trainer_memory(const Model& model, const LocalTrainingConfig& config, std::int64_t test_samples,
                             bool with_velocity) {
  const auto d = static_cast<double>(model.parameter_count());
  const std::int64_t rows = std::max<std::int64_t>(config.batch_size, 1);
  TrainerMemory m;
  m.per_slot = 4 * (d * (with_velocity ? 2 : 1) + static_cast<double>(rows * model.input_features()) +
                    static_cast<double>(model.workspace_floats(rows, true))) +
               4 * static_cast<double>(rows);
  m.shared = with_velocity ? 4 * d : 0;
  m.per_thread = model.backend_scratch_bytes(rows);
  if (test_samples > 0) {
    m.evaluation_items = eval_items_per_pass(model, ceil_div(test_samples, kEvalRows));
    m.evaluation_rows = kEvalRows;
    m.layer_outputs = static_cast<std::int64_t>(model.workspace_floats(1, false));
    m.evaluation = 4 * (static_cast<double>(m.evaluation_items) *
                            static_cast<double>(model.workspace_floats(kEvalRows, false)) +
                        d);
  }
  return m;
}

struct LocalTrainer::Impl {
  // One task's workspace in a lane: its parameters, velocity, minibatch input and the model's workspace,
  // in backend memory, plus its host-side sample order and labels. Allocated once, reused.
  struct Slot {
    kernels::Buffer params;
    kernels::Buffer velocity;    // pre-scaled by momentum; allocated for the first task that needs it
    kernels::Buffer x;           // the minibatch input, rows_cap × features
    kernels::Buffer workspace;   // Model::workspace_floats(rows_cap, true)
    std::vector<std::int32_t> order;   // this epoch's sample order
    std::vector<std::int32_t> labels;  // labels of the current minibatch

    // The task being trained.
    const TrainTask* task = nullptr;
    bool plain = true;
    const float* from = nullptr;        // its start version in backend memory (the proximal anchor)
    const float* corr = nullptr;        // its correction in backend memory, or null
    std::int64_t steps = 0, steps_per_epoch = 0;
    std::int64_t b = 0;                  // rows of the current minibatch
    const std::int32_t* rows = nullptr;  // its sample indices
    double loss_sum = 0, loss_sq_sum = 0;
    std::int64_t correct = 0, samples_seen = 0;
  };

  // A lane trains one group of tasks in lockstep, with its own slots and argument arrays. A batched
  // backend gets one lane, its group a chunk; a concurrent backend one lane per backend thread, each
  // group a single task, the lanes running at the same time (for_each_item).
  struct Lane {
    std::vector<Slot> slots;
    std::vector<Slot*> active;
    CallArgs args;
    std::vector<ModelItem> items, sub;
    std::vector<MatView> logits, views;
    std::vector<float*> g, p, v;
    std::vector<const float*> anchor, corr;
    std::vector<const std::int32_t*> idx;
    std::vector<double> loss, loss_sq;
    std::vector<std::int64_t> correct;
  };

  kernels::Backend& be;
  const Model& model;
  std::size_t params_n = 0;
  const Dataset& train;
  const Dataset& test;
  LocalTrainingConfig config;
  std::uint64_t seed;
  std::int64_t chunk;
  double train_flops_sample = 0;

  kernels::Buffer train_copy, test_copy;  // only for backends that cannot read host memory
  ConstMatView train_x, test_x;
  std::vector<Lane> lanes;
  std::int64_t rows_cap = 0;
  std::size_t workspace_n = 0;
  kernels::Buffer zeros;  // params_n zeros, the velocity of a task that starts
  // This call's start versions in backend memory (uploaded copies for backends that cannot view host).
  std::map<std::int64_t, const float*> version_ptr;
  std::map<std::int64_t, kernels::Buffer> version_copy;
  kernels::Buffer eval_params, eval_ws;

  Impl(kernels::Backend& backend, const Model& m, const Dataset& tr, const Dataset& te, LocalTrainingConfig c,
       std::uint64_t sd, std::int64_t ch)
      : be(backend),
        model(m),
        params_n(static_cast<std::size_t>(m.parameter_count())),
        train(tr),
        test(te),
        config(c),
        seed(sd),
        chunk(ch) {
    if (chunk < 1) throw std::invalid_argument("LocalTrainer: chunk must be >= 1, got " + std::to_string(chunk));
    check_config(config);
    check_dataset(train, model, "training");
    check_dataset(test, model, "test");
    train_flops_sample = model.train_flops_per_sample();
    train_x = to_backend(train, train_copy);
    test_x = to_backend(test, test_copy);
  }

  ConstMatView to_backend(const Dataset& d, kernels::Buffer& copy) {
    const std::size_t n = d.x.size();
    const std::int64_t f = model.input_features();
    if (n == 0) return ConstMatView(nullptr, 0, f, f);
    const float* p = be.view_host(d.x.data(), n);
    if (!p) {
      copy = be.alloc(n);
      be.upload(d.x.data(), n, copy.data());
      p = copy.data();
    }
    return ConstMatView(p, d.samples, d.features, d.features);
  }

  const float* on_backend(std::span<const float> host, kernels::Buffer& copy) {
    if (const float* p = be.view_host(host.data(), host.size())) return p;
    if (copy.size() < host.size()) copy = be.alloc(host.size());
    be.upload(host.data(), host.size(), copy.data());
    return copy.data();
  }

  // At least n_lanes lanes of at least n slots each, with room for minibatches of `rows` rows. Grows
  // rarely: once per trainer in the usual case, never inside the step loop; called before any fork.
  void ensure_lanes(std::size_t n_lanes, std::size_t n, std::int64_t rows, bool velocity) {
    if (lanes.size() < n_lanes) lanes.resize(n_lanes);
    const auto features = static_cast<std::size_t>(model.input_features());
    if (rows > rows_cap) {
      rows_cap = rows;
      workspace_n = model.workspace_floats(rows_cap, true);
      for (Lane& g : lanes) {
        for (Slot& s : g.slots) {
          s.x = be.alloc(static_cast<std::size_t>(rows_cap) * features);
          s.workspace = be.alloc(workspace_n);
          s.labels.resize(static_cast<std::size_t>(rows_cap));
        }
      }
    }
    if (velocity && !zeros.data()) zeros = be.alloc(params_n);
    for (std::size_t lane = 0; lane < n_lanes; ++lane) {
      Lane& g = lanes[lane];
      while (g.slots.size() < n) {
        Slot s;
        s.params = be.alloc(params_n);
        s.x = be.alloc(static_cast<std::size_t>(rows_cap) * features);
        s.workspace = be.alloc(workspace_n);
        s.labels.resize(static_cast<std::size_t>(rows_cap));
        g.slots.push_back(std::move(s));
      }
      if (velocity) {
        for (std::size_t k = 0; k < n; ++k) {
          if (!g.slots[k].velocity.data()) g.slots[k].velocity = be.alloc(params_n);
        }
      }
      g.active.reserve(n);
      g.items.reserve(n);
      g.sub.reserve(n);
      g.logits.reserve(n);
      g.views.reserve(n);
      for (auto* vec : {&g.g, &g.p, &g.v}) vec->reserve(n);
      g.anchor.reserve(n);
      g.corr.reserve(n);
      g.idx.reserve(n);
      g.loss.reserve(n);
      g.loss_sq.reserve(n);
      g.correct.reserve(n);
    }
  }

  std::vector<TrainResult> run(std::span<const TrainTask> tasks, const ModelStore& store) {
    bool any_velocity = false;
    version_ptr.clear();
    for (const TrainTask& t : tasks) {
      const auto from = store.at(t.from);
      if (from.size() != params_n) {
        throw std::invalid_argument("LocalTrainer::train: model version " + std::to_string(t.from) + " has " +
                                    std::to_string(from.size()) + " parameters, expected " + std::to_string(params_n));
      }
      if (t.objective.corrected != (t.objective.correction != nullptr)) {
        throw std::invalid_argument("LocalTrainer::train: client " + std::to_string(t.client) +
                                    (t.objective.corrected ? " is corrected but has no correction"
                                                           : " has a correction but is not corrected"));
      }
      for (std::int32_t i : t.samples) {
        if (i < 0 || i >= train.samples) {
          throw std::invalid_argument("LocalTrainer::train: client " + std::to_string(t.client) +
                                      " has sample index " + std::to_string(i) + " outside [0, " +
                                      std::to_string(train.samples) + ")");
        }
      }
      if (!version_ptr.count(t.from)) version_ptr[t.from] = on_backend(from, version_copy[t.from]);
      any_velocity = any_velocity || needs_velocity(config, t.objective);
    }
    std::vector<TrainResult> results(tasks.size());
    const bool concurrent = be.item_schedule() == kernels::ItemSchedule::concurrent;
    const auto n_lanes = static_cast<std::size_t>(concurrent ? std::max(1, be.threads()) : 1);
    std::vector<std::size_t> order;
    for (std::size_t first = 0; first < tasks.size(); first += static_cast<std::size_t>(chunk)) {
      const std::size_t count = std::min(tasks.size() - first, static_cast<std::size_t>(chunk));
      const auto chunk_tasks = tasks.subspan(first, count);
      const auto chunk_out = std::span(results).subspan(first, count);
      std::int64_t rows = 1;
      for (const TrainTask& t : chunk_tasks) rows = std::max(rows, static_cast<std::int64_t>(t.samples.size()));
      rows = std::min(rows, config.batch_size);
      if (!concurrent) {
        ensure_lanes(1, count, rows, any_velocity);
        train_group(lanes[0], chunk_tasks, chunk_out);
        continue;
      }
      // Concurrent: every lane trains whole tasks, one at a time, the biggest first (so the last ones to
      // finish are small); the order changes no result.
      ensure_lanes(n_lanes, 1, rows, any_velocity);
      order.resize(count);
      for (std::size_t k = 0; k < count; ++k) order[k] = k;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return chunk_tasks[a].samples.size() > chunk_tasks[b].samples.size();
      });
      be.for_each_item(static_cast<std::int64_t>(count), [&](std::int64_t i, int lane) {
        if (lane < 0 || static_cast<std::size_t>(lane) >= n_lanes) {
          throw std::logic_error("LocalTrainer: the backend ran an item on lane " + std::to_string(lane) + " of " +
                                 std::to_string(n_lanes));
        }
        const std::size_t k = order[static_cast<std::size_t>(i)];
        train_group(lanes[static_cast<std::size_t>(lane)], chunk_tasks.subspan(k, 1), chunk_out.subspan(k, 1));
      });
    }
    version_copy.clear();
    return results;
  }

  // Trains the tasks of `tasks` in lockstep in lane g (which has at least tasks.size() slots).
  void train_group(Lane& g, std::span<const TrainTask> tasks, std::span<TrainResult> out) {
    std::int64_t max_steps = 0;
    for (std::size_t k = 0; k < tasks.size(); ++k) {
      Slot& s = g.slots[k];
      const TrainTask& t = tasks[k];
      s.task = &t;
      LocalTrainingConfig c = config;
      if (t.epochs >= 0) c.epochs = t.epochs;
      const auto samples = static_cast<std::int64_t>(t.samples.size());
      s.steps = local_steps(samples, c);
      if (t.max_steps >= 0) s.steps = std::min(s.steps, t.max_steps);
      s.steps_per_epoch = ceil_div(samples, config.batch_size);
      s.plain = !needs_velocity(config, t.objective);
      s.from = version_ptr.at(t.from);
      s.corr = t.objective.correction;
      s.loss_sum = s.loss_sq_sum = 0;
      s.correct = s.samples_seen = 0;
      s.b = 0;
      if (s.steps == 0) continue;
      s.order.reserve(t.samples.size());  // the shuffles in the step loop then never allocate
      be.copy(s.from, params_n, s.params.data());
      // Every task starts with a zero velocity (a fresh optimizer); a copy, so it costs no flops.
      if (!s.plain) be.copy(zeros.data(), params_n, s.velocity.data());
      max_steps = std::max(max_steps, s.steps);
    }
    for (std::int64_t step_index = 0; step_index < max_steps; ++step_index) {
      g.active.clear();
      for (std::size_t k = 0; k < tasks.size(); ++k) {
        if (step_index < g.slots[k].steps) g.active.push_back(&g.slots[k]);
      }
      step(g, step_index);
    }
    for (std::size_t k = 0; k < tasks.size(); ++k) {
      const Slot& s = g.slots[k];
      TrainResult& r = out[k];
      r.params.resize(params_n);
      be.download(s.steps == 0 ? s.from : s.params.data(), params_n, r.params.data());
      r.steps = s.steps;
      r.samples_seen = s.samples_seen;
      r.loss_sum = s.loss_sum;
      r.loss_sq_sum = s.loss_sq_sum;
      r.correct = s.correct;
      const double update =
          s.plain ? 0.0
                  : kernels::contract::sgd_step_flops(sgd_of(config, s.task->objective), s.corr != nullptr,
                                                      static_cast<double>(params_n));
      r.flops = static_cast<double>(s.samples_seen) * train_flops_sample + static_cast<double>(s.steps) * update;
    }
  }

  void step(Lane& g, std::int64_t s_index) {
    const std::size_t n = g.active.size();
    const auto features = model.input_features();
    g.idx.resize(n);
    g.views.resize(n);
    g.items.resize(n);
    g.logits.resize(n);
    // Minibatch rows and labels (host), then the gather into X.
    for (std::size_t i = 0; i < n; ++i) {
      Slot& s = *g.active[i];
      const std::int64_t epoch = s_index / s.steps_per_epoch;
      const std::int64_t j = s_index % s.steps_per_epoch;
      const auto samples = static_cast<std::int64_t>(s.task->samples.size());
      if (j == 0) shuffle(s, epoch);
      s.rows = s.order.data() + j * config.batch_size;
      s.b = std::min(config.batch_size, samples - j * config.batch_size);
      for (std::int64_t r = 0; r < s.b; ++r)
        s.labels[static_cast<std::size_t>(r)] = train.y[static_cast<std::size_t>(s.rows[r])];
      s.samples_seen += s.b;
      g.idx[i] = s.rows;
      g.views[i] = MatView{s.x.data(), s.b, features, features};
      Rng dropout_stream(seed, "dropout", static_cast<std::uint64_t>(static_cast<std::int64_t>(s.task->client)),
                         static_cast<std::uint64_t>(s.task->round), static_cast<std::uint64_t>(s_index));
      g.items[i] = ModelItem{s.params.data(), ConstMatView(g.views[i]), s.workspace.data(), rows_cap,
                             dropout_stream.next_u64()};
    }
    be.gather_rows(train_x, g.idx, g.views);
    model.forward(be, g.items, true, g.args, g.logits);
    softmax_grouped(g);

    // Backward: plain-SGD tasks add −lr·∇ into their parameters, the others accumulate into their
    // velocity; one call when all tasks are of one kind (the usual case), else one per kind.
    std::size_t plain_count = 0;
    for (const Slot* s : g.active) plain_count += s->plain ? 1 : 0;
    for (const bool plain : {true, false}) {
      g.sub.clear();
      g.g.clear();
      for (std::size_t i = 0; i < n; ++i) {
        Slot& s = *g.active[i];
        if (s.plain != plain) continue;
        if (plain_count != 0 && plain_count != n) g.sub.push_back(g.items[i]);
        g.g.push_back(plain ? s.params.data() : s.velocity.data());
      }
      if (g.g.empty()) continue;
      const std::span<const ModelItem> items = g.sub.empty() ? std::span<const ModelItem>(g.items) : g.sub;
      model.backward(be, items, plain ? -static_cast<float>(config.lr) : 1.0f, g.g, g.args);
    }
    update_from_velocity(g);
  }

  // One sgd_step per distinct proximal μ among the active non-plain tasks (usually one).
  void update_from_velocity(Lane& g) {
    std::size_t done = 0;
    for (const Slot* s : g.active) done += s->plain ? 1 : 0;
    double mu = -1;
    while (done < g.active.size()) {
      double next = -1;
      for (const Slot* s : g.active) {
        const double m = s->task->objective.proximal_mu;
        if (!s->plain && m > mu && (next < 0 || m < next)) next = m;
      }
      mu = next;
      g.p.clear();
      g.v.clear();
      g.anchor.clear();
      g.corr.clear();
      bool any_corr = false;
      for (const Slot* s : g.active) {
        if (s->plain || s->task->objective.proximal_mu != mu) continue;
        g.p.push_back(s->params.data());
        g.v.push_back(s->velocity.data());
        g.anchor.push_back(s->from);
        g.corr.push_back(s->corr);
        any_corr = any_corr || s->corr != nullptr;
      }
      const kernels::SgdStep st = sgd_of(config, LocalObjective{mu, {}});
      be.sgd_step(st, g.p, g.v, mu != 0 ? std::span<const float* const>(g.anchor) : std::span<const float* const>(),
                  any_corr ? std::span<const float* const>(g.corr) : std::span<const float* const>(), params_n);
      done += g.p.size();
    }
  }

  // softmax_xent per distinct minibatch size (grad_scale = 1/b differs for a short last minibatch).
  void softmax_grouped(Lane& g) {
    std::size_t done = 0;
    std::int64_t b = 0;
    while (done < g.active.size()) {
      // The next batch size not handled yet: the smallest one above the previous.
      std::int64_t next = -1;
      for (const Slot* s : g.active) {
        if (s->b > b && (next < 0 || s->b < next)) next = s->b;
      }
      b = next;
      g.views.clear();
      g.idx.clear();
      for (std::size_t i = 0; i < g.active.size(); ++i) {
        if (g.active[i]->b != b) continue;
        g.views.push_back(g.logits[i]);
        g.idx.push_back(g.active[i]->labels.data());
      }
      g.loss.assign(g.views.size(), 0.0);
      g.loss_sq.assign(g.views.size(), 0.0);
      g.correct.assign(g.views.size(), 0);
      be.softmax_xent(g.views, g.idx, true, 1.0f / static_cast<float>(b), g.loss, g.loss_sq, g.correct);
      std::size_t k = 0;
      for (Slot* s : g.active) {
        if (s->b != b) continue;
        s->loss_sum += g.loss[k];
        s->loss_sq_sum += g.loss_sq[k];
        s->correct += g.correct[k];
        ++k;
      }
      done += g.views.size();
    }
  }

  void shuffle(Slot& s, std::int64_t epoch) const {
    const auto& samples = s.task->samples;
    s.order.assign(samples.begin(), samples.end());
    Rng rng(seed, "shuffle", static_cast<std::uint64_t>(static_cast<std::int64_t>(s.task->client)),
            static_cast<std::uint64_t>(s.task->round), static_cast<std::uint64_t>(epoch));
    for (std::size_t i = s.order.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(rng.below(i));
      std::swap(s.order[i - 1], s.order[j]);
    }
  }

  Evaluation evaluate(std::span<const float> params, LocalTrainer::EvalSet set) {
    const Dataset& data = set == LocalTrainer::EvalSet::train ? train : test;
    const ConstMatView& data_x = set == LocalTrainer::EvalSet::train ? train_x : test_x;
    if (params.size() != params_n) {
      throw std::invalid_argument("LocalTrainer::evaluate: model has " + std::to_string(params.size()) +
                                  " parameters, expected " + std::to_string(params_n));
    }
    if (data.samples == 0) throw std::invalid_argument("LocalTrainer::evaluate: the evaluated set is empty");
    const std::int64_t items_total = ceil_div(data.samples, kEvalRows);
    const std::int64_t per_pass = eval_items_per_pass(model, items_total);
    const std::size_t ws_per_item = model.workspace_floats(kEvalRows, false);
    if (!eval_params.data()) eval_params = be.alloc(params_n);
    if (eval_ws.size() < ws_per_item * static_cast<std::size_t>(per_pass)) {
      eval_ws = be.alloc(ws_per_item * static_cast<std::size_t>(per_pass));
    }
    be.upload(params.data(), params_n, eval_params.data());

    CallArgs args;
    std::vector<ModelItem> items;
    std::vector<MatView> logits;
    std::vector<const std::int32_t*> labels;
    std::vector<double> loss;
    std::vector<std::int64_t> correct;
    double loss_sum = 0;
    std::int64_t hits = 0;
    for (std::int64_t first = 0; first < items_total; first += per_pass) {
      const auto n = static_cast<std::size_t>(std::min(per_pass, items_total - first));
      items.resize(n);
      logits.resize(n);
      labels.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t row0 = (first + static_cast<std::int64_t>(i)) * kEvalRows;
        const std::int64_t rows = std::min(kEvalRows, data.samples - row0);
        items[i] = ModelItem{eval_params.data(), ConstMatView(data_x.data + row0 * data_x.ld, rows, data_x.cols, data_x.ld),
                             eval_ws.data() + ws_per_item * i, kEvalRows, 0};
        labels[i] = data.y.data() + row0;
      }
      model.forward(be, items, false, args, logits);
      loss.assign(n, 0.0);
      correct.assign(n, 0);
      be.softmax_xent(logits, labels, false, 1.0f, loss, {}, correct);
      for (std::size_t i = 0; i < n; ++i) {
        loss_sum += loss[i];
        hits += correct[i];
      }
    }
    const auto total = static_cast<double>(data.samples);
    return Evaluation{loss_sum / total, static_cast<double>(hits) / total};
  }
};

LocalTrainer::LocalTrainer(kernels::Backend& backend, const Model& model, const Dataset& train, const Dataset& test,
                           LocalTrainingConfig config, std::uint64_t seed, std::int64_t chunk)
    : impl_(std::make_unique<Impl>(backend, model, train, test, config, seed, chunk)) {}

LocalTrainer::~LocalTrainer() = default;

std::vector<TrainResult> LocalTrainer::train(std::span<const TrainTask> tasks, const ModelStore& store) {
  return impl_->run(tasks, store);
}

Evaluation LocalTrainer::evaluate(std::span<const float> params, EvalSet set) { return impl_->evaluate(params, set); }

}  // namespace dtsim::models
