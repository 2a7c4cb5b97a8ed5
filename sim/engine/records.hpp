// What the paradigms report, as plain records handed to RunObservers (engine signals → metrics). The
// CSV files are one observer; tests and future plugins can add others.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dtsim::engine {

enum class ClientStatus { completed, late, dropped, crashed, unavailable };
const char* to_string(ClientStatus s);

// One client's part in one round. Times are simulated seconds; a time the client never reached is empty.
struct ClientRecord {
  std::int64_t round = 0;
  std::int32_t client = 0;
  ClientStatus status = ClientStatus::completed;
  double start_s = 0;
  std::optional<double> download_end_s, compute_end_s, upload_end_s;
  std::int64_t local_steps = 0;
  double flops = 0;
  double bytes_down = 0;
  double bytes_up = 0;
};

struct RoundRecord {
  std::int64_t round = 0;
  double sim_time_s = 0;  // when the round ended (global model updated)
  double round_duration_s = 0;
  std::int64_t selected = 0, completed = 0, dropped = 0;
  double bytes_down = 0, bytes_up = 0;
  std::optional<double> train_loss, test_loss, test_accuracy;  // empty when not measured
};

struct PolicyMetric {
  std::int64_t round = 0;
  std::string family, policy, metric;
  double value = 0;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_client(const ClientRecord&) {}
  virtual void on_round(const RoundRecord&) {}
  virtual void on_policy_metric(const PolicyMetric&) {}
};

}  // namespace dtsim::engine
