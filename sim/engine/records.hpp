// What the paradigms report, as plain records handed to RunObservers (engine signals → metrics): the
// CSV files are one observer (observers/csv_observer.hpp); tests and future plugins can add others.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "sim/common/client_status.hpp"
#include "sim/common/ids.hpp"

namespace dtsim::engine {

// One client as the platform drew it (platform.csv).
struct PlatformRecord {
  ClientId client;
  std::string host_class;  // empty until host classes exist
  double speed_flops_per_s = 0;
  double bandwidth_bytes_per_s = 0;
  double latency_s = 0;
  std::int64_t samples = 0;  // its training samples
  std::string host;          // its SimGrid host, and its route to the server:
  std::int64_t route_links = 0;
  double route_latency_s = 0;
  std::optional<double> route_bandwidth_bytes_per_s;  // empty when the route has no link
};

struct RunStart {
  std::string run_id;
  std::int64_t clients = 0;
  std::function<PlatformRecord(ClientId)> client;  // rows made on demand: a population may hold 10^6
};

// One client's part in one round. Times are simulated seconds; a time the client never reached is empty.
// Bytes, flops and steps count what was actually transferred or executed (a task stopped mid-stage
// counts the part it did).
struct ClientRecord {
  std::int64_t round = 0;
  ClientId client;
  ClientStatus status = ClientStatus::completed;
  double start_s = 0;
  std::optional<double> download_end_s, compute_end_s, upload_end_s;
  std::int64_t local_steps = 0;
  double flops = 0;
  double bytes_down = 0;
  double bytes_up = 0;
  std::optional<std::int64_t> samples;  // samples its local training saw (empty: not trained this round)
  std::optional<double> train_loss;     // its mean local training loss (empty: not trained)
  std::optional<double> energy_j;       // its energy this round (dynamics/energy.hpp); empty without a power model
};

struct RoundRecord {
  std::int64_t round = 0;
  double sim_time_s = 0;  // when the round ended (global model updated, or kept)
  double round_duration_s = 0;
  std::int64_t selected = 0;   // clients started
  std::int64_t completed = 0;  // updates used
  std::int64_t dropped = 0;    // selected − completed: late, dropped, crashed or unavailable
  double bytes_down = 0, bytes_up = 0;
  std::optional<double> train_loss, test_loss, test_accuracy;  // empty when not measured
  bool aggregated = true;
  std::optional<double> train_accuracy;  // of the kept clients' local training (empty when not measured)  // false: fewer than training.min_completed arrived; the model was kept
  std::optional<double> energy_j;        // summed over the round's participants; empty without a power model
  std::optional<double> global_train_loss, global_train_accuracy;  // training.eval_train, evaluated rounds
};

struct PolicyMetric {
  std::int64_t round = 0;
  std::string family, policy, metric;
  double value = 0;
};

// The run's row of runs.csv: at the start (status running), and at the end.
struct RunEnd {
  std::string status;  // running | ok | failed | diverged | interrupted
  std::string message;
  std::int64_t rounds_completed = 0;
  double final_sim_time_s = 0;
  std::optional<double> final_test_accuracy;
  std::optional<std::int64_t> final_test_round;  // the round final_test_accuracy was measured at
  double wall_time_s = 0;
};

}  // namespace dtsim::engine
