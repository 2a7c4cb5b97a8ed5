#include "sim/scenario/scenario.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
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
    CHECK(s.training.paradigm == ParadigmKind::federated);
    CHECK(s.training.rounds == 10);
    CHECK(s.training.clients_per_round == 10);
    CHECK(s.training.eval_every == 1);
    CHECK(s.training.compute == ComputeMode::real);
    CHECK(s.training.mode == TrainingMode::sync);
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

  TEST_CASE("distribution_catalog: lists every distribution kind, in the order of Distribution::Kind") {
    REQUIRE(distribution_catalog().size() == Distribution::kind_names().size());
    for (std::size_t i = 0; i < distribution_catalog().size(); ++i)
      CHECK(distribution_catalog()[i].name == Distribution::kind_names()[i]);
  }

  TEST_CASE("load_scenario: --set replaces values and merges mappings key by key, reading its value as YAML") {
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
    CHECK_FALSE(s.output.clients_csv);  // the file's clients_csv: false is kept by the merge
  }

  TEST_CASE("load_scenario: --set creates missing mappings, which are then located at the override") {
    TempDir dir;
    const auto path = dir.write("s.yaml", kMinimal);

    const Scenario s = load_scenario(path, {parse_override("output.every=4")});
    const auto text = load_errors(kMinimal, {parse_override("seed=2"), parse_override("dynamics.x.y=1")});

    CHECK(s.output.every == 4);
    CHECK(text ==
          "<command line>:1:2: error: dynamics.x: unknown key 'x'\n"
          "  note: valid keys are: straggler, straggler_target, slow_hosts, availability, epoch_stragglers, crash, bandwidth_profile\n"
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
        "platform: {workers: {count: 2}, clients: {count: 20}}\n"
        "dynamics: {crash: {probability: 0.01}}\n"
        "workload: {dataset: {name: synthetic}, model: {name: moe}, byzantine: {fraction: 0.1}}\n"
        "training: {paradigm: data_parallel, buffer: 10, mode: async}\n");

    INFO(text);
    CHECK(contains(text, "bad.yaml:1:21: error: platform.workers: not implemented yet"));
    CHECK(contains(text, "workload.model.name: model 'moe' is not implemented yet"));
    CHECK(contains(text, "workload.byzantine: not implemented yet"));
    CHECK(contains(text, "training.paradigm: paradigm 'data_parallel' is not implemented yet"));
    CHECK(contains(text, "training.buffer: not implemented yet"));
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
    CHECK(contains(wrong_keys,
                   "bad.yaml:2:39: error: workload.dataset.max_train: applies only when name is fashion_mnist\n"
                   "  note: name is 'synthetic' here"));
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
                   "name: r\nseed: 1\nplatform:\n  topology: star\n  network_model: flow\n  solver: auto\n"
                   "  server:\n    speed: 1Tf\n    bandwidth: 1Gbps\n    latency: 1ms\n"
                   "  clients:\n    count: 20\n    speed: 1Gf\n    bandwidth: 10Mbps\n    latency: 20ms\n"));
    CHECK(contains(text, "training:\n  paradigm: federated\n  rounds: 3\n  clients_per_round: 10\n"));
    CHECK(contains(text, "policies:\n  aggregation:\n    name: fedavg\n  scheduling:\n    name: uniform\n"));
  }

  TEST_CASE("read_scenario_text: reads text in memory exactly as read_scenario reads the file") {
    TempDir dir;
    const Scenario from_file = load_scenario(dir.write("full.yaml", kFull));

    const Scenario from_text = read_scenario_text(kFull, "somewhere/full.yaml");

    CHECK(from_text.context->errors.empty());
    CHECK(from_text.file == "somewhere/full.yaml");
    CHECK(resolved_yaml(from_text) == resolved_yaml(from_file));
  }

  TEST_CASE("read_scenario: a file over 4 MiB, or an endless device, is refused without reading it all") {
    TempDir dir;
    const auto big = dir.write("big.yaml", kMinimal + "# " + std::string(std::size_t{4} << 20, 'x') + "\n");

    const auto refused = [](const std::string& path) {
      try {
        read_scenario(path);
      } catch (const ConfigError& e) {
        return std::string(e.what());
      }
      return std::string("loaded");
    };

    CHECK(refused(big) == big + ": error: the scenario file is larger than 4 MiB; a scenario is a few kB");
    CHECK(contains(refused("/dev/zero"), "/dev/zero: error: the scenario file is larger than 4 MiB"));
  }

  TEST_CASE("read_scenario: a FIFO, a socket or a block device is refused by its kind, without waiting") {
    TempDir dir;
    const std::string fifo = dir.write("x", "") + ".fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string link = fifo + ".yaml";
    fs::create_symlink(fifo, link);
    const std::string socket_path = fs::path(fifo).replace_extension(".sock").string();
    const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(socket_path.size() < sizeof(address.sun_path));
    std::copy(socket_path.begin(), socket_path.end(), address.sun_path);
    REQUIRE(::bind(sock, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
    const auto refused = [](const std::string& path) {
      try {
        read_scenario(path);
      } catch (const ConfigError& e) {
        return std::string(e.what());
      }
      return std::string("loaded");
    };

    ::alarm(20);  // a read that blocks ends the test (SIGALRM) instead of hanging it
    const auto from_fifo = refused(fifo);
    const auto from_link = refused(link);
    const auto from_socket = refused(socket_path);
    const auto from_dir = refused(fs::path(fifo).parent_path().string());
    const auto from_null = refused("/dev/null");
    ::alarm(0);
    ::close(sock);

    CHECK(from_fifo == fifo + ": error: cannot read scenario file: it is a FIFO (named pipe), not a regular file");
    CHECK(from_link == link + ": error: cannot read scenario file: it is a FIFO (named pipe), not a regular file");
    CHECK(from_socket == socket_path + ": error: cannot read scenario file: it is a socket, not a regular file");
    CHECK(contains(from_dir, ": error: cannot read scenario file: it is a directory"));
    CHECK(contains(from_null, "/dev/null: error: the scenario is empty"));
  }

  TEST_CASE("read_scenario_text: hostile documents are refused before any tree walk, each located") {
    std::string bomb = kMinimal + "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n";
    for (int i = 1; i <= 8; ++i)
      bomb += "x" + std::to_string(i) + ": &x" + std::to_string(i) + " [*x" + std::to_string(i - 1) + ", *x" +
              std::to_string(i - 1) + ", *x" + std::to_string(i - 1) + ", *x" + std::to_string(i - 1) + ", *x" +
              std::to_string(i - 1) + ", *x" + std::to_string(i - 1) + ", *x" + std::to_string(i - 1) + ", *x" +
              std::to_string(i - 1) + ", *x" + std::to_string(i - 1) + ", *x" + std::to_string(i - 1) + "]\n";
    const auto deep = kMinimal + "output: " + std::string(100'000, '[') + std::string(100'000, ']') + "\n";
    const auto cycle = kMinimal + "policies: &p {aggregation: *p}\n";
    const auto nul = kMinimal + std::string("seed: 1\0\n", 9);

    // x3 stands for 11111 nodes: the eighth alias in x4's list crosses 100000.
    CHECK(contains(load_errors(bomb),
                   "bad.yaml:7:45: error: x4[7]: document too large once aliases are expanded: alias '*x3'"));
    CHECK(contains(load_errors(deep), "bad.yaml:3:72: error: output[0][0]"));
    CHECK(contains(load_errors(deep), "[0]: lists and mappings nest more than 64 levels deep"));
    CHECK(contains(load_errors(cycle),
                   "bad.yaml:3:28: error: policies.aggregation: alias '*p' refers to a node that contains it"));
    CHECK(contains(load_errors(nul), "bad.yaml:3:8: error: control character U+0000 (NUL) is not allowed"));
  }

  TEST_CASE("read_scenario_text: ordinary anchors and aliases keep working") {
    const std::string text =
        "platform:\n"
        "  server: &link {bandwidth: 1Gbps, latency: 1ms}\n"
        "  clients: {count: 20, bandwidth: 20Mbps, latency: 5ms}\n"
        "workload: {dataset: {name: synthetic}, model: &m {name: mlp, hidden: [8]}}\n"
        "training: {rounds: &r 3, clients_per_round: *r}\n";

    Scenario s = read_scenario_text(text, "alias.yaml");
    finish_validation(s);

    CHECK(s.platform.server.bandwidth_bytes_per_s == doctest::Approx(1.25e8));
    CHECK(s.training.rounds == 3);
    CHECK(s.training.clients_per_round == 3);
    CHECK(s.workload.model.hidden == std::vector<std::int64_t>{8});
  }

  TEST_CASE("load_scenario: a repeated key nested in a list of mappings is located with its index") {
    const auto text = load_errors(kMinimal + "policies:\n  aggregation: {name: fedavg, x: [{a: 1, a: 2}]}\n");

    CHECK(contains(text,
                   "bad.yaml:4:42: error: policies.aggregation.x[0].a: duplicate key 'a' (first defined at line 4)"));
  }

  TEST_CASE("load_scenario: a name longer than a folder name can be is refused without quoting it") {
    const auto text = load_errors(kMinimal + "name: " + std::string(300, 'n') + "\n");

    CHECK(contains(text, "bad.yaml:3:7: error: name: the name is 300 bytes long; a folder name has at most 255 bytes"));
    CHECK(text.size() < 200);
  }

  TEST_CASE("load_scenario: out-of-range numbers of every kind are located errors") {
    const auto text = load_errors(
        "seed: 99999999999999999999\n"
        "platform:\n"
        "  server: {speed: 1e400Gf, bandwidth: .nanGbps, latency: -5ms}\n"
        "  clients: {count: 1000000000000, speed: {dist: lognormal, median: 5Gf, sigma: -1}, latency: -.inf}\n"
        "workload:\n"
        "  dataset: {name: synthetic, alpha: .inf, beta: .nan, dimension: 0}\n"
        "  model: {name: mlp, hidden: [1.5, -2, 1e3]}\n"
        "  local: {epochs: 2.5, batch_size: -0, lr: 1e400}\n"
        "training: {rounds: -3, clients_per_round: 1e2, eval_every: .inf}\n"
        "output: {every: 0}\n");

    INFO(text);
    for (const char* expected : {"bad.yaml:1:7: error: seed: '99999999999999999999' is out of range",
                                 "bad.yaml:3:19: error: platform.server.speed: '1e400Gf' is out of range",
                                 "bad.yaml:3:39: error: platform.server.bandwidth: '.nanGbps' is not a number (NaN)",
                                 "bad.yaml:3:58: error: platform.server.latency: '-5ms' is negative",
                                 "bad.yaml:4:20: error: platform.clients.count: '1000000000000' is out of range; "
                                 "expected an integer from 1 to "
                                 "1000000000",
                                 "platform.clients.speed.sigma: '-1' must be >= 0",
                                 "platform.clients.latency: '-.inf' is infinite",
                                 "workload.dataset.alpha: '.inf' is not a finite number",
                                 "workload.dataset.beta: '.nan' is not a finite number",
                                 "workload.dataset.dimension: '0' is out of range",
                                 "workload.model.hidden[0]: '1.5' is not an integer",
                                 "workload.model.hidden[1]: '-2' is out of range",
                                 "workload.model.hidden[2]: '1e3' is not an integer",
                                 "workload.local.epochs: '2.5' is not an integer",
                                 "workload.local.batch_size: '-0' is out of range",
                                 "workload.local.lr: '1e400' is out of range",
                                 "training.rounds: '-3' is out of range",
                                 "training.clients_per_round: '1e2' is not an integer",
                                 "training.eval_every: '.inf' is not an integer",
                                 "output.every: '0' is out of range"})
      CHECK_MESSAGE(contains(text, expected), expected);
  }

  TEST_CASE("load_scenario: links, latencies and speeds SimGrid cannot simulate are refused; the limits pass") {
    const auto refused = load_errors(
        "platform:\n"
        "  server: {speed: 0.5f, bandwidth: 0.5bps, latency: 2d}\n"
        "  clients: {count: 20, bandwidth: {dist: uniform, min: 0.1bps, max: 1Mbps}, latency: {dist: normal, mean: "
        "25h, stddev: 1ms}}\n"
        "workload: {dataset: {name: synthetic}, model: {name: logistic}}\n");
    const auto limits = load_errors(
        "platform:\n"
        "  server: {speed: 1f, bandwidth: 1bps, latency: 1d}\n"
        "  clients: {count: 20, speed: 1f, bandwidth: 0.125Bps, latency: 24h}\n"
        "workload: {dataset: {name: synthetic}, model: {name: logistic}}\n");

    INFO(refused);
    CHECK(contains(refused, "bad.yaml:2:19: error: platform.server.speed: '0.5f' is below 1f, the least accepted"));
    CHECK(contains(refused,
                   "platform.server.bandwidth: '0.5bps' is below 1bps, the least accepted\n"
                   "  note: SimGrid's network solver fails on links slower than about 0.4 bps"));
    CHECK(contains(refused, "platform.server.latency: '2d' is above 1d, the most accepted"));
    CHECK(contains(refused, "platform.clients.bandwidth.min: '0.1bps' is below 1bps"));
    CHECK(contains(refused, "platform.clients.latency.mean: '25h' is above 1d"));
    CHECK(limits == "");
  }

  TEST_CASE("load_scenario: a distribution with under 1 % of its draws in its key's range is refused, per kind") {
    const auto refused = load_errors(
        "platform:\n"
        "  clients: {count: 20, latency: {dist: normal, mean: 20ms, stddev: 1000d}}\n"
        "workload: {dataset: {name: synthetic}, model: {name: logistic}}\n");
    const auto edge = load_errors(  // 1.2 % inside: a warning only
        "platform:\n"
        "  clients: {count: 20, latency: {dist: normal, mean: 20ms, stddev: 2900000s}}\n"
        "workload: {dataset: {name: synthetic}, model: {name: logistic}}\n");
    const auto fine = load_errors(
        "platform:\n"
        "  clients: {count: 20, speed: {dist: normal, mean: 2f, stddev: 1Tf}, latency: {dist: normal, mean: 20ms, "
        "stddev: 40ms}, bandwidth: {dist: lognormal, median: 1bps, sigma: 10}}\n"
        "workload: {dataset: {name: synthetic}, model: {name: logistic}}\n");

    INFO(refused);
    CHECK(contains(refused,
                   "bad.yaml:2:33: error: platform.clients.latency: only 0.0399 % of this distribution's draws lie "
                   "within 0 to 1d, the values that can be simulated; at least 1 % must\n"
                   "  note: a draw outside 0 to 1d is drawn again, at most 100 times, then clamped into it"));
    CHECK(edge == "");
    CHECK(fine == "");
  }

  TEST_CASE("read_scenario: a distribution that a client may exhaust its redraws on is a warning") {
    TempDir dir;
    const auto path = dir.write("warn.yaml", kMinimal + "name: warn\n");
    const Scenario s =
        read_scenario(path, {{"platform.clients.latency", "{dist: normal, mean: 20ms, stddev: 10d}"},
                             {"platform.clients.bandwidth", "{dist: choice, values: [1Mbps], weights: [1e308]}"}});

    CHECK(s.context->errors.empty());
    const auto warnings = s.context->errors.warnings();
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].key_path == "platform.clients.latency");
    CHECK(contains(warnings[0].message, "only 3.98 % of this distribution's draws lie within 0 to 1d"));
    CHECK(contains(warnings[0].message, "clamped to it with probability 1.65 %"));
  }

  TEST_CASE("load_scenario: choice weights whose sum overflows are refused at the weights") {
    const auto refused = load_errors(
        "platform:\n"
        "  clients: {count: 20, speed: {dist: choice, values: [1Gf, 2Gf], weights: [1e308, 1e308]}}\n"
        "workload: {dataset: {name: synthetic}, model: {name: logistic}}\n");

    CHECK(contains(refused, "platform.clients.speed.weights: the weights sum to more than the largest number"));
  }

  TEST_CASE("load_scenario: hostile --set values are refused like hostile files, located on the command line") {
    std::string bomb = "{a: &a [x, x, x, x, x, x, x, x, x, x]";
    for (int i = 1; i <= 6; ++i)
      bomb += ", b" + std::to_string(i) + ": &b" + std::to_string(i) + " [*" +
              (i == 1 ? std::string("a") : "b" + std::to_string(i - 1)) + ", *" +
              (i == 1 ? std::string("a") : "b" + std::to_string(i - 1)) + ", *" +
              (i == 1 ? std::string("a") : "b" + std::to_string(i - 1)) + ", *" +
              (i == 1 ? std::string("a") : "b" + std::to_string(i - 1)) + ", *" +
              (i == 1 ? std::string("a") : "b" + std::to_string(i - 1)) + ", *" +
              (i == 1 ? std::string("a") : "b" + std::to_string(i - 1)) + ", *" +
              (i == 1 ? std::string("a") : "b" + std::to_string(i - 1)) + ", *" +
              (i == 1 ? std::string("a") : "b" + std::to_string(i - 1)) + ", *" +
              (i == 1 ? std::string("a") : "b" + std::to_string(i - 1)) + ", *" +
              (i == 1 ? std::string("a") : "b" + std::to_string(i - 1)) + "]";
    bomb += "}";
    std::string many_parts = "a";
    for (int i = 0; i < 100; ++i) many_parts += ".a";

    const auto text =
        load_errors(kMinimal, {parse_override("output=" + bomb), parse_override("dynamics=" + std::string(1000, '[')),
                               parse_override("policies={aggregation: {name: fedavg, name: x}}"),
                               parse_override(many_parts + "=1"), parse_override("policies.aggregation=&p {x: *p}")});

    INFO(text);
    CHECK(contains(text, "<command line>:1:1: error: output.b4[7]: --set output="));
    CHECK(contains(text, ": the value is refused: document too large once aliases are expanded"));
    CHECK(contains(text, "<command line>:1:2: error: dynamics: --set dynamics=[[["));
    CHECK(contains(text,
                   "the value is refused: lists and mappings nest more than 64 levels deep; a scenario needs a "
                   "few (at line 1, column "));
    CHECK(contains(text, "<command line>:1:3: error: policies.aggregation.name: duplicate key 'name'"));
    CHECK(contains(text, "<command line>:1:4: error: --set a.a.a"));
    CHECK(contains(text, "the key has 101 parts; at most 64 are accepted"));
    CHECK(contains(text,
                   "<command line>:1:5: error: policies.aggregation.x: --set policies.aggregation=&p {x: *p}: the "
                   "value is refused: alias '*p' refers to a node that contains it (a cycle)"));
  }

  TEST_CASE(
      "read_scenario_text: seeded random bytes and mutated scenarios give ConfigError or a scenario, nothing else") {
    std::uint64_t state = 0x9E3779B97F4A7C15ull;  // fixed seed: a failure names the case index
    auto next = [&state] {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      return state;
    };
    for (int i = 0; i < 300; ++i) {
      CAPTURE(i);
      std::string text = i % 2 == 0 ? std::string() : kFull;
      const std::size_t bytes = next() % 512;
      for (std::size_t j = 0; j < bytes; ++j) {
        const auto byte = static_cast<char>(next() & 0xFF);
        if (text.empty() || i % 2 == 0)
          text += byte;
        else
          text[next() % text.size()] = byte;
      }
      try {
        Scenario s = read_scenario_text(text, "random.yaml");
        finish_validation(s);
      } catch (const ConfigError&) {
      }
    }
  }
}
