#include "sim/scenario/scenario.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_map>

#include "sim/scenario/yaml_reader.hpp"

namespace dtsim {

namespace {

constexpr std::int64_t kBillion = 1'000'000'000;
constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();
constexpr double kHuge = std::numeric_limits<double>::max();
constexpr std::size_t kMaxNameBytes = 255;  // NAME_MAX: the name becomes a folder name


[[noreturn]] void fail(const std::string& file, int line, int column, const std::string& message) {
  throw ConfigError(std::vector<Diagnostic>{{{file, line, column}, "", message, {}}});
}

// The whole file as text, refusing one larger than `max_bytes` (read at most one byte more, so a device
// such as /dev/zero ends the read too).
std::string read_file(const std::string& path, std::size_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, 0, 0, "cannot read scenario file: it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, 0, 0, std::string("cannot read scenario file: ") + std::strerror(errno));
  std::string text(max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) fail(path, 0, 0, "cannot read scenario file: read error");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_bytes)
    fail(path, 0, 0, fmt::format("the scenario file is larger than {} MiB; a scenario is a few kB", max_bytes >> 20));
  return text;
}

YAML::Node parse_text(const std::string& text, const std::string& file) {
  YamlRead read = read_yaml(text);
  if (read.problem)
    throw ConfigError(std::vector<Diagnostic>{{{file, read.problem->line, read.problem->column},
                                               read.problem->key_path,
                                               read.problem->message,
                                               read.problem->notes}});
  std::vector<YAML::Node>& documents = read.documents;
  if (documents.size() > 1) fail(file, 0, 0, fmt::format("holds {} YAML documents; expected one", documents.size()));
  if (documents.empty() || documents[0].IsNull())
    fail(file, 0, 0, "the scenario is empty; expected a mapping with keys such as platform, workload and training");
  const YAML::Node& root = documents[0];
  if (!root.IsMap())
    fail(file, root.Mark().line + 1, root.Mark().column + 1,
         "expected a mapping at the top level (keys such as platform, workload and training), got " + describe_node(root));
  return root;
}

// A key path under construction, joined into text only when an error needs it (a path can be long:
// 64 levels of 4 kB keys).
class KeyPath {
 public:
  void push_key(std::string_view key) { segments_.push_back({key, 0, false}); }
  void push_index(std::size_t index) { segments_.push_back({{}, index, true}); }
  void pop() { segments_.pop_back(); }
  std::string text() const {
    std::string out;
    for (const auto& s : segments_)
      out += s.is_index ? "[" + std::to_string(s.index) + "]" : (out.empty() ? "" : ".") + std::string(s.key);
    return out;
  }

 private:
  struct Segment {
    std::string_view key;
    std::size_t index;
    bool is_index;
  };
  std::vector<Segment> segments_;
};

// yaml-cpp keeps both pairs of a repeated key, and a lookup would silently take the first. `locate`
// turns a node's mark into the error's location. The walk expands aliases: read_yaml bounds its size.
template <class Locate>
void check_duplicate_keys(const YAML::Node& node, KeyPath& path, const Locate& locate, ErrorList& errors) {
  if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      path.push_index(i);
      check_duplicate_keys(node[i], path, locate, errors);
      path.pop();
    }
  }
  if (!node.IsMap()) return;
  std::unordered_map<std::string_view, int> seen;  // key -> 1-based line (a mapping may hold many keys)
  for (const auto& pair : node) {
    if (!pair.first.IsScalar()) continue;  // reported as an unknown key
    const std::string& key = pair.first.Scalar();
    path.push_key(key);
    const auto [first, is_new] = seen.emplace(key, pair.first.Mark().line + 1);
    if (!is_new)
      errors.add({locate(pair.first.Mark()),
                  path.text(),
                  fmt::format("duplicate key '{}' (first defined at line {})", key, first->second),
                  {}});
    check_duplicate_keys(pair.second, path, locate, errors);
    path.pop();
  }
}

std::vector<std::string> split_key_path(const std::string& key_path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  for (std::size_t dot; (dot = key_path.find('.', start)) != std::string::npos; start = dot + 1)
    segments.push_back(key_path.substr(start, dot - start));
  segments.push_back(key_path.substr(start));
  return segments;
}

bool valid_key_path(const std::string& key_path) {
  for (const auto& segment : split_key_path(key_path))
    if (segment.empty()) return false;
  return true;
}

// Sets root[a][b][c] = value for "a.b.c", creating missing maps; the value text is read as YAML.
void apply_override(YAML::Node root, const Override& o, int index, ParamsContext& ctx) {
  const std::string arg = "--set " + o.key_path + "=" + o.value;
  const Location at{"<command line>", 1, index + 1};
  auto error = [&](const std::string& key_path, const std::string& message) {
    ctx.errors.add({at, key_path, arg + ": " + message, {}});
  };
  if (!valid_key_path(o.key_path)) return error("", "the key has an empty part; expected KEY=VALUE such as a.b=5");
  const auto segments = split_key_path(o.key_path);
  if (segments.size() > static_cast<std::size_t>(YamlLimits{}.max_depth))
    return error("",
                 fmt::format("the key has {} parts; at most {} are accepted", segments.size(), YamlLimits{}.max_depth));
  // The value is read within the same limits as a file (size, depth, aliases expanded).
  YamlRead read = read_yaml(o.value);
  if (read.problem) {
    const auto& problem = *read.problem;
    const std::string_view invalid = "invalid YAML: ";
    const std::string what = problem.message.starts_with(invalid)
                                 ? "the value is not valid YAML: " + problem.message.substr(invalid.size())
                                 : "the value is refused: " + problem.message;
    const std::string& below = problem.key_path;
    return error(
        below.empty() ? o.key_path : o.key_path + (below.starts_with('[') ? "" : ".") + below,
        what + (problem.line > 0 ? fmt::format(" (at line {}, column {} of the value)", problem.line, problem.column)
                                 : ""));
  }
  if (read.documents.size() > 1)
    return error(o.key_path, fmt::format("the value holds {} YAML documents; expected one", read.documents.size()));
  const YAML::Node value = read.documents.empty() ? YAML::Node(YAML::NodeType::Null) : read.documents[0];
  const std::size_t errors_before = ctx.errors.items().size();
  KeyPath path;
  for (const auto& segment : segments) path.push_key(segment);
  check_duplicate_keys(
      value, path, [&](const YAML::Mark&) { return at; }, ctx.errors);
  if (ctx.errors.items().size() != errors_before) return;
  YAML::Node cur = root;  // a handle: reset() moves it, assignment would overwrite the tree
  std::string walked;
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    walked += (walked.empty() ? "" : ".") + segments[i];
    const YAML::Node next = cur[segments[i]];
    if (next.IsDefined() && !next.IsNull() && !next.IsMap())
      return error(walked, "'" + walked + "' is " + describe_node(next) + ", not a mapping, so it has no key '" +
                               segments[i + 1] + "'");
    if (!next.IsMap()) cur[segments[i]] = YAML::Node(YAML::NodeType::Map);
    cur.reset(cur[segments[i]]);
  }
  cur[segments.back()] = value;
  ctx.overrides.push_back({o.key_path, arg, at});
}

bool has_error_at(const ParamsContext& ctx, const std::string& key_path) {
  for (const auto& d : ctx.errors.items())
    if (d.key_path == key_path) return true;
  return false;
}

void not_implemented(Params& p, std::initializer_list<const char*> keys) {
  for (const char* key : keys) p.not_implemented(key);
}

// A real in (0, max]: Params ranges are closed, so the open end is checked here.
double positive_double(Params& p, const std::string& key, double def, double max) {
  const double v = p.get_double(key, def, 0, max);
  if (v <= 0)
    p.error(key, fmt::format("'{}' is out of range; expected a number > 0{}", v,
                             max < kHuge ? fmt::format(" and <= {}", max) : ""));
  return v;
}

// A setting whose only implemented value is 0 (the others are not built yet).
void zero_only(Params& p, const std::string& key, double value) {
  if (value != 0) p.error(key, fmt::format("'{}' is not implemented yet; only 0 is supported", value));
}

bool valid_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

void read_platform(Params p, PlatformSpec& out) {
  out.topology = p.get_choice("topology", {"star", "sites", "cluster", "fat_tree", "xml"}, "star");
  if (out.topology != "star")
    p.error("topology", "topology '" + out.topology + "' is not implemented yet", {"implemented topologies: star"});
  const auto network = p.get_choice("network_model", {"flow", "analytic"}, "flow");
  out.network_model = network == "analytic" ? NetworkModel::analytic : NetworkModel::flow;

  // What SimGrid can simulate (measured with SimGrid 3.32): under the flow model a link slower than about
  // 0.4 bps, or a latency so long that the TCP window allows less than that, stops the run with "The
  // Impossible Did Happen"; a host so slow that a task's time overflows deadlocks it.
  static const QuantityLimits speed_limits{kMinSpeedFlopsPerS, kHuge, "1f", "", "a host slower than 1 flop/s cannot be simulated"};
  static const QuantityLimits bandwidth_limits{kMinBandwidthBytesPerS, kHuge, "1bps", "",
                                               "SimGrid's network solver fails on links slower than about 0.4 bps"};
  static const QuantityLimits latency_limits{
      0, kMaxLatencyS, "", "1d",
      "over a longer latency a TCP flow gets less than 2 B/s (window / round trip), and SimGrid's network "
      "solver fails below about 0.4 bps"};

  Params server = p.child("server");
  out.server.speed_flops_per_s = server.get_quantity("speed", UnitKind::flop_rate, "1Tf", false, &speed_limits);
  out.server.bandwidth_bytes_per_s =
      server.get_quantity("bandwidth", UnitKind::data_rate, "1Gbps", false, &bandwidth_limits);
  out.server.latency_s = server.get_quantity("latency", UnitKind::time, "1ms", true, &latency_limits);
  server.finish();

  Params clients = p.child("clients");
  out.clients.count = clients.get_int("count", std::nullopt, 1, kBillion);
  out.clients.speed = clients.get_distribution("speed", UnitKind::flop_rate, "1Gf", true, &speed_limits);
  out.clients.bandwidth = clients.get_distribution("bandwidth", UnitKind::data_rate, "10Mbps", true, &bandwidth_limits);
  // Zero latency is allowed; the units forbid negative values (a normal may still draw below 0).
  out.clients.latency = clients.get_distribution("latency", UnitKind::time, "20ms", false, &latency_limits);
  clients.not_implemented("trace");
  clients.finish();

  not_implemented(p, {"host_classes", "sites", "workers", "file"});
  p.finish();
}

void read_dynamics(Params p) {
  not_implemented(p, {"straggler", "availability", "crash", "bandwidth_profile"});
  p.finish();
}

void read_dataset(Params p, DatasetSpec& out) {
  out.name = p.get_choice("name", {"fashion_mnist", "synthetic"}, std::nullopt);
  if (out.name == "fashion_mnist") {
    out.path = p.get_string("path", out.path);
    out.max_train = p.get_int("max_train", 0, 0, kMaxInt);
    out.max_test = p.get_int("max_test", 0, 0, kMaxInt);
  } else if (out.name == "synthetic") {
    out.alpha = p.get_double("alpha", 1.0, 0, kHuge);
    out.beta = p.get_double("beta", 1.0, 0, kHuge);
    out.iid = p.get_bool("iid", false);
    out.dimension = p.get_int("dimension", 60, 1, 100'000);
    out.classes = p.get_int("classes", 10, 2, 1000);
  } else {
    return;  // without a valid name its other keys mean nothing
  }
  p.finish();
}

void read_partition(Params p, const std::string& dataset, PartitionSpec& out) {
  const bool synthetic = dataset == "synthetic";
  out.name = p.get_choice("name", {"iid", "dirichlet", "shards", "natural"}, synthetic ? "natural" : "iid");
  if (!dataset.empty() && synthetic && out.name != "natural")
    p.error("name", "partition '" + out.name + "' cannot split the synthetic dataset",
            {"synthetic generates one user per client, so its partition is 'natural' (the default)"});
  if (!dataset.empty() && !synthetic && out.name == "natural")
    p.error("name", "partition 'natural' needs a dataset with natural users (synthetic)",
            {"for " + dataset + " use iid, dirichlet or shards"});
  if (out.name == "dirichlet") out.alpha = positive_double(p, "alpha", 0.5, kHuge);
  if (out.name == "shards") out.shards_per_client = p.get_int("shards_per_client", 2, 1, 1000);
  p.finish();
}

void read_model(Params p, ModelSpec& out) {
  out.name = p.get_choice("name", {"logistic", "mlp", "cnn"}, std::nullopt);
  if (out.name == "cnn") p.error("name", "model 'cnn' is not implemented yet", {"implemented models: logistic, mlp"});
  if (out.name != "logistic" && out.name != "mlp") return;  // its other keys mean nothing
  if (out.name == "mlp") {
    out.hidden = p.get_int_list("hidden", std::vector<std::int64_t>{200}, 1, 65536);
    zero_only(p, "dropout", p.get_double("dropout", 0, 0, 1));
  }
  p.finish();
}

void read_local(Params p, LocalSpec& out) {
  out.epochs = p.get_int("epochs", 1, 1, 100'000);
  out.batch_size = p.get_int("batch_size", 10, 1, kBillion);
  out.lr = positive_double(p, "lr", 0.01, 1e6);
  out.momentum = p.get_double("momentum", 0, 0, 1);
  if (out.momentum >= 1)
    p.error("momentum", fmt::format("'{}' is out of range; expected a number from 0 to below 1", out.momentum),
            {"momentum 1 or more never forgets a gradient, so local SGD diverges"});
  out.weight_decay = p.get_double("weight_decay", 0, 0, kHuge);
  p.not_implemented("epochs_dist");
  p.finish();
}

void read_workload(Params p, WorkloadSpec& out) {
  read_dataset(p.child("dataset"), out.dataset);
  read_partition(p.child("partition"), out.dataset.name, out.partition);
  read_model(p.child("model"), out.model);
  read_local(p.child("local"), out.local);
  not_implemented(p, {"byzantine", "moe"});
  p.finish();
}

// clients_count: nullopt when platform.clients.count was itself invalid.
void read_training(Params p, std::optional<std::int64_t> clients_count, TrainingSpec& out) {
  const auto paradigm = p.get_choice("paradigm", {"federated", "data_parallel", "expert_parallel"}, "federated");
  if (paradigm != "federated")
    p.error("paradigm", "paradigm '" + paradigm + "' is not implemented yet", {"implemented paradigms: federated"});
  out.rounds = p.get_int("rounds", 10, 1, kBillion);
  out.clients_per_round = p.get_int("clients_per_round", 10, 1, kBillion);
  if (clients_count && out.clients_per_round > *clients_count &&
      !has_error_at(p.context(), "training.clients_per_round")) {
    std::vector<std::string> notes;
    if (!p.has("clients_per_round"))
      notes.push_back(fmt::format("clients_per_round defaults to 10; set it to at most {}", *clients_count));
    p.error("clients_per_round",
            fmt::format("clients_per_round ({}) exceeds platform.clients.count ({}): a round cannot select more "
                        "clients than exist",
                        out.clients_per_round, *clients_count),
            std::move(notes));
  }
  out.eval_every = p.get_int("eval_every", 1, 0, kMaxInt);
  out.compute = p.get_choice("compute", {"real", "none"}, "real") == "none" ? ComputeMode::none : ComputeMode::real;
  const auto mode = p.get_choice("mode", {"sync", "async", "buffered"}, "sync");
  if (mode != "sync") p.error("mode", "mode '" + mode + "' is not implemented yet", {"implemented modes: sync"});
  not_implemented(p, {"deadline", "over_selection", "min_completed", "partial_work", "buffer", "concurrency", "steps",
                      "partitions"});
  p.finish();
}

// The policy's mapping stays open: its factory reads the other keys, then finish_validation() checks.
PolicySpec read_policy(Params& policies, const std::string& family, const std::string& def) {
  PolicySpec spec;
  spec.params = std::make_shared<Params>(policies.child(family));
  spec.name = spec.params->get_string("name", def);
  return spec;
}

void read_output(Params p, OutputSpec& out) {
  out.clients_csv = p.get_bool("clients_csv", true);
  out.every = p.get_int("every", 1, 1, kBillion);
  p.finish();
}

}  // namespace

const char* to_string(ParadigmKind p) {
  switch (p) {
    case ParadigmKind::federated:
      return "federated";
    case ParadigmKind::data_parallel:
      return "data_parallel";
    case ParadigmKind::expert_parallel:
      return "expert_parallel";
  }
  return "?";
}

const char* to_string(TrainingMode m) {
  switch (m) {
    case TrainingMode::sync:
      return "sync";
    case TrainingMode::async:
      return "async";
    case TrainingMode::buffered:
      return "buffered";
  }
  return "?";
}

Override parse_override(const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos) throw ConfigError("--set " + arg + ": expected KEY=VALUE, such as training.rounds=5");
  Override o{arg.substr(0, eq), arg.substr(eq + 1)};
  if (o.key_path.empty() || !valid_key_path(o.key_path))
    throw ConfigError("--set " + arg +
                      ": the key is empty or has an empty part; expected KEY=VALUE, such as "
                      "training.rounds=5");
  return o;
}

Scenario read_scenario(const std::string& path, const std::vector<Override>& overrides) {
  return read_scenario_text(read_file(path, YamlLimits{}.max_bytes), path, overrides);
}

Scenario read_scenario_text(const std::string& text, const std::string& file_label,
                            const std::vector<Override>& overrides) {
  const std::string& path = file_label;
  Scenario s;
  s.file = path;
  s.context = std::make_shared<ParamsContext>();
  ParamsContext& ctx = *s.context;
  ctx.file = path;
  const YAML::Node root = parse_text(text, path);
  KeyPath root_path;
  check_duplicate_keys(
      root, root_path,
      [&](const YAML::Mark& m) {
        return Location{path, m.line + 1, m.column + 1};
      },
      ctx.errors);
  for (std::size_t i = 0; i < overrides.size(); ++i) apply_override(root, overrides[i], static_cast<int>(i), ctx);

  Params p(s.context, root, "");
  s.name = p.get_string("name", std::filesystem::path(path).stem().string());
  const std::vector<std::string> name_notes =
      p.has("name") ? std::vector<std::string>{} : std::vector<std::string>{"the default name is the file's stem"};
  if (s.name.size() > kMaxNameBytes)
    p.error("name",
            fmt::format("the name is {} bytes long; a folder name has at most {} bytes", s.name.size(), kMaxNameBytes),
            name_notes);
  else if (!valid_name(s.name))
    p.error("name", "'" + s.name + "' cannot name an output folder; use letters, digits, '_', '.' and '-'", name_notes);
  s.seed = static_cast<std::uint64_t>(p.get_int("seed", 1, 0, kMaxInt));
  p.ignore("provenance");  // written into run.yaml by the run, not read back
  read_platform(p.child("platform"), s.platform);
  read_dynamics(p.child("dynamics"));
  read_workload(p.child("workload"), s.workload);
  const bool count_ok = !has_error_at(ctx, "platform.clients.count");
  read_training(p.child("training"), count_ok ? std::optional(s.platform.clients.count) : std::nullopt, s.training);
  Params policies = p.child("policies");
  s.policies.aggregation = read_policy(policies, "aggregation", "fedavg");
  s.policies.scheduling = read_policy(policies, "scheduling", "uniform");
  not_implemented(policies, {"coding", "placement"});
  policies.finish();
  read_output(p.child("output"), s.output);
  p.finish();
  return s;
}

Scenario load_scenario(const std::string& path, const std::vector<Override>& overrides) {
  Scenario s = read_scenario(path, overrides);
  s.context->errors.throw_if_any();
  return s;
}

void finish_validation(Scenario& scenario) {
  for (auto* spec : {&scenario.policies.aggregation, &scenario.policies.scheduling}) {
    // A rejected policy name makes its other keys meaningless; do not also call them unknown.
    if (spec->params && !has_error_at(*scenario.context, spec->params->key_path() + ".name")) spec->params->finish();
  }
  scenario.context->errors.throw_if_any();
}

std::string resolved_yaml(const Scenario& scenario, const YAML::Node& extra) {
  YAML::Node out = YAML::Clone(scenario.context->resolved);
  if (extra.IsMap())
    for (const auto& pair : extra) out[pair.first.Scalar()] = pair.second;
  YAML::Emitter emitter;
  emitter << out;
  return std::string(emitter.c_str()) + "\n";
}

const std::vector<CatalogEntry>& dataset_catalog() {
  static const std::vector<CatalogEntry> entries{
      {"fashion_mnist",
       "Fashion-MNIST images (28x28, 10 classes) read from idx files",
       {{"path", "/usr/share/datasets/fashion-mnist"}, {"max_train", "0"}, {"max_test", "0"}}},
      {"synthetic",
       "FedProx synthetic(alpha, beta): one generated user per client (Li et al., MLSys 2020)",
       {{"alpha", "1"}, {"beta", "1"}, {"iid", "false"}, {"dimension", "60"}, {"classes", "10"}}},
  };
  return entries;
}

const std::vector<CatalogEntry>& partition_catalog() {
  static const std::vector<CatalogEntry> entries{
      {"iid", "uniform random split into equal shares (default for fashion_mnist)", {}},
      {"dirichlet", "per-class label proportions drawn from Dirichlet(alpha)", {{"alpha", "0.5"}}},
      {"shards", "sorted by label, cut into shards, each client takes shards_per_client", {{"shards_per_client", "2"}}},
      {"natural", "the dataset's own users (synthetic only; its default)", {}},
  };
  return entries;
}

const std::vector<CatalogEntry>& model_catalog() {
  static const std::vector<CatalogEntry> entries{
      {"logistic", "multinomial logistic regression", {}},
      {"mlp", "multilayer perceptron with ReLU hidden layers", {{"hidden", "[200]"}, {"dropout", "0"}}},
  };
  return entries;
}

const std::vector<CatalogEntry>& topology_catalog() {
  static const std::vector<CatalogEntry> entries{
      {"star",
       "one server, every client on its own link to it",
       {{"server.speed", "1Tf"},
        {"server.bandwidth", "1Gbps"},
        {"server.latency", "1ms"},
        {"clients.count", "required"},
        {"clients.speed", "1Gf"},
        {"clients.bandwidth", "10Mbps"},
        {"clients.latency", "20ms"}}},
  };
  return entries;
}

const std::vector<CatalogEntry>& distribution_catalog() {
  static const std::vector<CatalogEntry> entries{
      {"constant", "always value (a bare value means constant)", {{"value", "required"}}},
      {"uniform", "uniform on [min, max]", {{"min", "required"}, {"max", "required"}}},
      {"normal", "normal; redrawn until > 0 for speeds and bandwidths", {{"mean", "required"}, {"stddev", "required"}}},
      {"lognormal", "median * exp(sigma * N(0, 1))", {{"median", "required"}, {"sigma", "required"}}},
      {"choice", "one of values, with optional weights", {{"values", "required"}, {"weights", "equal"}}},
  };
  return entries;
}

}  // namespace dtsim
