#include "sim/scenario/schema.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "sim/scenario/scenario.hpp"

using namespace dtsim;

namespace {

// A valid scenario that reads no file: each test varies one thing through --set.
const std::string kBase =
    "platform: {clients: {count: 20}}\n"
    "workload: {dataset: {name: fashion_mnist}, model: {name: logistic}}\n";

// The ConfigError text of loading `yaml` with `overrides` (policies left unread), or "" when it loads.
std::string errors_of(const std::string& yaml, const std::vector<Override>& overrides = {}, bool strict = false) {
  try {
    Scenario s = read_scenario_text(yaml, "s.yaml", overrides, strict);
    s.context->errors.throw_if_any(strict);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// Every warning of loading `yaml`, formatted, one per line (the load must have no error).
std::string warnings_of(const std::string& yaml, const std::vector<Override>& overrides = {}) {
  const Scenario s = read_scenario_text(yaml, "s.yaml", overrides);
  std::string out;
  for (const auto& d : s.context->errors.items()) out += "unexpected " + format_diagnostic(d) + "\n";
  for (const auto& d : s.context->errors.warnings()) out += format_diagnostic(d) + "\n";
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The resolved text at `path` ("workload.model.hidden" -> "[200]"), or "<absent>".
std::string resolved_at(const Scenario& s, const std::string& path) {
  YAML::Node node = YAML::Clone(s.context->resolved);
  for (std::size_t start = 0, dot = 0; dot != std::string::npos; start = dot + 1) {
    dot = path.find('.', start);
    const std::string segment = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!node.IsMap() || !node[segment]) return "<absent>";
    node.reset(node[segment]);
  }
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter e;
  e << node;
  return e.c_str();
}

// Overrides that select the variant `key` belongs to (its conditions, each with a built value).
// The overrides that make `key` apply: the first built value of each condition of the key and of its
// parents, with what that variant requires (a sites topology needs its count).
std::vector<Override> variant_of(const KeySpec& key) {
  std::vector<Override> out;
  std::vector<const KeySpec*> chain{&key};
  for (auto dot = key.path.rfind('.'); dot != std::string::npos && dot > 0; dot = key.path.rfind('.', dot - 1))
    if (const KeySpec* parent = find_key(key.path.substr(0, dot))) chain.push_back(parent);
  for (const KeySpec* k : chain)
    for (const auto& c : k->when) {
      const KeySpec* controller = find_key(c.key);
      REQUIRE(controller);
      for (const auto& v : c.values)
        if (controller->value(v) && controller->value(v)->status == KeyStatus::built) {
          out.push_back({c.key, v});
          if (c.key == "platform.topology" && v == "sites") out.push_back({"platform.sites.count", "2"});
          break;
        }
    }
  return out;
}

bool below_planned(const KeySpec& key) {
  for (auto dot = key.path.rfind('.'); dot != std::string::npos; dot = key.path.rfind('.', dot - 1)) {
    const KeySpec* parent = find_key(key.path.substr(0, dot));
    if (parent && parent->status == KeyStatus::planned) return true;
    if (dot == 0) break;
  }
  return false;
}

}  // namespace

TEST_SUITE("scenario") {
  TEST_CASE("schema: the table holds every key path of DESIGN's v1 tree") {
    // DESIGN.md, "Scenario schema (v1)", key by key ("*" for a name the user chooses).
    const std::vector<std::string> design{"name",
                                          "seed",
                                          "platform",
                                          "platform.topology",
                                          "platform.network_model",
                                          "platform.solver",
                                          "platform.server",
                                          "platform.server.speed",
                                          "platform.server.bandwidth",
                                          "platform.server.latency",
                                          "platform.host_classes",
                                          "platform.host_classes.*",
                                          "platform.host_classes.*.weight",
                                          "platform.host_classes.*.speed",
                                          "platform.host_classes.*.efficiency",
                                          "platform.host_classes.*.watts_idle",
                                          "platform.host_classes.*.watts_busy",
                                          "platform.clients",
                                          "platform.clients.count",
                                          "platform.clients.speed",
                                          "platform.clients.bandwidth",
                                          "platform.clients.latency",
                                          "platform.clients.trace",
                                          "platform.sites",
                                          "platform.sites.count",
                                          "platform.sites.uplink",
                                          "platform.sites.wan",
                                          "platform.sites.wan.bandwidth",
                                          "platform.sites.wan.latency",
                                          "platform.workers",
                                          "platform.workers.count",
                                          "platform.workers.speed",
                                          "platform.workers.link",
                                          "platform.workers.link.bandwidth",
                                          "platform.workers.link.latency",
                                          "platform.file",
                                          "platform.map",
                                          "platform.map.clients",
                                          "dynamics",
                                          "dynamics.straggler",
                                          "dynamics.availability",
                                          "dynamics.availability.model",
                                          "dynamics.availability.mean_on",
                                          "dynamics.availability.mean_off",
                                          "dynamics.availability.trace",
                                          "dynamics.crash",
                                          "dynamics.crash.probability",
                                          "dynamics.bandwidth_profile",
                                          "dynamics.bandwidth_profile.trace",
                                          "workload",
                                          "workload.dataset",
                                          "workload.dataset.name",
                                          "workload.dataset.path",
                                          "workload.dataset.max_train",
                                          "workload.dataset.max_test",
                                          "workload.dataset.normalize",
                                          "workload.dataset.normalize.mean",
                                          "workload.dataset.normalize.std",
                                          "workload.dataset.alpha",
                                          "workload.dataset.beta",
                                          "workload.dataset.iid",
                                          "workload.dataset.dimension",
                                          "workload.dataset.classes",
                                          "workload.partition",
                                          "workload.partition.name",
                                          "workload.partition.alpha",
                                          "workload.partition.shards_per_client",
                                          "workload.model",
                                          "workload.model.name",
                                          "workload.model.hidden",
                                          "workload.model.dropout",
                                          "workload.local",
                                          "workload.local.epochs",
                                          "workload.local.batch_size",
                                          "workload.local.lr",
                                          "workload.local.momentum",
                                          "workload.local.weight_decay",
                                          "workload.local.epochs_dist",
                                          "workload.byzantine",
                                          "workload.byzantine.fraction",
                                          "workload.byzantine.behaviour",
                                          "workload.moe",
                                          "workload.moe.experts",
                                          "workload.moe.top_k",
                                          "workload.moe.capacity_factor",
                                          "workload.moe.d_model",
                                          "workload.moe.d_ff",
                                          "workload.moe.balancing",
                                          "workload.moe.balancing.name",
                                          "workload.moe.balancing.weight",
                                          "workload.moe.routing",
                                          "workload.moe.routing.name",
                                          "training",
                                          "training.paradigm",
                                          "training.compute",
                                          "training.mode",
                                          "training.rounds",
                                          "training.clients_per_round",
                                          "training.eval_every",
                                          "training.deadline",
                                          "training.over_selection",
                                          "training.min_completed",
                                          "training.partial_work",
                                          "training.buffer",
                                          "training.concurrency",
                                          "training.steps",
                                          "training.partitions",
                                          "training.checkpoint_every",
                                          "training.divergence",
                                          "training.divergence.factor",
                                          "policies",
                                          "policies.aggregation",
                                          "policies.aggregation.name",
                                          "policies.scheduling",
                                          "policies.scheduling.name",
                                          "policies.coding",
                                          "policies.coding.name",
                                          "policies.coding.stragglers",
                                          "policies.placement",
                                          "policies.placement.name",
                                          "policies.placement.every",
                                          "policies.placement.memory",
                                          "output",
                                          "output.clients_csv",
                                          "output.every",
                                          "provenance"};
    std::set<std::string> paths;
    for (const auto& k : schema()) paths.insert(k.path);

    for (const auto& path : design) CHECK_MESSAGE(paths.count(path) == 1, path);
    CHECK(paths.size() == schema().size());  // no path twice
    CHECK(find_key("platform.host_classes.phone.weight") == find_key("platform.host_classes.*.weight"));
    CHECK(find_key("training.nonsense") == nullptr);
  }

  TEST_CASE("schema: every DESIGN choice value is listed; every topology, federated and sync are built") {
    const auto values = [](const std::string& path) {
      std::vector<std::string> out;
      for (const auto& v : find_key(path)->values) out.push_back(v.name);
      return out;
    };

    CHECK(values("platform.topology") == std::vector<std::string>{"star", "sites", "cluster", "fat_tree", "xml"});
    CHECK(find_key("platform.topology")->built_values() ==
          std::vector<std::string>{"star", "sites", "cluster", "fat_tree", "xml"});
    CHECK(values("workload.model.name") == std::vector<std::string>{"logistic", "mlp", "cnn", "moe"});
    CHECK(find_key("workload.model.name")->built_values() == std::vector<std::string>{"logistic", "mlp", "cnn"});
    CHECK(values("training.paradigm") == std::vector<std::string>{"federated", "data_parallel", "expert_parallel"});
    CHECK(find_key("training.paradigm")->built_values() == std::vector<std::string>{"federated"});
    CHECK(find_key("training.mode")->built_values() == std::vector<std::string>{"sync"});
    CHECK(values("workload.partition.name") == std::vector<std::string>{"iid", "dirichlet", "shards", "natural"});
  }

  TEST_CASE("schema: every built key with a default loads to that default") {
    int checked = 0;
    for (const auto& key : schema()) {
      const bool read = key.status == KeyStatus::built || key.only_built;
      if (!read || key.default_kind != DefaultKind::value || key.type == KeyType::mapping) continue;
      CAPTURE(key.path);
      auto overrides = variant_of(key);
      // The dataset decides the partition's default (natural for synthetic).
      std::string expected = key.default_text;
      for (const auto& d : key.default_when)
        for (const auto& o : overrides)
          if (o.key_path == d.when.key && o.value == d.when.values[0]) expected = d.value;

      // A key under a name the user chooses ("*") is read under one such name, made empty.
      std::string path = key.path;
      if (const auto star = path.find('*'); star != std::string::npos) {
        path.replace(star, 1, "probe");
        overrides.push_back({path.substr(0, path.find('.', star)), "{}"});
      }

      Scenario s = read_scenario_text(kBase, "defaults.yaml", overrides);

      CHECK(s.context->errors.empty());
      if (key.type == KeyType::real)  // numbers are recorded in their shortest form: 1e6 as 1000000
        CHECK(std::stod(resolved_at(s, path)) == std::stod(expected));
      else
        CHECK(resolved_at(s, path) == expected);
      ++checked;
    }
    CHECK(checked >= 30);
  }

  TEST_CASE("schema: a built key without a default records nothing when absent (deadline: wait for all)") {
    const Scenario absent = read_scenario_text(kBase, "s.yaml");
    const Scenario given = read_scenario_text(kBase, "s.yaml", {parse_override("training.deadline=1.5s")});

    CHECK_FALSE(absent.training.deadline_s.has_value());
    CHECK(resolved_at(absent, "training.deadline") == "<absent>");
    REQUIRE(given.training.deadline_s.has_value());
    CHECK(*given.training.deadline_s == 1.5);
    CHECK(resolved_at(given, "training.deadline") == "1.5s");
  }

  TEST_CASE("schema: planned keys and planned values are refused with 'not implemented yet', each located") {
    int keys = 0, values = 0;
    for (const auto& key : schema()) {
      if (key.status != KeyStatus::planned || below_planned(key) || key.path.find('*') != std::string::npos) continue;
      CAPTURE(key.path);
      auto overrides = variant_of(key);
      const bool mapping = key.type == KeyType::mapping;
      // A planned key accepted with its one built value refuses any other.
      overrides.push_back({key.path, key.only_built ? "0.5" : mapping ? "{}" : "1"});

      const auto text = errors_of(kBase, overrides);

      if (key.only_built)
        CHECK(contains(text, "<command line>:1:" + std::to_string(overrides.size()) + ": error: " + key.path +
                                 ": '0.5' is not implemented yet; only " + *key.only_built + " is supported"));
      else
        CHECK(contains(text, "<command line>:1:" + std::to_string(overrides.size()) + ": error: " + key.path +
                                 ": not implemented yet"));
      ++keys;
    }
    for (const auto& key : schema()) {
      if (key.status != KeyStatus::built) continue;
      for (const auto& value : key.values) {
        if (value.status != KeyStatus::planned) continue;
        CAPTURE(key.path);
        CAPTURE(value.name);

        const auto text = errors_of(kBase, {{key.path, value.name}});

        CHECK(contains(text, "<command line>:1:1: error: " + key.path + ": " + key.noun + " '" + value.name +
                                 "' is not implemented yet"));
        std::string built;
        for (const auto& b : key.built_values()) built += (built.empty() ? "" : ", ") + b;
        CHECK(contains(text, "note: implemented " + key.nouns + ": " + built));
        ++values;
      }
    }
    CHECK(keys >= 9);  // what remains planned (fewer as features land)
    CHECK(values >= 5);
  }

  TEST_CASE("load_scenario: valid-value lists name only built values, and unknown keys list only built keys") {
    const auto model = errors_of(kBase, {parse_override("workload.model.name=transformer")});
    const auto key = errors_of(kBase, {parse_override("training.deadlin=5s")});

    CHECK(contains(model, "unknown value 'transformer'\n  note: valid values are: logistic, mlp, cnn\n"));
    CHECK(contains(key,
                   "training.deadlin: unknown key 'deadlin'\n  note: did you mean 'deadline'?\n"
                   "  note: valid keys are: paradigm, compute, mode, rounds, clients_per_round, eval_every, eval_train, "
                   "deadline, over_selection, min_completed, partial_work, checkpoint_every, divergence\n"));
  }

  TEST_CASE("load_scenario: a built key of another variant says which variant it applies to") {
    const auto path = errors_of(kBase + "", {parse_override("workload.dataset={name: synthetic, path: /data}")});
    const auto hidden = errors_of(
        "platform: {clients: {count: 20}}\n"
        "workload: {dataset: {name: synthetic}, model: {name: logistic, hidden: [8]}}\n");
    const auto dropout = errors_of(kBase, {parse_override("workload.model.dropout=0")});

    CHECK(contains(path,
                   "<command line>:1:1: error: workload.dataset.path: applies only when name is fashion_mnist\n"
                   "  note: name is 'synthetic' here"));
    CHECK(contains(hidden,
                   "s.yaml:2:64: error: workload.model.hidden: applies only when name is mlp\n"
                   "  note: name is 'logistic' here"));
    CHECK(contains(dropout, "workload.model.dropout: applies only when name is mlp or cnn\n"));
  }

  TEST_CASE("load_scenario: the new round-protocol keys load, with their defaults") {
    const Scenario defaults = read_scenario_text(kBase, "s.yaml");
    const Scenario given = read_scenario_text(
        kBase + "training: {clients_per_round: 8, deadline: 60s, over_selection: 1.3, min_completed: 8}\n", "s.yaml");

    CHECK(defaults.training.over_selection == 1);
    CHECK(defaults.training.min_completed == 1);
    CHECK(given.context->errors.empty());
    CHECK(*given.training.deadline_s == 60);
    CHECK(given.training.over_selection == 1.3);
    CHECK(given.training.min_completed == 8);
    CHECK(contains(resolved_yaml(given), "  deadline: 60s\n  over_selection: 1.3\n  min_completed: 8\n"));
    CHECK_FALSE(contains(resolved_yaml(defaults), "deadline"));
    const Scenario again = read_scenario_text(resolved_yaml(given), "run.yaml");  // run.yaml loads back to itself
    CHECK(again.context->errors.empty());
    CHECK(resolved_yaml(again) == resolved_yaml(given));
  }

  TEST_CASE("load_scenario: deadline > 0, over_selection >= 1 and min_completed <= clients_per_round") {
    const auto text = errors_of(kBase +
                                "training: {clients_per_round: 5, deadline: 0ms, over_selection: 0.9, "
                                "min_completed: 6}\n");
    const auto zero_min = errors_of(kBase, {parse_override("training.min_completed=0")});

    INFO(text);
    CHECK(contains(text, "s.yaml:3:44: error: training.deadline: '0ms' must be > 0"));
    CHECK(contains(text, "s.yaml:3:65: error: training.over_selection: '0.9' is out of range; expected a number >= 1"));
    CHECK(
        contains(text, "s.yaml:3:85: error: training.min_completed: min_completed (6) exceeds clients_per_round (5)"));
    CHECK(contains(zero_min, "training.min_completed: '0' is out of range; expected an integer from 1 to 1000000000"));
  }

  TEST_CASE("over_selected_count: ceil(f x K) without one client too many from rounding") {
    CHECK(over_selected_count(1.0, 10) == 10);
    CHECK(over_selected_count(1.1, 10) == 11);  // 1.1 x 10 = 11.000000000000002 in doubles
    CHECK(over_selected_count(1.3, 10) == 13);
    CHECK(over_selected_count(1.25, 10) == 13);
    CHECK(over_selected_count(1.5, 3) == 5);
  }

  TEST_CASE("warnings: each suspicious value is located, and the load still succeeds") {
    const std::string yaml =
        "platform:\n"
        "  server: {latency: 5m}\n"
        "  clients: {count: 12, latency: {dist: choice, values: [1ms, 30s]}}\n"
        "workload:\n"
        "  dataset: {name: fashion_mnist}\n"
        "  partition: {name: dirichlet, alpha: 0.001}\n"
        "  model: {name: mlp, hidden: []}\n"
        "  local: {lr: 2, weight_decay: 0.5}\n"
        "training: {rounds: 5, eval_every: 10, clients_per_round: 10, over_selection: 1.5, deadline: 0.5ms}\n";

    const auto text = warnings_of(yaml);

    INFO(text);
    CHECK_FALSE(contains(text, "unexpected"));
    CHECK(contains(text,
                   "s.yaml:2:21: warning: platform.server.latency: '5m' is above 10s; a network latency is usually "
                   "milliseconds\n  note: did you mean '5ms'?\n"));
    CHECK(contains(text, "s.yaml:3:62: warning: platform.clients.latency.values[1]: '30s' is above 10s"));
    CHECK(contains(text, "note: did you mean '30ms'?"));
    CHECK(contains(text, "s.yaml:6:39: warning: workload.partition.alpha: '0.001' is below 0.01"));
    CHECK(contains(text,
                   "s.yaml:7:30: warning: workload.model.hidden: an MLP with no hidden layer is logistic "
                   "regression"));
    CHECK(contains(text, "s.yaml:8:15: warning: workload.local.lr: '2' is above 1"));
    CHECK(contains(text, "s.yaml:8:32: warning: workload.local.weight_decay: '0.5' is above 0.1"));
    CHECK(contains(text, "s.yaml:9:35: warning: training.eval_every: eval_every (10) is above rounds (5)"));
    CHECK(contains(text,
                   "s.yaml:9:78: warning: training.over_selection: selecting ceil(1.5 x 10) = 15 clients exceeds "
                   "platform.clients.count (12): the selection is capped at 12"));
    CHECK(contains(text, "s.yaml:9:93: warning: training.deadline: '0.5ms' is below 1ms"));
    CHECK(text.find("s.yaml:2:") < text.find("s.yaml:9:"));  // in file order
  }

  TEST_CASE("warnings: defaults and ordinary values warn about nothing") {
    CHECK(warnings_of(kBase) == "");
    CHECK(warnings_of(kBase + "training: {rounds: 10, eval_every: 10, over_selection: 2, clients_per_round: 10}\n") ==
          "");
  }

  TEST_CASE("warnings: a key given twice by --set warns at the later override, which wins") {
    const std::vector<Override> overrides{parse_override("training.rounds=3"), parse_override("seed=4"),
                                          parse_override("training={rounds: 5, eval_every: 5}")};

    const Scenario s = read_scenario_text(kBase, "s.yaml", overrides);
    const auto warnings = s.context->errors.warnings();

    CHECK(s.training.rounds == 5);
    REQUIRE(warnings.size() == 1);
    CHECK(format_diagnostic(warnings[0]) ==
          "<command line>:1:3: warning: training.rounds: set twice on the command line; this later value wins over "
          "--set training.rounds=3\n"
          "  note: set by --set training={rounds: 5, eval_every: 5}");
    CHECK(warnings_of(kBase, {parse_override("training.rounds=3"), parse_override("training.eval_every=3")}) == "");
  }

  TEST_CASE("warnings: under strict they are errors, located and in file order among the errors") {
    const std::string yaml = kBase + "training: {rounds: 5, eval_every: 10}\noutput: {every: 0}\n";

    const auto relaxed = errors_of(yaml);
    const auto strict = errors_of(yaml, {parse_override("platform.server.latency=20s")}, true);
    const auto warning_only = errors_of(kBase, {parse_override("workload.local.lr=5")}, true);

    CHECK(relaxed == "s.yaml:4:17: error: output.every: '0' is out of range; expected an integer from 1 to 1000000000");
    CHECK(strict ==
          "s.yaml:3:35: error: training.eval_every: eval_every (10) is above rounds (5): only the model after the "
          "last round is evaluated\n"
          "  note: eval_every: 0 says so explicitly\n"
          "  note: a warning, made an error by --strict\n"
          "s.yaml:4:17: error: output.every: '0' is out of range; expected an integer from 1 to 1000000000\n"
          "<command line>:1:1: error: platform.server.latency: '20s' is above 10s; a network latency is usually "
          "milliseconds\n"
          "  note: did you mean '20ms'?\n"
          "  note: set by --set platform.server.latency=20s\n"
          "  note: a warning, made an error by --strict");
    CHECK(contains(warning_only, "<command line>:1:1: error: workload.local.lr: '5' is above 1"));
  }

  TEST_CASE("finish_validation: the context's strict flag turns warnings into errors") {
    Scenario relaxed = read_scenario_text(kBase, "s.yaml", {parse_override("workload.local.lr=5")});
    Scenario strict = read_scenario_text(kBase, "s.yaml", {parse_override("workload.local.lr=5")}, true);

    CHECK_NOTHROW(finish_validation(relaxed));
    CHECK(relaxed.context->errors.warnings().size() == 1);
    CHECK_THROWS_WITH_AS(finish_validation(strict), doctest::Contains("made an error by --strict"), ConfigError);
  }

  TEST_CASE("--set: a mapping is merged key by key, keeping the file's sibling keys") {
    const std::string yaml = kBase + "training: {rounds: 7, eval_every: 7, clients_per_round: 5}\n";

    const Scenario s = read_scenario_text(
        yaml, "s.yaml",
        {parse_override("training={rounds: 2}"), parse_override("workload={local: {lr: 0.1}, model: {name: mlp}}")});

    CHECK(s.context->errors.empty());
    CHECK(s.training.rounds == 2);
    CHECK(s.training.eval_every == 7);
    CHECK(s.training.clients_per_round == 5);
    CHECK(s.workload.local.lr == 0.1);
    CHECK(s.workload.model.name == "mlp");
    CHECK(s.workload.dataset.name == "fashion_mnist");
  }

  TEST_CASE("--set: key=null removes the key so its default applies; a required one is then missing, located") {
    const std::string yaml = kBase + "training: {rounds: 7, eval_every: 7}\n";

    const Scenario s = read_scenario_text(
        yaml, "s.yaml", {parse_override("training.rounds=null"), parse_override("training={eval_every: ~}")});
    const auto missing = errors_of(yaml, {parse_override("platform.clients.count=null")});
    const Scenario nothing = read_scenario_text(yaml, "s.yaml", {parse_override("dynamics.crash=null")});

    CHECK(s.context->errors.empty());
    CHECK(s.training.rounds == 10);
    CHECK(s.training.eval_every == 1);
    CHECK(missing ==
          "<command line>:1:1: error: platform.clients.count: missing required key; expected an integer from 1 to "
          "1000000000\n"
          "  note: set by --set platform.clients.count=null");
    CHECK(nothing.context->errors.empty());
    CHECK_FALSE(nothing.context->root["dynamics"]);
  }

  TEST_CASE("--set: many keys removed at once leave the others in place") {
    std::string yaml = kBase + "policies:\n  aggregation:\n    name: fedavg\n";
    std::string nulls;
    for (int i = 0; i < 20; ++i) {
      yaml += "    k" + std::to_string(i) + ": 1\n";
      if (i < 17) nulls += (nulls.empty() ? "" : ", ") + ("k" + std::to_string(i)) + ": null";
    }

    const Scenario s = read_scenario_text(yaml, "s.yaml", {parse_override("policies.aggregation={" + nulls + "}")});
    const YAML::Node aggregation = s.context->root["policies"]["aggregation"];

    CHECK(aggregation.size() == 4);
    CHECK(aggregation["name"].Scalar() == "fedavg");
    CHECK(aggregation["k17"].Scalar() == "1");
    CHECK_FALSE(aggregation["k0"]);
    CHECK(s.policies.aggregation.name == "fedavg");
  }

  TEST_CASE("--set: a new mapping drops its null values, and a hidden list of [] warns only when given") {
    const Scenario s = read_scenario_text(kBase, "s.yaml", {parse_override("dynamics={crash: null}")});
    const auto mlp = warnings_of(kBase, {parse_override("workload.model={name: mlp}")});

    CHECK(s.context->errors.empty());
    CHECK(mlp == "");
  }

  TEST_CASE("--set: errors in a merged mapping point at the override, the file's own keys at the file") {
    const std::string yaml = kBase + "training:\n  rounds: 0\n  eval_every: 1\n";

    const auto text = errors_of(yaml, {parse_override("training={clients_per_round: 0, evry: 1}")});

    CHECK(text ==
          "s.yaml:4:11: error: training.rounds: '0' is out of range; expected an integer from 1 to 1000000000\n"
          "<command line>:1:1: error: training.clients_per_round: '0' is out of range; expected an integer from 1 to "
          "1000000000\n"
          "  note: set by --set training={clients_per_round: 0, evry: 1}\n"
          "<command line>:1:1: error: training.evry: unknown key 'evry'\n"
          "  note: valid keys are: paradigm, compute, mode, rounds, clients_per_round, eval_every, eval_train, deadline, "
          "over_selection, min_completed, partial_work, checkpoint_every, divergence\n"
          "  note: set by --set training={clients_per_round: 0, evry: 1}");
  }

  TEST_CASE("errors: thrown in file order, whatever the order they were found in; the command line last") {
    // The loader reads platform before training and the policies last; the file has them the other way.
    const std::string yaml =
        "policies: {aggregation: {name: fedavg, x: 1}}\n"
        "training: {rounds: 0}\n"
        "workload: {dataset: {name: fashion_mnist}, model: {name: logistic}}\n"
        "platform: {clients: {count: 0}}\n";
    Scenario s = read_scenario_text(yaml, "s.yaml", {parse_override("seed=-1")});

    std::vector<Diagnostic> thrown;
    try {
      finish_validation(s);
    } catch (const ConfigError& e) {
      thrown = e.diagnostics();
    }

    REQUIRE(thrown.size() == 4);
    CHECK(thrown[0].key_path == "policies.aggregation.x");
    CHECK(thrown[1].key_path == "training.rounds");
    CHECK(thrown[2].key_path == "platform.clients.count");
    CHECK(thrown[3].key_path == "seed");
    CHECK(thrown[3].where.file == "<command line>");
  }

  TEST_CASE("report_at: locates a key at its value, its override, the nearest mapping above it, or the file") {
    const std::string yaml =
        "platform: {clients: {count: 20}}\n"
        "workload:\n"
        "  dataset: {name: fashion_mnist, path: /data}\n"
        "  model: {name: mlp, hidden: [200, 100]}\n";
    Scenario s = read_scenario_text(yaml, "s.yaml", {parse_override("workload.local.batch_size=64")});
    ParamsContext& ctx = *s.context;

    report_at(ctx, Severity::error, "workload.dataset.path", "no idx files in '/data'");
    report_at(ctx, Severity::warning, "workload.model.hidden[1]", "wide");
    report_at(ctx, Severity::error, "workload.local.batch_size", "above a client's samples", {"lower it"});
    report_at(ctx, Severity::error, "workload.partition.shards_per_client", "too many shards");
    report_at(ctx, Severity::error, "training.rounds", "absent everywhere");
    const auto errors = in_file_order(ctx.errors.items());
    const auto warnings = ctx.errors.warnings();

    REQUIRE(errors.size() == 4);
    CHECK(format_diagnostic(errors[0]) == "s.yaml: error: training.rounds: absent everywhere");
    CHECK(format_diagnostic(errors[1]) == "s.yaml:3:3: error: workload.partition.shards_per_client: too many shards");
    CHECK(format_diagnostic(errors[2]) == "s.yaml:3:40: error: workload.dataset.path: no idx files in '/data'");
    CHECK(format_diagnostic(errors[3]) ==
          "<command line>:1:1: error: workload.local.batch_size: above a client's samples\n"
          "  note: lower it\n"
          "  note: set by --set workload.local.batch_size=64");
    REQUIRE(warnings.size() == 1);
    CHECK(format_diagnostic(warnings[0]) == "s.yaml:4:36: warning: workload.model.hidden[1]: wide");
  }

  TEST_CASE("report_at: a key whose value is empty is located at the key") {
    Scenario s = read_scenario_text(kBase + "output:\n  every:\n", "s.yaml");

    report_at(*s.context, Severity::error, "output.every", "x");

    CHECK(contains(format_diagnostic(s.context->errors.items().back()), "s.yaml:4:3: error: output.every: x"));
  }

  TEST_CASE("schema_markdown: is deterministic and documents every key and every choice value") {
    const std::string first = schema_markdown();
    const std::string second = schema_markdown();

    CHECK(first == second);
    for (const auto& key : schema()) {
      CHECK_MESSAGE(contains(first, "| `" + key.path + "` |"), key.path);
      for (const auto& v : key.values)
        CHECK_MESSAGE(contains(first, "`" + v.name + "`" + (v.status == KeyStatus::planned ? " (planned)" : "") + ": "),
                      key.path << " = " << v.name);
    }
    CHECK(contains(first, "\n## training\n"));
    CHECK(contains(first, "| `training.partial_work` | boolean | `false` |  | built |"));
    CHECK(contains(first, "| `training.buffer` | integer |"));
  }

  TEST_CASE("schema_text: one aligned line per key, planned keys and values marked") {
    const std::string text = schema_text();

    CHECK(text == schema_text());
    for (const auto& key : schema()) CHECK_MESSAGE(contains(text, "\n" + key.path + " "), key.path);
    std::size_t column = std::string::npos;
    for (std::size_t start = 0; start < text.size();) {
      const auto end = text.find('\n', start);
      const std::string line = text.substr(start, end - start);
      // The TYPE column starts at the same place on every key line.
      if (!line.starts_with("  ")) {
        const auto type_at = line.find_first_not_of(' ', line.find(' '));
        if (column == std::string::npos) column = type_at;
        CHECK_MESSAGE(type_at == column, line);
      }
      start = end + 1;
    }
    CHECK(contains(text, "  = fat_tree "));
    const auto workers = text.find("\nplatform.workers ");
    REQUIRE(workers != std::string::npos);
    CHECK(contains(text.substr(workers, text.find('\n', workers + 1) - workers), " planned "));
  }
}
