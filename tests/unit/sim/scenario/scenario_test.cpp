#include "sim/scenario/scenario.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace dtsim;

namespace {

namespace fs = std::filesystem;

// A scratch folder for scenario files, removed at the end of the test.
class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("dtsim_scenario_test_" + std::to_string(::getpid()))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::ofstream(file) << text;
    return file.string();
  }

 private:
  fs::path path_;
};

// Everything else in a valid scenario, so that each test varies one thing.
const std::string kMinimal =
    "platform: {clients: {count: 20}}\n"
    "workload: {dataset: {name: synthetic}, model: {name: logistic}}\n";

const std::string kFull = R"(name: quickstart
seed: 42
platform:
  topology: star
  network_model: analytic
  server: {speed: 2Tf, bandwidth: 10Gbps, latency: 0ms}
  clients:
    count: 100
    speed: {dist: lognormal, median: 5Gf, sigma: 0.6}
    bandwidth: {dist: uniform, min: 5Mbps, max: 50Mbps}
    latency: {dist: choice, values: [10ms, 50ms], weights: [3, 1]}
dynamics: {}
workload:
  dataset: {name: fashion_mnist, path: /data/fmnist, max_train: 6000, max_test: 1000}
  partition: {name: dirichlet, alpha: 0.3}
  model: {name: mlp, hidden: [200, 100], dropout: 0}
  local: {epochs: 2, batch_size: 32, lr: 0.05, momentum: 0.9, weight_decay: 5e-4}
training:
  paradigm: federated
  rounds: 50
  clients_per_round: 10
  eval_every: 5
  compute: none
  mode: sync
policies:
  aggregation: {name: fedprox, mu: 0.01}
  scheduling: {name: uniform}
output: {clients_csv: false, every: 10}
)";

// The ConfigError text of loading `yaml` (written as `name`), or "" when it loads.
std::string load_errors(const std::string& yaml, const std::vector<Override>& overrides = {},
                        const std::string& name = "bad.yaml") {
  TempDir dir;
  try {
    load_scenario(dir.write(name, yaml), overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_SUITE("scenario") {
  TEST_CASE("load_scenario: a full scenario resolves every value in SI units") {
    TempDir dir;
    const auto path = dir.write("full.yaml", kFull);

    const Scenario s = load_scenario(path);

    CHECK(s.file == path);
    CHECK(s.name == "quickstart");
    CHECK(s.seed == 42);
    CHECK(s.platform.topology == "star");
    CHECK(s.platform.network_model == NetworkModel::analytic);
    CHECK(s.platform.server.speed_flops_per_s == doctest::Approx(2e12));
    CHECK(s.platform.server.bandwidth_bytes_per_s == doctest::Approx(1.25e9));
    CHECK(s.platform.server.latency_s == 0);
    CHECK(s.platform.clients.count == 100);
    CHECK(s.platform.clients.speed.kind == Distribution::Kind::lognormal);
    CHECK(s.platform.clients.speed.median == doctest::Approx(5e9));
    CHECK(s.platform.clients.speed.sigma == 0.6);
    CHECK(s.platform.clients.bandwidth.kind == Distribution::Kind::uniform);
    CHECK(s.platform.clients.bandwidth.max == doctest::Approx(6.25e6));
    CHECK(s.platform.clients.latency.values == std::vector<double>{0.01, 0.05});
    CHECK(s.workload.dataset.name == "fashion_mnist");
    CHECK(s.workload.dataset.path == "/data/fmnist");
    CHECK(s.workload.dataset.max_train == 6000);
    CHECK(s.workload.dataset.max_test == 1000);
    CHECK(s.workload.partition.name == "dirichlet");
    CHECK(s.workload.partition.alpha == 0.3);
    CHECK(s.workload.model.name == "mlp");
    CHECK(s.workload.model.hidden == std::vector<std::int64_t>{200, 100});
    CHECK(s.workload.local.epochs == 2);
    CHECK(s.workload.local.batch_size == 32);
    CHECK(s.workload.local.lr == 0.05);
    CHECK(s.workload.local.momentum == 0.9);
    CHECK(s.workload.local.weight_decay == 5e-4);
    CHECK(s.training.rounds == 50);
    CHECK(s.training.clients_per_round == 10);
    CHECK(s.training.eval_every == 5);
    CHECK(s.training.compute == ComputeMode::none);
    CHECK(s.policies.aggregation.name == "fedprox");
    CHECK(s.policies.scheduling.name == "uniform");
    CHECK_FALSE(s.output.clients_csv);
    CHECK(s.output.every == 10);
  }

  TEST_CASE("load_scenario: absent keys take the schema defaults and the name is the file stem") {
    TempDir dir;

    const Scenario s = load_scenario(dir.write("my-run.v2.yaml", kMinimal));

    CHECK(s.name == "my-run.v2");
    CHECK(s.seed == 1);
    CHECK(s.platform.network_model == NetworkModel::flow);
    CHECK(s.platform.server.speed_flops_per_s == doctest::Approx(1e12));
    CHECK(s.platform.server.bandwidth_bytes_per_s == doctest::Approx(1.25e8));
    CHECK(s.platform.server.latency_s == doctest::Approx(1e-3));
    CHECK(s.platform.clients.speed.value == doctest::Approx(1e9));
    CHECK(s.platform.clients.bandwidth.value == doctest::Approx(1.25e6));
    CHECK(s.platform.clients.latency.value == doctest::Approx(0.02));
    CHECK(s.workload.dataset.alpha == 1);
    CHECK(s.workload.dataset.beta == 1);
    CHECK_FALSE(s.workload.dataset.iid);
    CHECK(s.workload.dataset.dimension == 60);
    CHECK(s.workload.dataset.classes == 10);
    CHECK(s.workload.partition.name == "natural");
    CHECK(s.workload.local.epochs == 1);
    CHECK(s.workload.local.batch_size == 10);
    CHECK(s.workload.local.lr == 0.01);
    CHECK(s.workload.local.momentum == 0);
    CHECK(s.workload.local.weight_decay == 0);
    CHECK(s.training.paradigm == "federated");
    CHECK(s.training.rounds == 10);
    CHECK(s.training.clients_per_round == 10);
    CHECK(s.training.eval_every == 1);
    CHECK(s.training.compute == ComputeMode::real);
    CHECK(s.training.mode == "sync");
    CHECK(s.policies.aggregation.name == "fedavg");
    CHECK(s.policies.scheduling.name == "uniform");
    CHECK(s.output.clients_csv);
    CHECK(s.output.every == 1);
  }

  TEST_CASE("load_scenario: fashion_mnist defaults to the iid partition and mlp to one hidden layer of 200") {
    TempDir dir;
    const auto path = dir.write("f.yaml",
                                "platform: {clients: {count: 20}}\n"
                                "workload: {dataset: {name: fashion_mnist}, model: {name: mlp}}\n");

    const Scenario s = load_scenario(path);

    CHECK(s.workload.dataset.path == "/usr/share/datasets/fashion-mnist");
    CHECK(s.workload.partition.name == "iid");
    CHECK(s.workload.model.hidden == std::vector<std::int64_t>{200});
  }

  TEST_CASE("load_scenario: the catalog's defaults are the ones the loader applies") {
    TempDir dir;
    const Scenario fmnist = load_scenario(
        dir.write("a.yaml",
                  "platform: {clients: {count: 20}}\n"
                  "workload: {dataset: {name: fashion_mnist}, partition: {name: dirichlet}, model: {name: mlp}}\n"));
    const Scenario synthetic = load_scenario(dir.write("b.yaml", kMinimal));
    const Scenario shards = load_scenario(
        dir.write("c.yaml",
                  "platform: {clients: {count: 20}}\n"
                  "workload: {dataset: {name: fashion_mnist}, partition: {name: shards}, model: {name: logistic}}\n"));
    auto resolved_text = [](const Scenario& s, const std::string& path) {
      YAML::Node node = YAML::Clone(s.context->resolved);
      for (std::size_t start = 0, dot = 0; dot != std::string::npos; start = dot + 1) {
        dot = path.find('.', start);
        node.reset(node[path.substr(start, dot == std::string::npos ? dot : dot - start)]);
      }
      if (node.IsSequence()) {
        YAML::Emitter e;
        e << node;
        return std::string(e.c_str());
      }
      return node.Scalar();
    };

    for (const auto& entry : dataset_catalog())
      for (const auto& [param, def] : entry.params)
        CHECK(resolved_text(entry.name == "synthetic" ? synthetic : fmnist, "workload.dataset." + param) == def);
    for (const auto& [param, def] : partition_catalog()[1].params)
      CHECK(resolved_text(fmnist, "workload.partition." + param) == def);
    for (const auto& [param, def] : partition_catalog()[2].params)
      CHECK(resolved_text(shards, "workload.partition." + param) == def);
    for (const auto& [param, def] : model_catalog()[1].params)
      CHECK(resolved_text(fmnist, "workload.model." + param) == def);
    for (const auto& [param, def] : topology_catalog()[0].params)
      if (def != "required") CHECK(resolved_text(synthetic, "platform." + param) == def);
    REQUIRE(distribution_catalog().size() == Distribution::kind_names().size());
    for (std::size_t i = 0; i < distribution_catalog().size(); ++i)
      CHECK(distribution_catalog()[i].name == Distribution::kind_names()[i]);
  }

  TEST_CASE("load_scenario: --set replaces values and whole mappings, reading its value as YAML") {
    TempDir dir;
    const auto path = dir.write("s.yaml", kFull);
    const std::vector<Override> overrides{
        parse_override("training.rounds=5"), parse_override("platform.clients.speed=2Gf"),
        parse_override("workload.model.hidden=[64, 32, 16]"), parse_override("output={every: 3}")};

    const Scenario s = load_scenario(path, overrides);

    CHECK(s.training.rounds == 5);
    CHECK(s.platform.clients.speed.kind == Distribution::Kind::constant);
    CHECK(s.platform.clients.speed.value == doctest::Approx(2e9));
    CHECK(s.workload.model.hidden == std::vector<std::int64_t>{64, 32, 16});
    CHECK(s.output.every == 3);
    CHECK(s.output.clients_csv);  // the file's clients_csv: false went with the replaced mapping
  }

  TEST_CASE("load_scenario: --set creates missing mappings, which are then located at the override") {
    TempDir dir;
    const auto path = dir.write("s.yaml", kMinimal);

    const Scenario s = load_scenario(path, {parse_override("output.every=4")});
    const auto text = load_errors(kMinimal, {parse_override("seed=2"), parse_override("dynamics.x.y=1")});

    CHECK(s.output.every == 4);
    CHECK(text ==
          "<command line>:1:2: error: dynamics.x: unknown key 'x'\n"
          "  note: valid keys are: straggler, availability, crash, bandwidth_profile\n"
          "  note: set by --set dynamics.x.y=1");
  }

  TEST_CASE("load_scenario: a bad --set value is located on the command line at its index") {
    const std::vector<Override> overrides{parse_override("seed=3"), parse_override("training.rounds=0"),
                                          parse_override("platform.clients.count.x=1"),
                                          parse_override("training.rounds=[1")};

    const auto text = load_errors(kMinimal, overrides);

    INFO(text);
    CHECK(contains(text,
                   "<command line>:1:2: error: training.rounds: '0' is out of range; expected an integer from 1 "
                   "to 1000000000\n  note: set by --set training.rounds=0"));
    CHECK(contains(text,
                   "<command line>:1:3: error: platform.clients.count: --set platform.clients.count.x=1: "
                   "'platform.clients.count' is '20', not a mapping, so it has no key 'x'"));
    CHECK(contains(text,
                   "<command line>:1:4: error: training.rounds: --set training.rounds=[1: the value is not "
                   "valid YAML"));
  }

  TEST_CASE("parse_override: splits at the first '=' and rejects a missing '=' or an empty key") {
    const auto o = parse_override("policies.aggregation.name=a=b");

    CHECK(o.key_path == "policies.aggregation.name");
    CHECK(o.value == "a=b");
    CHECK_THROWS_WITH_AS(parse_override("training.rounds"), doctest::Contains("expected KEY=VALUE"), ConfigError);
    CHECK_THROWS_AS(parse_override("=5"), ConfigError);
    CHECK_THROWS_AS(parse_override("training..rounds=5"), ConfigError);
  }

  TEST_CASE("load_scenario: a repeated key is an error at its second definition") {
    const auto text = load_errors(kMinimal + "training:\n  rounds: 5\n  rounds: 6\n");

    CHECK(contains(text, "bad.yaml:5:3: error: training.rounds: duplicate key 'rounds' (first defined at line 4)"));
  }

  TEST_CASE("load_scenario: unknown keys anywhere are errors with did-you-mean") {
    const auto text = load_errors(kMinimal + "trainig: {rounds: 5}\noutput: {evry: 2}\n");

    INFO(text);
    CHECK(contains(text, "bad.yaml:3:1: error: trainig: unknown key 'trainig'\n  note: did you mean 'training'?"));
    CHECK(contains(text, "bad.yaml:4:10: error: output.evry: unknown key 'evry'\n  note: did you mean 'every'?"));
  }

  TEST_CASE("load_scenario: keys of features not built yet are rejected, each located") {
    const auto text = load_errors(
        "platform: {topology: fat_tree, clients: {count: 20, trace: s.csv}}\n"
        "dynamics: {crash: {probability: 0.01}}\n"
        "workload: {dataset: {name: synthetic}, model: {name: cnn}, local: {epochs_dist: 2}}\n"
        "training: {paradigm: data_parallel, deadline: 60s, mode: async}\n");

    INFO(text);
    CHECK(contains(text, "bad.yaml:1:22: error: platform.topology: topology 'fat_tree' is not implemented yet"));
    CHECK(contains(text, "bad.yaml:1:60: error: platform.clients.trace: not implemented yet"));
    CHECK(contains(text, "bad.yaml:2:19: error: dynamics.crash: not implemented yet"));
    CHECK(contains(text, "workload.model.name: model 'cnn' is not implemented yet"));
    CHECK(contains(text, "workload.local.epochs_dist: not implemented yet"));
    CHECK(contains(text, "training.paradigm: paradigm 'data_parallel' is not implemented yet"));
    CHECK(contains(text, "training.deadline: not implemented yet"));
    CHECK(contains(text, "training.mode: mode 'async' is not implemented yet"));
  }

  TEST_CASE("load_scenario: local momentum must lie in [0, 1) and weight_decay be a finite number >= 0") {
    auto local = [](const std::string& keys) {
      return load_errors(
          "platform: {clients: {count: 20}}\n"
          "workload: {dataset: {name: synthetic}, model: {name: logistic}, local: {" +
          keys + "}}\n");
    };
    TempDir dir;

    const Scenario s = load_scenario(dir.write("m.yaml", kMinimal), {parse_override("workload.local.momentum=0.99"),
                                                                     parse_override("workload.local.weight_decay=0")});
    const auto one = local("momentum: 1");
    const auto above = local("momentum: 1.5");
    const auto negative = local("momentum: -0.1, weight_decay: -1e-4");
    const auto infinite = local("weight_decay: .inf");

    CHECK(s.workload.local.momentum == 0.99);
    CHECK(s.workload.local.weight_decay == 0);
    CHECK(contains(one, "workload.local.momentum: '1' is out of range; expected a number from 0 to below 1"));
    CHECK(contains(above, "workload.local.momentum: '1.5' is out of range"));
    CHECK(contains(negative, "workload.local.momentum: '-0.1' is out of range"));
    CHECK(contains(negative, "workload.local.weight_decay: '-1e-4' is out of range; expected a number >= 0"));
    CHECK(contains(infinite, "workload.local.weight_decay: '.inf' is not a finite number"));
  }

  TEST_CASE("load_scenario: clients_per_round above the client count names both numbers") {
    const auto given = load_errors(kMinimal + "training: {clients_per_round: 50}\n");
    const auto by_default = load_errors(
        "platform: {clients: {count: 4}}\nworkload: {dataset: {name: synthetic}, model: {name: logistic}}\n");

    CHECK(contains(given,
                   "bad.yaml:3:31: error: training.clients_per_round: clients_per_round (50) exceeds "
                   "platform.clients.count (20)"));
    CHECK(contains(by_default, "clients_per_round (10) exceeds platform.clients.count (4)"));
    CHECK(contains(by_default, "note: clients_per_round defaults to 10; set it to at most 4"));
  }

  TEST_CASE("load_scenario: fashion_mnist takes no natural partition, a positive alpha and only its own keys") {
    const auto text = load_errors(
        "platform: {clients: {count: 20}}\n"
        "workload: {dataset: {name: fashion_mnist}, partition: {name: natural}, model: {name: logistic}}\n");
    const auto alpha = load_errors(
        "platform: {clients: {count: 20}}\n"
        "workload: {dataset: {name: fashion_mnist}, partition: {name: dirichlet, alpha: 0}, model: {name: "
        "logistic}}\n");
    const auto wrong_keys = load_errors(
        "platform: {clients: {count: 20}}\n"
        "workload: {dataset: {name: synthetic, max_train: 10}, model: {name: logistic}}\n");

    CHECK(contains(text, "workload.partition.name: partition 'natural' needs a dataset with natural users"));
    CHECK(
        contains(alpha, "bad.yaml:2:80: error: workload.partition.alpha: '0' is out of range; expected a number > 0"));
    CHECK(contains(wrong_keys, "workload.dataset.max_train: unknown key 'max_train'"));
  }

  TEST_CASE("load_scenario: the synthetic dataset takes only the natural partition") {
    const auto text = load_errors(
        "platform: {clients: {count: 20}}\n"
        "workload: {dataset: {name: synthetic}, partition: {name: iid}, model: {name: logistic}}\n");

    CHECK(contains(text,
                   "bad.yaml:2:58: error: workload.partition.name: partition 'iid' cannot split the synthetic "
                   "dataset"));
  }

  TEST_CASE("load_scenario: every error in the file is reported at once") {
    const auto text = load_errors(
        "seed: -1\n"
        "platform: {clients: {count: 2.5, speed: 5}}\n"
        "workload: {dataset: {name: mnist}, model: {name: logistic}}\n"
        "training: {rounds: 0}\n");

    INFO(text);
    CHECK(contains(text, "bad.yaml:1:7: error: seed: '-1' is out of range"));
    CHECK(contains(text, "bad.yaml:2:29: error: platform.clients.count: '2.5' is not an integer"));
    CHECK(contains(text, "bad.yaml:2:41: error: platform.clients.speed: '5' needs a unit"));
    CHECK(contains(text, "bad.yaml:3:28: error: workload.dataset.name: unknown value 'mnist'"));
    CHECK(contains(text, "bad.yaml:4:20: error: training.rounds: '0' is out of range"));
  }

  TEST_CASE("load_scenario: the name must be usable as a folder name") {
    CHECK(contains(load_errors(kMinimal + "name: a/b\n"),
                   "bad.yaml:3:7: error: name: 'a/b' cannot name an output folder"));
    CHECK(contains(load_errors(kMinimal + "name: ..\n"), "cannot name an output folder"));
    CHECK(contains(load_errors(kMinimal, {}, "my run.yaml"), "note: the default name is the file's stem"));
  }

  TEST_CASE("load_scenario: unreadable, malformed, empty and non-map files are located errors") {
    const auto missing = [] {
      try {
        load_scenario("/nonexistent/dtsim/none.yaml");
      } catch (const ConfigError& e) {
        return std::string(e.what());
      }
      return std::string();
    }();

    CHECK(missing == "/nonexistent/dtsim/none.yaml: error: cannot read scenario file: No such file or directory");
    CHECK(contains(load_errors("platform: [1, 2\nworkload: 3\n"), "bad.yaml:2:9: error: invalid YAML:"));
    CHECK(contains(load_errors(""), "bad.yaml: error: the scenario is empty"));
    CHECK(contains(load_errors("# only a comment\n"), "bad.yaml: error: the scenario is empty"));
    CHECK(contains(load_errors("- a\n- b\n"), "bad.yaml:1:1: error: expected a mapping at the top level"));
    CHECK(contains(load_errors(kMinimal + "---\nseed: 2\n"), "holds 2 YAML documents; expected one"));
  }

  TEST_CASE("finish_validation: reports unread policy keys, except under a rejected policy name") {
    TempDir dir;
    Scenario s = load_scenario(dir.write("p.yaml", kMinimal + "policies: {aggregation: {name: fedavg, mu: 1}, "
                                                              "scheduling: {name: uniformm, k: 2}}\n"));
    s.policies.scheduling.params->error("name", "unknown scheduling policy 'uniformm'");

    std::string text;
    try {
      finish_validation(s);
    } catch (const ConfigError& e) {
      text = e.what();
    }

    INFO(text);
    CHECK(contains(text, "p.yaml:3:40: error: policies.aggregation.mu: unknown key 'mu'"));
    CHECK(contains(text, "policies.scheduling.name: unknown scheduling policy 'uniformm'"));
    CHECK_FALSE(contains(text, "unknown key 'k'"));
  }

  TEST_CASE("finish_validation: passes a scenario whose policies read all their keys") {
    TempDir dir;
    Scenario s = load_scenario(dir.write("p.yaml", kMinimal + "policies: {aggregation: {name: fedprox, mu: 0.1}}\n"));
    const double mu = s.policies.aggregation.params->get_double("mu", 0.01, 0, 10);

    CHECK_NOTHROW(finish_validation(s));
    CHECK(mu == 0.1);
    CHECK(contains(resolved_yaml(s), "aggregation:\n    name: fedprox\n    mu: 0.1"));
  }

  TEST_CASE("resolved_yaml: loading the resolved text again gives the same resolved text") {
    TempDir dir;
    YAML::Node provenance;
    provenance["provenance"]["dtsim"] = "0.1.0";
    provenance["provenance"]["commit"] = "abc";
    for (const auto& text : {kFull, kMinimal}) {
      const Scenario first = load_scenario(dir.write("first.yaml", text), {parse_override("training.rounds=7")});
      const std::string resolved = resolved_yaml(first, provenance);

      const Scenario second = load_scenario(dir.write("run.yaml", resolved));
      const std::string again = resolved_yaml(second, provenance);

      CHECK(again == resolved);
      CHECK(second.name == first.name);
      CHECK(second.training.rounds == 7);
      CHECK(second.platform.clients.speed.median == first.platform.clients.speed.median);
      CHECK(contains(resolved, "provenance:\n  dtsim: 0.1.0\n  commit: abc\n"));
    }
  }

  TEST_CASE("resolved_yaml: records defaults and the user's quantity text exactly") {
    TempDir dir;
    const Scenario s = load_scenario(dir.write("r.yaml", kMinimal + "training: {rounds: 3}\n"));

    const std::string text = resolved_yaml(s);

    INFO(text);
    CHECK(contains(text,
                   "name: r\nseed: 1\nplatform:\n  topology: star\n  network_model: flow\n"
                   "  server:\n    speed: 1Tf\n    bandwidth: 1Gbps\n    latency: 1ms\n"
                   "  clients:\n    count: 20\n    speed: 1Gf\n    bandwidth: 10Mbps\n    latency: 20ms\n"));
    CHECK(contains(text, "training:\n  paradigm: federated\n  rounds: 3\n  clients_per_round: 10\n"));
    CHECK(contains(text, "policies:\n  aggregation:\n    name: fedavg\n  scheduling:\n    name: uniform\n"));
  }
}
