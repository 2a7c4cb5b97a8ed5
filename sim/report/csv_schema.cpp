#include "sim/report/csv_schema.hpp"

namespace dtsim::report {

const char* to_string(ColumnType t) {
  switch (t) {
    case ColumnType::text:
      return "text";
    case ColumnType::integer:
      return "integer";
    case ColumnType::real:
      return "real";
    case ColumnType::flag:
      return "0/1";
  }
  return "?";
}

namespace {
constexpr auto I = ColumnType::integer;
constexpr auto R = ColumnType::real;
constexpr auto T = ColumnType::text;
constexpr auto F = ColumnType::flag;
}  // namespace

const Table& runs_table() {
  static const Table t{
      "runs.csv",
      "one row per run, written with status running when the run starts and replaced when it ends; a sweep "
      "point's row ends with one param.<key> column per swept key (text: the value as flow YAML), and a sweep's "
      "own runs.csv holds one row per point, in point order",
      {{"schema_version", I, "", false, "version of these CSV columns"},
       {"run_id", T, "", false, "the scenario's name (or <name>#<index> for a sweep point)"},
       {"scenario", T, "", false, "the scenario file"},
       {"seed", I, "", false, "the scenario's seed"},
       {"backend", T, "", false, "cpu or cuda"},
       {"status", T, "", false, "running | ok | failed | diverged | interrupted; in a sweep's runs.csv also pending (not started)"},
       {"rounds_completed", I, "", false, "rounds finished (and kept in rounds.csv)"},
       {"final_sim_time_s", R, "s", false, "simulated time when the last finished round ended"},
       {"final_test_accuracy", R, "fraction", true, "test accuracy of the last evaluated round"},
       {"wall_time_s", R, "s", false, "wall-clock time of the simulation and training, all segments of a resumed run"},
       {"message", T, "", true, "why the run failed, diverged or was interrupted; for one that ended ok, which path timed its transfers when not SimGrid on every link (platform.solver: auto)"},
       {"final_test_round", I, "", true, "the round final_test_accuracy was measured at"}}};
  return t;
}

const Table& rounds_table() {
  static const Table t{
      "rounds.csv",
      "one row per round (one server aggregation attempt), appended as the round ends",
      {{"run_id", T, "", false, "the run"},
       {"round", I, "", false, "counts from 1"},
       {"sim_time_s", R, "s", false, "simulated time when the round ended"},
       {"round_duration_s", R, "s", false, "from the round's start (selection) to its end"},
       {"selected", I, "", false, "clients started"},
       {"completed", I, "", false, "updates used"},
       {"dropped", I, "", false, "selected − completed: late, dropped, crashed or unavailable"},
       {"bytes_down", I, "bytes", false, "model bytes actually transferred to clients"},
       {"bytes_up", I, "bytes", false, "update bytes actually transferred to the server"},
       {"train_loss", R, "nats", true, "mean local training loss of the kept clients"},
       {"test_loss", R, "nats", true, "test loss of the global model (evaluated rounds)"},
       {"test_accuracy", R, "fraction", true, "test accuracy of the global model (evaluated rounds)"},
       {"energy_j", R, "J", true, "the sum of the round's participants' energy (the server and unselected clients are not counted; empty without platform.host_classes)"},
       {"aggregated", F, "", false, "0 when fewer than training.min_completed arrived and the model was kept"},
       {"train_accuracy", R, "fraction", true,
        "argmax accuracy of the kept clients' local training over every sample they saw (dropout on)"},
       {"global_train_loss", R, "nats", true,
        "loss of the global model on every training sample (training.eval_train, evaluated rounds): the federated objective"},
       {"global_train_accuracy", R, "fraction", true,
        "accuracy of the global model on every training sample (training.eval_train, evaluated rounds)"}}};
  return t;
}

const Table& clients_table() {
  static const Table t{
      "clients.csv",
      "one row per selected client and round (output.clients_csv, every output.every rounds)",
      {{"run_id", T, "", false, "the run"},
       {"round", I, "", false, "the round"},
       {"client", I, "", false, "the client's id"},
       {"status", T, "", false, "completed | late | dropped | crashed | unavailable"},
       {"start_s", R, "s", false, "when its task started"},
       {"download_end_s", R, "s", true, "when its download ended (empty: never)"},
       {"compute_end_s", R, "s", true, "when its computation ended (empty: never)"},
       {"upload_end_s", R, "s", true, "when its upload ended (empty: never)"},
       {"local_steps", I, "", false, "SGD steps executed"},
       {"flops", I, "flops", false, "flops executed"},
       {"bytes_down", I, "bytes", false, "bytes received"},
       {"bytes_up", I, "bytes", false, "bytes sent"},
       {"energy_j", R, "J", true, "the client's energy this round: watts_busy × compute time + watts_idle × the rest of its time from the round's start to its last stage end or where it stopped (empty without platform.host_classes)"},
       {"samples", I, "", true, "training samples its local training saw (empty: its update was not used)"},
       {"train_loss", R, "nats", true, "its mean local training loss (empty: its update was not used)"}}};
  return t;
}

const Table& platform_table() {
  static const Table t{"platform.csv",
                       "one row per client as the platform drew it, written when the run starts",
                       {{"run_id", T, "", false, "the run"},
                        {"client", I, "", false, "the client's id"},
                        {"host_class", T, "", true, "its host class (empty until host classes exist)"},
                        {"speed_flops_per_s", R, "flops/s", false, "compute speed"},
                        {"bandwidth_bytes_per_s", R, "bytes/s", false,
                         "its own link's bandwidth, each direction (fat_tree: the tree's links; xml: the route's "
                         "smallest)"},
                        {"latency_s", R, "s", false, "its own link's latency (xml: the route's)"},
                        {"samples", I, "", false, "its training samples"},
                        {"host", T, "", false, "its SimGrid host (several clients may share one with topology xml)"},
                        {"route_links", I, "", false, "links on its route to the server"},
                        {"route_latency_s", R, "s", false, "their summed latency"},
                        {"route_bandwidth_bytes_per_s", R, "bytes/s", true,
                         "the smallest of their bandwidths (empty without a link)"}}};
  return t;
}

const Table& policy_metrics_table() {
  static const Table t{"policy_metrics.csv",
                       "what the policies report, one value per row",
                       {{"run_id", T, "", false, "the run"},
                        {"round", I, "", false, "the round"},
                        {"family", T, "", false, "aggregation | scheduling | coding | placement"},
                        {"policy", T, "", false, "the policy's name"},
                        {"metric", T, "", false, "the metric's name"},
                        {"value", R, "", false, "its value"}}};
  return t;
}

const std::vector<const Table*>& all_tables() {
  static const std::vector<const Table*> tables{&runs_table(), &rounds_table(), &clients_table(), &platform_table(),
                                                &policy_metrics_table()};
  return tables;
}

}  // namespace dtsim::report
