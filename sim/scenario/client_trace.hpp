// Per-client speeds and links from a CSV file (platform.clients.trace): the header
// "client,speed_flops_per_s,bandwidth_bytes_per_s" with an optional ",latency_s", then one row per trace
// client 0..M−1 (any order, each once). Client i takes row i mod M; the values replace the
// platform.clients and host-class draws of speed, bandwidth (and latency, when the column is there).
// tools/fedscale_capacity.py converts FedScale's device-capacity trace. Also the bandwidth steps of
// dynamics.bandwidth_profile, which the platform builders attach to the client links they make.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

namespace dtsim {

struct ClientTraceRow {
  double speed_flops_per_s = 0;
  double bandwidth_bytes_per_s = 0;
  std::optional<double> latency_s;
};

// Throws std::runtime_error "PATH:LINE: why" on the first problem: a header other than the two forms, a row
// without its fields, a client id not an integer in [0, 10^9) or given twice, ids that leave a gap (M is
// the number of rows), a speed below 1 flop/s, a bandwidth below 1 bps (0.125 bytes/s), a latency outside
// [0, 1 day], anything not a finite number; or a file that cannot be read, exceeds 1 GiB or has no row.
std::vector<ClientTraceRow> load_client_trace(const std::string& path);

// Link bandwidths over time (dynamics.bandwidth_profile.trace): a CSV "client,time_s,bandwidth_bytes_per_s"
// gives each trace client (0..M−1, M = the largest id + 1) the bandwidth its link takes from each time on;
// client i follows trace client i mod M on both directions of its own link, with its drawn bandwidth until
// the first time (a trace client without rows keeps it). Times are absolute simulated seconds.
struct BandwidthSteps {
  std::int64_t trace_clients = 1;  // M
  std::map<std::int64_t, std::vector<std::pair<double, double>>> steps;  // by trace client: (time, bytes/s)
};
// Throws std::runtime_error "PATH:LINE: why": a header other than "client,time_s,bandwidth_bytes_per_s", a
// row without three fields, a client not an integer in [0, 10^9), a time not a finite number >= 0, a
// bandwidth below 1 bps (0.125 bytes/s), one client's time given twice; a file that cannot be read,
// exceeds 1 GiB or has no row.
BandwidthSteps load_bandwidth_steps(const std::string& path);

}  // namespace dtsim
