// The scenario as plain structs, with units and defaults resolved (SI units: flops/s, bytes/s, s).
// read_scenario() reads a YAML file (plus --set overrides) through Params and the schema table
// (schema.hpp: every key's type, unit, default, range and status), collecting every error and warning,
// and finish_validation() throws one ConfigError listing the errors. Keys and values of the v1 schema
// that are not built yet are rejected with "not implemented yet" (DESIGN.md, "Scenario schema (v1)").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/common/build_context.hpp"
#include "sim/scenario/traces.hpp"
#include "sim/scenario/distribution.hpp"
#include "sim/scenario/params.hpp"

namespace dtsim {

// What SimGrid 3.32 can simulate (measured): the loader rejects explicit values outside these ranges and
// distributions with less than 1 % of their draws inside, and the engine draws again a value drawn outside
// (Distribution::draw_within).
inline constexpr double kMinSpeedFlopsPerS = 1;          // slower hosts overflow task times (deadlock)
inline constexpr double kMinBandwidthBytesPerS = 0.125;  // 1 bps; the flow solver fails below ~0.4 bps
inline constexpr double kMaxLatencyS = 86400;            // 1 day; longer starves TCP windows below that rate

struct ServerSpec {
  double speed_flops_per_s = 1e12;        // default 1Tf
  double bandwidth_bytes_per_s = 1.25e8;  // default 1Gbps
  double latency_s = 1e-3;                // default 1ms
};

struct ClientsSpec {
  std::int64_t count = 0;  // required, >= 1
  Distribution speed;      // flops/s, drawn per client (default constant 1Gf)
  Distribution bandwidth;  // bytes/s, drawn per client (default constant 10Mbps)
  Distribution latency;    // s, drawn per client (default constant 20ms; may be 0)
  bool speed_given = false;  // platform.clients.speed is in the scenario (xml: it replaces the file's speeds)
  std::string trace;                    // platform.clients.trace, absolute; empty: none
  std::vector<ClientTraceRow> trace_rows;  // its rows (client i takes row i mod size); they replace the draws
};

enum class NetworkModel { flow, analytic };

// One named class of client hosts (platform.host_classes.<name>): each client draws a class by weight;
// a class's distributions, when given, replace the platform.clients draws of its members.
struct HostClassSpec {
  std::string name;
  double weight = 1;
  std::optional<Distribution> speed, bandwidth, latency;
  double efficiency = 1;  // compute time = flops / (speed × efficiency)
  double watts_idle = 0, watts_busy = 0;
};

// A link's bandwidth (bytes/s, each direction) and latency (s).
struct LinkSpec {
  double bandwidth_bytes_per_s = 0;
  double latency_s = 0;
};

// topology sites: clients spread round-robin over `count` sites; each site's clients share its uplink,
// and every site and the server meet on one shared WAN core.
struct SitesSpec {
  std::int64_t count = 1;
  double uplink_bytes_per_s = 1.25e7;  // default 100Mbps
  LinkSpec wan{1.25e8, 0.04};          // default 1Gbps, 40ms
};

// topology cluster: every host on its own link to a switch, every route through one shared backbone.
struct ClusterSpec {
  LinkSpec backbone{1.25e9, 1e-5};  // default 10Gbps, 10us
};

// topology fat_tree: SimGrid's fat tree (its cluster XML's topo_parameters "levels;down;up;parallel"),
// every link alike; nodes Π down, the server on node 0 and client i on node i + 1.
struct FatTreeSpec {
  std::int64_t levels = 2;
  std::vector<std::int64_t> down{4, 4};    // children of a switch, per level (leaves first)
  std::vector<std::int64_t> up{1, 4};      // parents of a node, per level
  std::vector<std::int64_t> parallel{1, 1};  // parallel links between a node and each parent, per level
  LinkSpec link{1.25e9, 1e-6};             // default 10Gbps, 1us
};

// topology xml: a SimGrid platform file; hosts matched by name.
struct XmlSpec {
  std::string file;            // absolute after loading
  std::string server_pattern;  // ECMAScript regex matched against whole host names
  std::string clients_pattern;
};

struct PlatformSpec {
  std::string topology = "star";  // star | sites | cluster | fat_tree | xml
  NetworkModel network_model = NetworkModel::flow;
  bool simgrid_solver = false;  // platform.solver: simgrid (every link simulated, none left out of a route)
  // Not from the scenario: --simgrid sets network/, surf/ or maxmin/ options (the run's, set by the engine),
  // which dtsim's exact server-link solver does not model, so SimGrid's solver shares the link.
  bool simgrid_network_options = false;
  ServerSpec server;
  ClientsSpec clients;
  std::vector<HostClassSpec> host_classes;  // in file order; empty: one implicit class, no power model
  BandwidthSteps bandwidth_steps;           // dynamics.bandwidth_profile's, for the builders (empty: none)
  SitesSpec sites;
  ClusterSpec cluster;
  FatTreeSpec fat_tree;
  XmlSpec xml;
};

struct DatasetSpec {
  std::string name;  // fashion_mnist | synthetic
  // fashion_mnist
  std::string path = "/usr/share/datasets/fashion-mnist";
  std::int64_t max_train = 0;  // 0 = all 60,000; else the first max_train samples
  std::int64_t max_test = 0;   // 0 = all 10,000
  double normalize_mean = 0;   // pixels are (x/255 − mean) / std
  double normalize_std = 1;
  // synthetic (FedProx synthetic(alpha, beta)); one generated user per client
  double alpha = 1.0;
  double beta = 1.0;
  bool iid = false;
  std::int64_t dimension = 60;
  std::int64_t classes = 10;
};

struct PartitionSpec {
  std::string name;                    // iid | dirichlet | shards | natural (synthetic only)
  double alpha = 0.5;                  // dirichlet concentration
  std::int64_t shards_per_client = 2;  // shards
};

struct ModelSpec {
  std::string name;                  // logistic | mlp | cnn
  std::vector<std::int64_t> hidden;  // mlp hidden widths (default [200]); empty for logistic
  double dropout = 0;                // mlp, cnn: in [0, 1)
  // cnn (models/cnn.hpp)
  std::vector<std::int64_t> channels = {10, 20};
  std::int64_t kernel = 5;
  std::int64_t padding = 0;
  std::int64_t dense = 50;
};

struct LocalSpec {
  std::int64_t epochs = 1;
  // workload.local.epochs_dist: local epochs drawn per (client, round), rounded down to whole epochs;
  // replaces `epochs` when set.
  std::optional<Distribution> epochs_dist;
  std::int64_t batch_size = 10;
  double lr = 0.01;
  double momentum = 0;      // in [0, 1); PyTorch SGD semantics (models/mlp.hpp)
  double weight_decay = 0;  // >= 0, finite
};

// dynamics.*: how clients misbehave (DESIGN "Dynamics"); every part optional, absent means none.
enum class StragglerTarget { compute, link, both };
enum class AvailabilityModel { always, markov, trace };
struct DynamicsSpec {
  // A factor on each task's time, drawn per (client, round) (dynamics.straggler), times the persistent
  // factor of a slow host (dynamics.slow_hosts: each client is one with probability `fraction`).
  std::optional<Distribution> straggler;
  double slow_fraction = 0;
  double slow_factor = 1;
  StragglerTarget target = StragglerTarget::compute;  // what the factors slow: compute time, link rate, or both
  AvailabilityModel availability = AvailabilityModel::always;
  double mean_on_s = 0, mean_off_s = 0;  // markov
  std::string availability_trace;        // trace: absolute path of the CSV (client,start_s,end_s)
  double crash_probability = 0;          // per selected client per round
  std::string bandwidth_profile;         // absolute path of the CSV (client,time_s,bandwidth_bytes_per_s)
  // FedProx's straggler protocol (paper mode, dynamics.epoch_stragglers): each round this share of the
  // planned clients does only U{1..E-1} of its E local epochs.
  std::optional<double> epoch_straggler_fraction;
};

struct WorkloadSpec {
  DatasetSpec dataset;
  PartitionSpec partition;
  ModelSpec model;
  LocalSpec local;
};

enum class ComputeMode { real, none };
enum class ParadigmKind { federated, data_parallel, expert_parallel };
const char* to_string(ParadigmKind p);  // "federated", ...
const char* to_string(TrainingMode m);  // "sync", ...

struct TrainingSpec {
  ParadigmKind paradigm = ParadigmKind::federated;
  TrainingMode mode = TrainingMode::sync;
  std::int64_t rounds = 10;
  std::int64_t clients_per_round = 10;  // K, <= clients.count
  std::int64_t eval_every = 1;          // 0 = only after the last round
  bool eval_train = false;              // evaluations also on the training set
  ComputeMode compute = ComputeMode::real;
  // Round protocol (federated sync). deadline_s: from the round's start (selection), downloads
  // included; absent = wait for every selected client. over_selection f >= 1: select ceil(f·K)
  // (capped at the population), keep the first K to arrive. min_completed: a round with fewer
  // arrivals keeps the model unchanged (still a round).
  std::optional<double> deadline_s;
  double over_selection = 1.0;
  std::int64_t min_completed = 1;
  // A client that would miss the deadline computes only the whole local steps that end by it and
  // uploads those (FedProx's partial work); needs a deadline.
  bool partial_work = false;
  std::int64_t checkpoint_every = 10;  // rounds between checkpoints (for --resume); 0 = off
  double divergence_factor = 1e6;      // training.divergence.factor
};

// A policy chosen by name; its parameters are read later by the family's factory through `params`
// (sim/scenario cannot see the registries). The engine validates name and parameters before running.
struct PolicySpec {
  std::string name;
  std::shared_ptr<Params> params;  // the policy's mapping; `name` already read
};

struct PoliciesSpec {
  PolicySpec aggregation;  // default fedavg
  PolicySpec scheduling;   // default uniform
};

struct OutputSpec {
  bool clients_csv = true;
  std::int64_t every = 1;  // write clients.csv rows for every n-th round
};

struct Scenario {
  std::string file;  // the path it was loaded from
  std::string name;
  // `name`, or `<name>#<point:04>` for a point of a sweep (the `sweep` key dtsim sweep writes into a
  // point's run.yaml); every CSV row carries it.
  std::string run_id;
  // A sweep point's swept keys and their values as runs.csv cells (param_cell), in the sweep's order:
  // runs.csv gets one `param.<key>` column each.
  std::vector<std::pair<std::string, std::string>> sweep_params;
  std::uint64_t seed = 1;
  PlatformSpec platform;
  DynamicsSpec dynamics;
  WorkloadSpec workload;
  TrainingSpec training;
  PoliciesSpec policies;
  OutputSpec output;
  // Shared by every Params view; holds the collected errors and the resolved tree.
  std::shared_ptr<ParamsContext> context;
};

// ceil(over_selection x clients_per_round), the clients a round selects before the population cap,
// robust to the rounding of the product (1.1 x 10 selects 11).
std::int64_t over_selected_count(double over_selection, std::int64_t clients_per_round);

// One --set override: "training.rounds=5". The value is YAML text ("[200, 100]", "2Gf"). A mapping is
// merged key by key into the scenario's mapping (`--set 'training={rounds: 2}'` keeps the other training
// keys); `key=null` removes the key, so its default applies; a key set twice warns, the later one wins.
struct Override {
  std::string key_path;
  std::string value;
  std::string origin = {};  // how messages name it; empty: "--set KEY=VALUE" (dtsim sweep: "--grid KEY=VALUE")
};
// Parses "a.b.c=value"; throws ConfigError on a malformed argument.
Override parse_override(const std::string& arg);

// Reads and checks a scenario, collecting every error in scenario.context->errors without throwing
// (only a missing or unparsable file throws ConfigError at once). The policy Params are still open:
// the caller builds the policies from them (adding their errors to the same list), then calls
// finish_validation(), which throws every error found by both.
// The file is read whole, refusing one over YamlLimits::max_bytes (4 MiB), then read_scenario_text.
// `strict` (--strict) is kept in the context: finish_validation then throws the warnings as errors.
// Warnings are in scenario.context->errors.warnings().
Scenario read_scenario(const std::string& path, const std::vector<Override>& overrides = {}, bool strict = false);

// read_scenario on text already in memory; `file_label` locates the errors and gives the default name (its
// stem). The text is read within YamlLimits (sim/scenario/yaml_reader.hpp: size, UTF-8, nesting depth,
// nodes with aliases expanded, scalar length) before any tree is built; crossing one throws ConfigError at
// once, located. Throws nothing but ConfigError for any text.
Scenario read_scenario_text(const std::string& text, const std::string& file_label,
                            const std::vector<Override>& overrides = {}, bool strict = false);

// read_scenario, then throws ConfigError if any error (under `strict`, any warning) was collected.
Scenario load_scenario(const std::string& path, const std::vector<Override>& overrides = {}, bool strict = false);

// Calls finish() on the policy Params and throws ConfigError if any error was collected anywhere (any
// warning too under the context's `strict`), in file order.
void finish_validation(Scenario& scenario);

// The resolved scenario as YAML text (every key with its resolved value, defaults included), followed
// by `extra` (e.g. the provenance block) when non-null. Loading this text again gives the same run.
std::string resolved_yaml(const Scenario& scenario, const YAML::Node& extra = YAML::Node());

// A YAML value as one line of flow YAML: a swept value's runs.csv cell (`{name: fedprox, mu: 0.01}`, `0.5`,
// `[200, 100]`), and its text in a --set override.
std::string param_cell(const YAML::Node& value);

// The distributions a key of type distribution accepts, with their parameters, for `dtsim list`
// (schema_text() in schema.hpp lists every scenario key).
struct CatalogEntry {
  std::string name;
  std::string description;
  std::vector<std::pair<std::string, std::string>> params;  // (parameter, default or "required")
};
const std::vector<CatalogEntry>& distribution_catalog();

}  // namespace dtsim
