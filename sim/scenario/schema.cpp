#include "sim/scenario/schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <unordered_map>

#include "sim/scenario/scenario.hpp"

namespace dtsim {

namespace {

constexpr double kInf = Range::kInf;
constexpr double kBillion = 1e9;
// An integer key without an upper end (std::int64_t's largest value).
constexpr double kIntMax = 9223372036854775807.0;

// What SimGrid 3.32 can simulate (measured): under the flow model a link slower than about 0.4 bps, or
// a latency so long that the TCP window allows less than that, stops the run with "The Impossible Did
// Happen"; a host so slow that a task's time overflows deadlocks it.
const char* const kSpeedReason = "a host slower than 1 flop/s cannot be simulated";
const char* const kBandwidthReason = "SimGrid's network solver fails on links slower than about 0.4 bps";
const char* const kLatencyReason =
    "over a longer latency a TCP flow gets less than 2 B/s (window / round trip), and SimGrid's network "
    "solver fails below about 0.4 bps";
const char* const kLongLatency = "a network latency is usually milliseconds";

// Fluent construction of one entry, so that the table below reads one key per statement.
class Key {
 public:
  Key(std::string path, KeyType type) {
    spec_.path = std::move(path);
    spec_.type = type;
  }
  Key& unit(UnitKind u) { return spec_.unit = u, *this; }
  Key& def(std::string text) {
    spec_.default_kind = DefaultKind::value;
    spec_.default_text = std::move(text);
    return *this;
  }
  Key& required() { return spec_.default_kind = DefaultKind::required, *this; }
  Key& computed(std::string how) {
    spec_.default_kind = DefaultKind::computed;
    spec_.default_text = std::move(how);
    return *this;
  }
  Key& def_when(std::string key, std::string equals, std::string value) {
    spec_.default_when.push_back({{std::move(key), {std::move(equals)}}, std::move(value)});
    return *this;
  }
  // Closed [min, max] unless marked open.
  Key& range(double min, double max, bool min_open = false, bool max_open = false) {
    spec_.range.min = min;
    spec_.range.max = max;
    spec_.range.min_open = min_open;
    spec_.range.max_open = max_open;
    return *this;
  }
  // Limits of what can be simulated, quoted in the user's units.
  Key& limits(std::string min_text, std::string max_text, std::string reason) {
    spec_.range.min_text = std::move(min_text);
    spec_.range.max_text = std::move(max_text);
    spec_.range.reason = std::move(reason);
    return *this;
  }
  Key& reason(std::string why) { return spec_.range.reason = std::move(why), *this; }
  // The ranges SimGrid can simulate, shared by every speed, bandwidth and latency.
  Key& speed_range() { return range(kMinSpeedFlopsPerS, kInf).limits("1f", "", kSpeedReason); }
  Key& bandwidth_range() { return range(kMinBandwidthBytesPerS, kInf).limits("1bps", "", kBandwidthReason); }
  Key& latency_range() { return range(0, kMaxLatencyS).limits("", "1d", kLatencyReason); }
  Key& suspicious_above(double above, std::string text, std::string reason) {
    spec_.suspicious = Suspicious{std::nullopt, above, "", std::move(text), std::move(reason)};
    return *this;
  }
  Key& suspicious_below(double below, std::string text, std::string reason) {
    spec_.suspicious = Suspicious{below, std::nullopt, std::move(text), "", std::move(reason)};
    return *this;
  }
  Key& help(std::string text) { return spec_.help = std::move(text), *this; }
  Key& planned() { return spec_.status = KeyStatus::planned, *this; }
  Key& only_built(std::string value) {
    spec_.status = KeyStatus::planned;
    spec_.only_built = std::move(value);
    return *this;
  }
  Key& value(std::string name, std::string help, KeyStatus status = KeyStatus::built) {
    spec_.values.push_back({std::move(name), status, std::move(help)});
    return *this;
  }
  Key& planned_value(std::string name, std::string help) {
    return value(std::move(name), std::move(help), KeyStatus::planned);
  }
  Key& when(std::string key, std::vector<std::string> values) {
    spec_.when.push_back({std::move(key), std::move(values)});
    return *this;
  }
  Key& noun(std::string one, std::string many) {
    spec_.noun = std::move(one);
    spec_.nouns = std::move(many);
    return *this;
  }
  Key& open() { return spec_.open = true, *this; }
  operator KeySpec() const { return spec_; }  // NOLINT(google-explicit-constructor): the table reads better

 private:
  KeySpec spec_;
};

Key mapping(std::string path) { return Key(std::move(path), KeyType::mapping); }
Key integer(std::string path) { return Key(std::move(path), KeyType::integer); }
Key real(std::string path) { return Key(std::move(path), KeyType::real); }
Key boolean(std::string path) { return Key(std::move(path), KeyType::boolean); }
Key string(std::string path) { return Key(std::move(path), KeyType::string); }
Key path_key(std::string path) { return Key(std::move(path), KeyType::path); }
Key choice(std::string path) { return Key(std::move(path), KeyType::choice); }
Key quantity(std::string path, UnitKind unit) { return Key(std::move(path), KeyType::quantity).unit(unit); }
Key distribution(std::string path, std::optional<UnitKind> unit) {
  Key k(std::move(path), KeyType::distribution);
  if (unit) k.unit(*unit);
  return k;
}

std::vector<KeySpec> build_table() {
  std::vector<KeySpec> t;
  auto add = [&t](KeySpec k) { t.push_back(std::move(k)); };

  add(string("name")
          .computed("the scenario file's stem")
          .help("names the output folder results/<name>/ (at most 255 bytes: letters, digits, _ . -)"));
  add(integer("seed").def("1").range(0, kIntMax).help("seeds every random stream (keyed by seed, purpose and ids)"));

  // platform
  add(mapping("platform").help("the hosts and the network between them"));
  add(choice("platform.topology")
          .def("star")
          .noun("topology", "topologies")
          .help("how the hosts are connected")
          .value("star", "one server, every client on its own link to it")
          .value("sites", "clients grouped in sites behind shared uplinks, sites and server joined by a WAN core")
          .value("cluster", "every host on its own link to a switch, all routes through one shared backbone")
          .value("fat_tree", "hosts on the nodes of a fat-tree datacenter network (the server on node 0)")
          .value("xml", "a SimGrid platform file (platform.file), hosts picked by platform.map"));
  add(choice("platform.network_model")
          .def("flow")
          .noun("network model", "network models")
          .help("how transfers share links")
          .value("flow", "SimGrid LV08: concurrent TCP flows share each link's bandwidth")
          .value("analytic", "CM02, crosstraffic 0: an uncontended time is latency + bytes / bandwidth"));
  add(choice("platform.solver")
          .def("auto")
          .noun("solver", "solvers")
          .help("how transfer times are computed")
          .value("auto",
                 "on a star under network_model: analytic, the server's link shared by dtsim's exact solver of "
                 "SimGrid's own sharing, contended or not (the same times to 1e-9, O(log N) per event; not with "
                 "--simgrid network options); otherwise SimGrid's, on routes without the "
                 "server's link when it can never be a bottleneck (the clients' peak bandwidths sum to no more "
                 "than its own: the same times to 1e-12); runs.csv's message says which")
          .value("simgrid", "SimGrid's, on every link of the topology"));
  add(mapping("platform.server").help("the coordinating server's host and link"));
  add(quantity("platform.server.speed", UnitKind::flop_rate)
          .def("1Tf")
          .speed_range()
          .help("the server's compute speed (flops/s)"));
  add(quantity("platform.server.bandwidth", UnitKind::data_rate)
          .def("1Gbps")
          .bandwidth_range()
          .help("the server link's bandwidth, each direction (bytes/s)"));
  add(quantity("platform.server.latency", UnitKind::time)
          .def("1ms")
          .latency_range()
          .suspicious_above(10, "10s", kLongLatency)
          .help("the server link's latency (s; may be 0)"));
  add(mapping("platform.host_classes")
          .help("optional classes of client hosts, each named by its key; each client draws a class by weight, "
                "and a class's speed, bandwidth and latency replace the platform.clients draws of its members"));
  add(mapping("platform.host_classes.*").help("one host class, named by its key (phone, laptop, ...)"));
  add(real("platform.host_classes.*.weight")
          .def("1")
          .range(0, kInf)
          .help("the class's share of the clients (weights need not sum to 1)"));
  add(distribution("platform.host_classes.*.speed", UnitKind::flop_rate)
          .speed_range()
          .help("its members' compute speed, drawn per client (flops/s); absent: platform.clients.speed"));
  add(distribution("platform.host_classes.*.bandwidth", UnitKind::data_rate)
          .bandwidth_range()
          .when("platform.topology", {"star", "sites", "cluster"})
          .help("its members' link bandwidth (bytes/s); absent: platform.clients.bandwidth"));
  add(distribution("platform.host_classes.*.latency", UnitKind::time)
          .latency_range()
          .suspicious_above(10, "10s", kLongLatency)
          .when("platform.topology", {"star", "sites", "cluster"})
          .help("its members' link latency (s); absent: platform.clients.latency"));
  add(real("platform.host_classes.*.efficiency")
          .def("1")
          .range(0, 1, true)
          .help("fraction of the speed a training task achieves (compute time = flops / (speed x efficiency))"));
  add(real("platform.host_classes.*.watts_idle")
          .def("0")
          .range(0, kInf)
          .help("power drawn while not computing, from the round's start to the client's last stage end (W)"));
  add(real("platform.host_classes.*.watts_busy")
          .def("0")
          .range(0, kInf)
          .help("power drawn while computing (W)"));
  add(mapping("platform.clients").help("the client population"));
  add(integer("platform.clients.count").required().range(1, kBillion).help("registered clients"));
  add(distribution("platform.clients.speed", UnitKind::flop_rate)
          .def("1Gf")
          .speed_range()
          .help("each client's compute speed, drawn per client (flops/s); with topology xml, when given, it "
                "replaces the file's host speeds"));
  add(distribution("platform.clients.bandwidth", UnitKind::data_rate)
          .def("10Mbps")
          .bandwidth_range()
          .when("platform.topology", {"star", "sites", "cluster"})
          .help("each client link's bandwidth, drawn per client (bytes/s)"));
  add(distribution("platform.clients.latency", UnitKind::time)
          .def("20ms")
          .latency_range()
          .suspicious_above(10, "10s", kLongLatency)
          .when("platform.topology", {"star", "sites", "cluster"})
          .help("each client link's latency, drawn per client (s; may be 0)"));
  add(path_key("platform.clients.trace")
          .when("platform.topology", {"star", "sites", "cluster"})
          .help("per-client speeds and links from a CSV file (client,speed_flops_per_s,bandwidth_bytes_per_s"
                "[,latency_s]); client i takes row i mod the rows, replacing the speed, bandwidth and latency "
                "draws (tools/fedscale_capacity.py converts FedScale's device-capacity trace)"));
  add(mapping("platform.sites").when("platform.topology", {"sites"}).help("sites of clients"));
  add(integer("platform.sites.count")
          .required()
          .range(1, kBillion)
          .help("sites; client i belongs to site i mod count"));
  add(quantity("platform.sites.uplink", UnitKind::data_rate)
          .def("100Mbps")
          .bandwidth_range()
          .help("each site's uplink, shared by its clients (bytes/s, each direction)"));
  add(mapping("platform.sites.wan").help("the WAN core joining the sites and the server, shared by every site"));
  add(quantity("platform.sites.wan.bandwidth", UnitKind::data_rate)
          .def("1Gbps")
          .bandwidth_range()
          .help("WAN core bandwidth (bytes/s)"));
  add(quantity("platform.sites.wan.latency", UnitKind::time)
          .def("40ms")
          .latency_range()
          .suspicious_above(10, "10s", kLongLatency)
          .help("WAN core latency (s)"));
  add(mapping("platform.cluster").when("platform.topology", {"cluster"}).help("the cluster's switch"));
  add(mapping("platform.cluster.backbone").help("the backbone every route crosses, shared by every flow"));
  add(quantity("platform.cluster.backbone.bandwidth", UnitKind::data_rate)
          .def("10Gbps")
          .bandwidth_range()
          .help("backbone bandwidth (bytes/s)"));
  add(quantity("platform.cluster.backbone.latency", UnitKind::time)
          .def("10us")
          .latency_range()
          .help("backbone latency (s)"));
  add(mapping("platform.fat_tree")
          .when("platform.topology", {"fat_tree"})
          .help("SimGrid's fat tree (the cluster XML's topo_parameters levels;down;up;parallel)"));
  add(integer("platform.fat_tree.levels").def("2").range(1, 16).help("switch levels"));
  add(Key("platform.fat_tree.down", KeyType::int_list)
          .def("[4, 4]")
          .range(1, 65536)
          .help("children of a switch at each level, leaves first; the nodes are their product"));
  add(Key("platform.fat_tree.up", KeyType::int_list)
          .def("[1, 4]")
          .range(1, 65536)
          .help("parents of a node or switch at each level ([1, k, ...]: a full k-ary tree with [k, k, ...] down)"));
  add(Key("platform.fat_tree.parallel", KeyType::int_list)
          .def("[1, 1]")
          .range(1, 65536)
          .help("parallel links between a node or switch and each of its parents, per level"));
  add(mapping("platform.fat_tree.link").help("every link of the tree (split-duplex)"));
  add(quantity("platform.fat_tree.link.bandwidth", UnitKind::data_rate)
          .def("10Gbps")
          .bandwidth_range()
          .help("link bandwidth (bytes/s, each direction)"));
  add(quantity("platform.fat_tree.link.latency", UnitKind::time)
          .def("1us")
          .latency_range()
          .help("link latency (s)"));
  add(mapping("platform.workers")
          .planned()
          .when("platform.topology", {"cluster", "fat_tree"})
          .help("data- or expert-parallel workers"));
  add(integer("platform.workers.count").planned().range(1, kBillion).help("workers (devices)"));
  add(quantity("platform.workers.speed", UnitKind::flop_rate)
          .planned()
          .speed_range()
          .help("each worker's compute speed (flops/s)"));
  add(mapping("platform.workers.link").planned().help("each worker's link"));
  add(quantity("platform.workers.link.bandwidth", UnitKind::data_rate)
          .planned()
          .bandwidth_range()
          .help("worker link bandwidth (bytes/s)"));
  add(quantity("platform.workers.link.latency", UnitKind::time)
          .planned()
          .latency_range()
          .help("worker link latency (s)"));
  add(path_key("platform.file")
          .required()
          .when("platform.topology", {"xml"})
          .help("a SimGrid platform XML file (relative to the scenario's folder); checksummed into provenance"));
  add(mapping("platform.map")
          .when("platform.topology", {"xml"})
          .help("which hosts of platform.file play which role (ECMAScript regexes matched against whole host "
                "names, hosts taken in sorted name order)"));
  add(string("platform.map.server").required().help("the server's host: the first match (\"server\")"));
  add(string("platform.map.clients")
          .required()
          .help("the clients' hosts, the server's excluded; client i on match i mod matches, sharing its "
                "cores when there are more clients than hosts (\"node-.*\")"));

  // dynamics
  add(mapping("dynamics").help("how hosts misbehave; every key is optional, absent means none"));
  add(distribution("dynamics.straggler", std::nullopt)
          .range(0, 1e6, true)
          .limits("", "1e6", "a factor must be > 0; above 10^6 a task's time leaves what SimGrid can simulate")
          .help("a factor on each task's time, drawn per client and round ({dist: shifted_exponential, shift: 1, "
                "rate: 2}, lognormal, pareto, ...); what it slows is dynamics.straggler_target"));
  add(choice("dynamics.straggler_target")
          .def("compute")
          .noun("straggler target", "straggler targets")
          .help("what dynamics.straggler and dynamics.slow_hosts slow down")
          .value("compute", "the task's compute time (its flops run straggler times slower)")
          .value("link", "the task's transfers (uncontended: latency + factor x bytes / bandwidth)")
          .value("both", "compute and transfers, by the same factor"));
  add(mapping("dynamics.slow_hosts").help("persistent stragglers: a share of the clients always slower"));
  add(real("dynamics.slow_hosts.fraction")
          .required()
          .range(0, 1)
          .help("each client is a slow host with this probability (drawn once per client)"));
  add(real("dynamics.slow_hosts.factor")
          .required()
          .range(1, 1e6)
          .help("how many times slower a slow host is (on dynamics.straggler_target)"));
  add(mapping("dynamics.availability").help("when clients are online; a client offline at a round's start is "
                                            "never selected, one going offline mid-task is unavailable"));
  add(choice("dynamics.availability.model")
          .computed("trace when dynamics.availability.trace is given, else markov")
          .noun("availability model", "availability models")
          .help("how on and off periods alternate")
          .value("markov", "exponential on and off periods (mean_on, mean_off), started in the stationary state")
          .value("trace", "online intervals per client from dynamics.availability.trace"));
  add(quantity("dynamics.availability.mean_on", UnitKind::time)
          .when("dynamics.availability.model", {"markov"})
          .required()
          .range(0, kInf, true)
          .help("mean online period (s)"));
  add(quantity("dynamics.availability.mean_off", UnitKind::time)
          .when("dynamics.availability.model", {"markov"})
          .required()
          .range(0, kInf, true)
          .help("mean offline period (s)"));
  add(path_key("dynamics.availability.trace")
          .when("dynamics.availability.model", {"trace"})
          .required()
          .help("CSV with header client,start_s,end_s: the online intervals of trace clients 0..M-1; client i "
                "follows trace client i mod M (tools/fedscale_availability.py converts "
                "FedScale's client_behave_trace)"));
  add(mapping("dynamics.epoch_stragglers")
          .help("FedProx's straggler protocol (its paper mode, Li et al. 2020 §5.2): each round a share of the "
                "planned clients does fewer local epochs; they deliver them with training.partial_work (FedProx), "
                "else they stop after them without uploading, late (FedAvg drops them)"));
  add(real("dynamics.epoch_stragglers.fraction")
          .required()
          .range(0, 1)
          .help("the share of each round's planned clients that straggle: all but round(planned x (1 - fraction)) "
                "of them, drawn per round; each does U{1..E-1} of its E local epochs, drawn per client and round"));
  add(mapping("dynamics.crash").help("clients that crash during their work"));
  add(real("dynamics.crash.probability")
          .required()
          .range(0, 1)
          .help("per selected client per round; the crash falls at a uniform point of its planned work "
                "(download + compute + upload, uncontended)"));
  add(mapping("dynamics.bandwidth_profile")
          .when("platform.topology", {"star", "sites", "cluster"})
          .help("link bandwidths that change over time (SimGrid link profiles on every client's own link)"));
  add(path_key("dynamics.bandwidth_profile.trace")
          .required()
          .help("CSV with header client,time_s,bandwidth_bytes_per_s: from each time on, the bandwidth of trace "
                "client c's link (both ways); client i follows trace client i mod M, its drawn bandwidth until the "
                "first time"));

  // workload
  add(mapping("workload").help("what is learned: data, its split over clients, the model, local training"));
  add(mapping("workload.dataset").help("the training and test data"));
  add(choice("workload.dataset.name")
          .required()
          .noun("dataset", "datasets")
          .help("which dataset")
          .value("fashion_mnist", "Fashion-MNIST images (28x28, 10 classes) read from idx files")
          .value("synthetic", "FedProx synthetic(alpha, beta): one generated user per client (Li et al., MLSys 2020)"));
  const std::vector<std::string> fmnist{"fashion_mnist"}, synthetic{"synthetic"};
  add(path_key("workload.dataset.path")
          .def("/usr/share/datasets/fashion-mnist")
          .when("workload.dataset.name", fmnist)
          .help("the folder holding the four Fashion-MNIST idx files"));
  add(integer("workload.dataset.max_train")
          .def("0")
          .range(0, kIntMax)
          .when("workload.dataset.name", fmnist)
          .help("0 = all 60,000 training samples; else the first max_train"));
  add(integer("workload.dataset.max_test")
          .def("0")
          .range(0, kIntMax)
          .when("workload.dataset.name", fmnist)
          .help("0 = all 10,000 test samples; else the first max_test"));
  add(mapping("workload.dataset.normalize")
          .when("workload.dataset.name", fmnist)
          .help("pixel normalisation: (x/255 - mean) / std (the PyTorch FedAvg code: mean 0.1307, std 0.3081)"));
  add(real("workload.dataset.normalize.mean").def("0").range(-1e6, 1e6).help("subtracted from each pixel in [0, 1]"));
  add(real("workload.dataset.normalize.std").def("1").range(1e-6, 1e6).help("divides each pixel after the mean"));
  add(real("workload.dataset.alpha")
          .def("1")
          .range(0, kInf)
          .when("workload.dataset.name", synthetic)
          .help("how much the users' models differ (FedProx alpha)"));
  add(real("workload.dataset.beta")
          .def("1")
          .range(0, kInf)
          .when("workload.dataset.name", synthetic)
          .help("how much the users' inputs differ (FedProx beta)"));
  add(boolean("workload.dataset.iid")
          .def("false")
          .when("workload.dataset.name", synthetic)
          .help("one model and input distribution shared by every user"));
  add(integer("workload.dataset.dimension")
          .def("60")
          .range(1, 100'000)
          .when("workload.dataset.name", synthetic)
          .help("features per sample"));
  add(integer("workload.dataset.classes")
          .def("10")
          .range(2, 1000)
          .when("workload.dataset.name", synthetic)
          .help("label classes"));
  add(mapping("workload.partition").help("how the training samples are split over the clients"));
  add(choice("workload.partition.name")
          .def("iid")
          .def_when("workload.dataset.name", "synthetic", "natural")
          .noun("partition", "partitions")
          .help("the split")
          .value("iid", "uniform random split into equal shares (default for fashion_mnist)")
          .value("dirichlet", "per-class label proportions drawn from Dirichlet(alpha)")
          .value("shards", "sorted by label, cut into shards, each client takes shards_per_client")
          .value("natural", "the dataset's own users (synthetic only; its default)"));
  add(real("workload.partition.alpha")
          .def("0.5")
          .range(0, kInf, true)
          .when("workload.partition.name", {"dirichlet"})
          .suspicious_below(0.01, "0.01", "nearly every client then holds a single class")
          .help("Dirichlet concentration: small = strong label skew"));
  add(integer("workload.partition.shards_per_client")
          .def("2")
          .range(1, 1000)
          .when("workload.partition.name", {"shards"})
          .help("label-sorted shards each client takes"));
  add(mapping("workload.model").help("the model every client trains"));
  add(choice("workload.model.name")
          .required()
          .noun("model", "models")
          .help("the architecture")
          .value("logistic", "multinomial logistic regression")
          .value("mlp", "multilayer perceptron with ReLU hidden layers")
          .value("cnn", "a convolutional network for images (default: CNNMnist of the PyTorch FedAvg code)")
          .planned_value("moe", "a mixture of experts (workload.moe)"));
  add(Key("workload.model.hidden", KeyType::int_list)
          .def("[200]")
          .range(1, 65536)
          .when("workload.model.name", {"mlp"})
          .help("widths of the hidden layers, input side first"));
  add(real("workload.model.dropout")
          .def("0")
          .range(0, 1, false, true)
          .when("workload.model.name", {"mlp", "cnn"})
          .help("probability of dropping a unit in training (mlp: after each hidden layer; cnn: Dropout2d after "
                "every convolution but the first, and after the dense layer); masks keyed per client, round, "
                "step and layer"));
  add(Key("workload.model.channels", KeyType::int_list)
          .def("[10, 20]")
          .range(1, 4096)
          .when("workload.model.name", {"cnn"})
          .help("output channels of each convolution, each followed by 2x2 max-pooling and ReLU "
                "([32, 64] with dense 512 and padding 2: the FedAvg paper's CNN)"));
  add(integer("workload.model.kernel")
          .def("5")
          .range(1, 31)
          .when("workload.model.name", {"cnn"})
          .help("side of the square convolution kernels"));
  add(integer("workload.model.padding")
          .def("0")
          .range(0, 30)
          .when("workload.model.name", {"cnn"})
          .help("zero padding on every side of each convolution (kernel // 2 keeps the image size)"));
  add(integer("workload.model.dense")
          .def("50")
          .range(1, 1'000'000)
          .when("workload.model.name", {"cnn"})
          .help("width of the hidden dense layer after the convolutions"));
  add(mapping("workload.local").help("local training on each client: SGD, PyTorch semantics"));
  add(integer("workload.local.epochs").def("1").range(1, 100'000).help("passes over the client's samples per round"));
  add(integer("workload.local.batch_size").def("10").range(1, kBillion).help("samples per SGD step"));
  add(real("workload.local.lr")
          .def("0.01")
          .range(0, 1e6, true)
          .suspicious_above(1, "1", "a learning rate above 1 usually makes SGD diverge")
          .help("SGD learning rate"));
  add(real("workload.local.momentum")
          .def("0")
          .range(0, 1, false, true)
          .reason("momentum 1 or more never forgets a gradient, so local SGD diverges")
          .help("SGD momentum"));
  add(real("workload.local.weight_decay")
          .def("0")
          .range(0, kInf)
          .suspicious_above(0.1, "0.1", "weight decay that strong drives the weights to 0")
          .help("L2 weight decay added to the gradient"));
  add(distribution("workload.local.epochs_dist", std::nullopt)
          .range(1, 100'000)
          .limits("1", "100000", "a client trains from one to workload.local.epochs' most epochs")
          .help("local epochs drawn per client and round ({dist: choice, values: [1, 2, 5]}; a draw is rounded "
                "down to whole epochs); replaces epochs"));
  add(mapping("workload.byzantine").planned().help("clients that send malicious updates"));
  add(real("workload.byzantine.fraction").planned().range(0, 1).help("share of the clients that are byzantine"));
  add(choice("workload.byzantine.behaviour")
          .planned()
          .noun("byzantine behaviour", "byzantine behaviours")
          .help("what a byzantine client sends")
          .planned_value("sign_flip", "its update, negated"));
  add(mapping("workload.moe").planned().when("workload.model.name", {"moe"}).help("the mixture-of-experts model"));
  add(integer("workload.moe.experts").planned().range(1, 1e6).help("experts per MoE layer"));
  add(integer("workload.moe.top_k").planned().range(1, 1e6).help("experts each token is routed to"));
  add(real("workload.moe.capacity_factor")
          .planned()
          .range(0, kInf, true)
          .help("expert capacity as a multiple of the even share of tokens"));
  add(integer("workload.moe.d_model").planned().range(1, 1e6).help("model (token) width"));
  add(integer("workload.moe.d_ff").planned().range(1, 1e6).help("each expert's hidden width"));
  add(mapping("workload.moe.balancing").planned().help("load balancing across experts"));
  add(choice("workload.moe.balancing.name")
          .planned()
          .noun("balancing", "balancings")
          .help("the balancing rule")
          .planned_value("aux_loss", "an auxiliary load-balancing loss"));
  add(real("workload.moe.balancing.weight").planned().range(0, kInf).help("weight of the auxiliary loss"));
  add(mapping("workload.moe.routing").planned().help("how tokens pick experts"));
  add(choice("workload.moe.routing.name")
          .planned()
          .noun("routing", "routings")
          .help("the router")
          .planned_value("learned", "a learned gate (top-k softmax)"));

  // training
  add(mapping("training").help("the training protocol"));
  add(choice("training.paradigm")
          .def("federated")
          .noun("paradigm", "paradigms")
          .help("who trains and how updates meet")
          .value("federated", "a server aggregates the selected clients' local updates each round")
          .planned_value("data_parallel", "workers all-reduce gradients every step")
          .planned_value("expert_parallel", "experts spread over devices; tokens move all-to-all"));
  add(choice("training.compute")
          .def("real")
          .noun("compute mode", "compute modes")
          .help("whether learning is computed")
          .value("real", "real training on real data: loss and accuracy are measured")
          .value("none", "timing only, no training (as --no-train)"));
  add(choice("training.mode")
          .def("sync")
          .noun("mode", "modes")
          .help("when the server aggregates")
          .value("sync", "rounds: select, collect by the round's rule, aggregate")
          .planned_value("async", "the server applies each update as it arrives")
          .planned_value("buffered", "the server aggregates every `buffer` arrivals"));
  add(integer("training.rounds").def("10").range(1, kBillion).help("server aggregations (global model versions)"));
  add(integer("training.clients_per_round")
          .def("10")
          .range(1, kBillion)
          .help("K: clients kept per round (at most platform.clients.count)"));
  add(integer("training.eval_every")
          .def("1")
          .range(0, kIntMax)
          .help("evaluate the global model every n-th round and after the last; 0: only after the last"));
  add(boolean("training.eval_train")
          .def("false")
          .help("when the global model is evaluated, also on every training sample (rounds.csv global_train_loss, "
                "global_train_accuracy: the federated objective; one forward pass over the training set)"));
  add(quantity("training.deadline", UnitKind::time)
          .range(0, kInf, true)
          .when("training.mode", {"sync"})
          .suspicious_below(1e-3, "1ms", "that is shorter than a network round trip, so every client is late")
          .help("a round ends this long after it starts, downloads included (s); absent = wait for all"));
  add(real("training.over_selection")
          .def("1")
          .range(1, kInf)
          .suspicious_above(3, "3", "most selected clients' work is then thrown away")
          .help("select ceil(f x K) clients (capped at the population), keep the first K to arrive"));
  add(integer("training.min_completed")
          .def("1")
          .range(1, kBillion)
          .help("a round with fewer arrivals keeps the model unchanged (at most clients_per_round)"));
  add(boolean("training.partial_work")
          .def("false")
          .when("training.mode", {"sync"})
          .help("a client that would miss the deadline trains only the whole local steps that end by it and "
                "uploads them at once (FedProx's partial work; needs training.deadline, or dynamics.epoch_stragglers, whose "
                "stragglers then deliver their fewer epochs)"));
  add(integer("training.buffer")
          .planned()
          .range(1, kBillion)
          .when("training.mode", {"buffered"})
          .help("arrivals per aggregation"));
  add(integer("training.concurrency")
          .planned()
          .range(1, kBillion)
          .when("training.mode", {"async", "buffered"})
          .help("clients training at once"));
  add(integer("training.steps")
          .planned()
          .range(1, kBillion)
          .when("training.paradigm", {"data_parallel", "expert_parallel"})
          .help("training steps (each one round)"));
  add(integer("training.partitions")
          .planned()
          .range(1, kBillion)
          .when("training.paradigm", {"data_parallel"})
          .help("data partitions the gradient is computed over"));
  add(integer("training.checkpoint_every")
          .def("10")
          .range(0, kBillion)
          .help("rounds between checkpoints (for --resume); 0 = off"));
  add(mapping("training.divergence").help("ending a run whose loss explodes"));
  add(real("training.divergence.factor")
          .def("1e6")
          .range(1, kInf, true)
          .help("a training loss above factor x the first measured one (at least ln(classes)) ends the run, diverged"));

  // policies
  add(mapping("policies").help("the swappable rules that steer training (dtsim list names them)"));
  add(mapping("policies.aggregation").open().help("the aggregation rule"));
  add(string("policies.aggregation.name").def("fedavg").help("a registered aggregation policy"));
  add(mapping("policies.scheduling").open().help("the client selection"));
  add(string("policies.scheduling.name").def("uniform").help("a registered scheduling policy"));
  add(mapping("policies.coding").planned().help("gradient coding against stragglers"));
  add(string("policies.coding.name").planned().help("a coding scheme (cyclic_repetition, ...)"));
  add(integer("policies.coding.stragglers").planned().range(0, kBillion).help("stragglers the code tolerates"));
  add(mapping("policies.placement").planned().help("where experts live"));
  add(string("policies.placement.name").planned().help("a placement policy (replicate_hot, ...)"));
  add(integer("policies.placement.every").planned().range(1, kBillion).help("rounds between re-placements"));
  add(integer("policies.placement.memory").planned().range(1, kBillion).help("experts a device can hold"));

  // output
  add(mapping("output").help("what is written besides rounds.csv and runs.csv"));
  add(boolean("output.clients_csv").def("true").help("write clients.csv (one row per selected client and round)"));
  add(integer("output.every").def("1").range(1, kBillion).help("write clients.csv rows for every n-th round"));

  add(Key("simgrid", KeyType::any)
          .help("the --simgrid options that change timings, as a list of --cfg=KEY:VALUE (run.yaml records them; a "
                "rerun applies them, checked against dtsim's allow-list)"));
  add(mapping("sweep").help("written by dtsim sweep into a point's run.yaml: which point of the sweep this run is"));
  add(integer("sweep.point")
          .required()
          .range(0, 9999999)
          .help("the point's index: its run_id is <name>#<point, 4 digits or more>"));
  add(Key("sweep.params", KeyType::any)
          .help("the point's swept keys and values (runs.csv gets one param.<key> column each, in this order)"));
  add(Key("provenance", KeyType::any)
          .help("written into run.yaml by a run (version, commit, build, CPU, inputs' checksums); a rerun checks "
                "the inputs' checksums and warns about another build or CPU"));
  return t;
}

struct Index {
  std::vector<KeySpec> table = build_table();
  std::unordered_map<std::string_view, const KeySpec*> by_path;
  std::vector<const KeySpec*> patterns;  // the paths with a "*" segment
  Index() {
    for (const auto& k : table) {
      by_path.emplace(k.path, &k);
      if (k.path.find('*') != std::string::npos) patterns.push_back(&k);
    }
  }
};

const Index& index() {
  static const Index i;
  return i;
}

std::string_view parent_of(std::string_view path) {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

// Matches `path` against `pattern` segment by segment, "*" matching any one segment.
bool matches(std::string_view pattern, std::string_view path) {
  while (true) {
    const auto pd = pattern.find('.'), qd = path.find('.');
    const auto ps = pattern.substr(0, pd), qs = path.substr(0, qd);
    if (ps != "*" && ps != qs) return false;
    if ((pd == std::string_view::npos) != (qd == std::string_view::npos)) return false;
    if (pd == std::string_view::npos) return true;
    pattern.remove_prefix(pd + 1);
    path.remove_prefix(qd + 1);
  }
}

std::string number_text(double v) {
  if (v >= kIntMax) return "max";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<std::int64_t>(v));
  return fmt::format("{}", v);
}

const char* unit_symbol(UnitKind u) {
  switch (u) {
    case UnitKind::flop_rate:
      return "flops/s";
    case UnitKind::data_rate:
      return "bytes/s";
    case UnitKind::time:
      return "s";
    case UnitKind::data_size:
      return "bytes";
  }
  return "";
}

const char* unit_noun(UnitKind u) {
  switch (u) {
    case UnitKind::flop_rate:
      return "flop rate";
    case UnitKind::data_rate:
      return "data rate";
    case UnitKind::time:
      return "time";
    case UnitKind::data_size:
      return "data size";
  }
  return "";
}

std::string status_text(const KeySpec& k) {
  if (k.only_built) return "planned (only " + *k.only_built + " built)";
  return k.status == KeyStatus::built ? "built" : "planned";
}

std::string default_text(const KeySpec& k) {
  std::string out;
  switch (k.default_kind) {
    case DefaultKind::value:
      out = k.default_text;
      break;
    case DefaultKind::required:
      out = "required";
      break;
    case DefaultKind::none:
      out = k.type == KeyType::mapping || k.type == KeyType::any ? "" : "none";
      break;
    case DefaultKind::computed:
      out = "<" + k.default_text + ">";
      break;
  }
  for (const auto& d : k.default_when) {
    std::string values;
    for (const auto& v : d.when.values) values += (values.empty() ? "" : "|") + v;
    out += " (" + d.value + " if " + d.when.key + "=" + values + ")";
  }
  return out;
}

std::string condition_text(const KeySpec& k) {
  std::string out;
  for (const auto& c : k.when) {
    std::string values;
    for (const auto& v : c.values) values += (values.empty() ? "" : "|") + v;
    out += (out.empty() ? "only when " : " and ") + c.key + " is " + values;
  }
  return out;
}

std::string suspicious_text(const KeySpec& k) {
  if (!k.suspicious) return "";
  const auto& s = *k.suspicious;
  return "warns " + (s.below ? "below " + s.below_text : "above " + s.above_text) + ": " + s.reason;
}

// Plain text in a markdown table cell: no line break, no '|' that would end the cell, no '<' read as HTML.
std::string md_text(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c == '\n' ? ' ' : c;
  }
  return out;
}

// Code in a markdown table cell; '|' still needs its escape there.
std::string md_code(const std::string& text) {
  if (text.empty()) return "";
  std::string out = "`";
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out + "`";
}

std::string md_default(const KeySpec& k) {
  switch (k.default_kind) {
    case DefaultKind::value: {
      std::string out = md_code(k.default_text);
      for (const auto& d : k.default_when)
        out += " (" + md_code(d.value) + " when " + md_code(d.when.key) + " is " + md_code(d.when.values[0]) + ")";
      return out;
    }
    case DefaultKind::required:
      return "required";
    case DefaultKind::none:
      return k.type == KeyType::mapping || k.type == KeyType::any ? "" : "none";
    case DefaultKind::computed:
      return md_text(k.default_text);
  }
  return "";
}

}  // namespace

std::vector<std::string> KeySpec::built_values() const {
  std::vector<std::string> out;
  for (const auto& v : values)
    if (v.status == KeyStatus::built) out.push_back(v.name);
  return out;
}

const ChoiceValue* KeySpec::value(std::string_view name) const {
  for (const auto& v : values)
    if (v.name == name) return &v;
  return nullptr;
}

const std::vector<KeySpec>& schema() { return index().table; }

const KeySpec* find_key(std::string_view path) {
  const auto& i = index();
  if (const auto it = i.by_path.find(path); it != i.by_path.end()) return it->second;
  for (const KeySpec* k : i.patterns)
    if (matches(k->path, path)) return k;
  return nullptr;
}

std::vector<const KeySpec*> schema_children(std::string_view parent) {
  std::vector<const KeySpec*> out;
  for (const auto& k : schema())
    if (parent_of(k.path) == parent) out.push_back(&k);
  return out;
}

std::string type_text(const KeySpec& k) {
  switch (k.type) {
    case KeyType::integer:
      return "integer";
    case KeyType::real:
      return "real";
    case KeyType::boolean:
      return "boolean";
    case KeyType::string:
      return "string";
    case KeyType::path:
      return "path";
    case KeyType::choice:
      return "choice";
    case KeyType::quantity:
      return fmt::format("{} ({})", unit_noun(*k.unit), unit_symbol(*k.unit));
    case KeyType::distribution:
      return k.unit ? fmt::format("distribution of {} ({})", unit_noun(*k.unit), unit_symbol(*k.unit))
                    : "distribution (unitless)";
    case KeyType::int_list:
      return "list of integers";
    case KeyType::mapping:
      return "mapping";
    case KeyType::any:
      return "any";
  }
  return "";
}

std::string range_text(const KeySpec& k) {
  const Range& r = k.range;
  if (r.min == -kInf && r.max == kInf) return "";
  const std::string lo = r.min == -kInf ? "-inf" : r.min_text.empty() ? number_text(r.min) : r.min_text;
  const std::string hi = r.max == kInf ? "inf" : r.max_text.empty() ? number_text(r.max) : r.max_text;
  const bool lo_open = r.min_open || r.min == -kInf, hi_open = r.max_open || r.max == kInf;
  const std::string range = std::string(lo_open ? "(" : "[") + lo + ", " + hi + (hi_open ? ")" : "]");
  return k.type == KeyType::int_list ? "each in " + range : range;
}

std::string schema_text() {
  struct Row {
    std::string path, type, def, range, status, help;
  };
  std::vector<Row> rows{{"KEY", "TYPE", "DEFAULT", "RANGE", "STATUS", "HELP"}};
  for (const auto& k : schema()) {
    std::string help = k.help;
    if (const auto c = condition_text(k); !c.empty()) help += "; " + c;
    if (const auto s = suspicious_text(k); !s.empty()) help += "; " + s;
    if (k.open) help += "; further keys: the component's parameters (see the registries above)";
    rows.push_back({k.path, type_text(k), default_text(k), range_text(k), status_text(k), help});
    for (const auto& v : k.values)
      rows.push_back({"  = " + v.name, "", "", "", v.status == KeyStatus::built ? "built" : "planned", v.help});
  }
  std::size_t widths[5] = {};
  for (const auto& r : rows) {
    const std::string* cells[5] = {&r.path, &r.type, &r.def, &r.range, &r.status};
    for (int i = 0; i < 5; ++i) widths[i] = std::max(widths[i], cells[i]->size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line = fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {}", r.path, widths[0], r.type, widths[1],
                                   r.def, widths[2], r.range, widths[3], r.status, widths[4], r.help);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string schema_markdown() {
  std::string out =
      "Every key of a scenario, generated from the schema table (sim/scenario/schema.cpp) by "
      "`schema_markdown()`.\n"
      "Planned keys and values are part of the v1 tree but not built yet: a scenario that sets them is "
      "refused with \"not implemented yet\".\n"
      "Ranges are in SI units (flops/s, bytes/s, s); a quantity is written with its unit (`5Gf`, `20Mbps`, "
      "`30ms`). A distribution is a bare value (a constant) or `{dist: uniform, min: ..., max: ...}` "
      "(constant, uniform, normal, lognormal, choice); a draw outside its key's range is drawn again (at most "
      "100 times, then clamped), and a distribution with less than 1 % of its draws inside is refused.\n";
  std::string section;
  for (const auto& k : schema()) {
    // A section per top-level mapping; the top-level values before the first one share one.
    const bool top = k.path.find('.') == std::string::npos;
    const std::string name =
        top && k.type != KeyType::mapping && k.type != KeyType::any && (section.empty() || section == "top level")
            ? "top level"
            : k.path.substr(0, k.path.find('.'));
    if (name != section) {
      section = name;
      out +=
          "\n## " + name + "\n\n| Key | Type | Default | Range | Status | Description |\n|---|---|---|---|---|---|\n";
    }
    std::string help = md_text(k.help);
    if (const auto c = condition_text(k); !c.empty()) help += "; " + md_text(c);
    if (const auto s = suspicious_text(k); !s.empty()) help += "; " + md_text(s);
    if (k.open) help += "; its other keys are the component's parameters (`dtsim list`)";
    for (const auto& v : k.values)
      help += "<br>" + md_code(v.name) + (v.status == KeyStatus::built ? "" : " (planned)") + ": " + md_text(v.help);
    out += "| " + md_code(k.path) + " | " + md_text(type_text(k)) + " | " + md_default(k) + " | " +
           md_text(range_text(k)) + " | " + status_text(k) + " | " + help + " |\n";
  }
  return out;
}

}  // namespace dtsim
