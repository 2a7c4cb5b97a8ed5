// The CSV contract (DESIGN.md "CSV columns"): one place for every column list and the schema version.
// Columns are only ever added at the end.
#pragma once

#include <string_view>
#include <vector>

namespace dtsim::report {

inline constexpr int schema_version = 1;

inline const std::vector<std::string_view> runs_columns{"schema_version",
                                                        "run_id",
                                                        "scenario",
                                                        "seed",
                                                        "backend",
                                                        "status",
                                                        "rounds_completed",
                                                        "final_sim_time_s",
                                                        "final_test_accuracy",
                                                        "wall_time_s"};

inline const std::vector<std::string_view> rounds_columns{
    "run_id",     "round",    "sim_time_s", "round_duration_s", "selected",      "completed", "dropped",
    "bytes_down", "bytes_up", "train_loss", "test_loss",        "test_accuracy", "energy_j", "aggregated"};

inline const std::vector<std::string_view> clients_columns{
    "run_id",       "round",       "client", "status",     "start_s",  "download_end_s", "compute_end_s",
    "upload_end_s", "local_steps", "flops",  "bytes_down", "bytes_up", "energy_j"};

// One row per client as the platform drew it (written when the run starts).
inline const std::vector<std::string_view> platform_columns{
    "run_id", "client", "host_class", "speed_flops_per_s", "bandwidth_bytes_per_s", "latency_s", "samples"};

inline const std::vector<std::string_view> policy_metrics_columns{"run_id", "round",  "family",
                                                                  "policy", "metric", "value"};

}  // namespace dtsim::report
