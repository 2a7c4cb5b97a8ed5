// Trace files a scenario names (CSV, comma-separated, one header line): the reader they share, and the
// two the loader reads itself — per-client speeds and links (platform.clients.trace) and link bandwidths
// over time (dynamics.bandwidth_profile.trace). The engine reads availability traces with the same reader
// (sim/engine/dynamics/availability.hpp). tools/fedscale_capacity.py and tools/fedscale_availability.py
// convert FedScale's traces.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dtsim {

// Every trace problem, as "PATH:LINE: why" (or "PATH: why" for the file as a whole).
struct TraceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads `path` line by line: refuses a file that cannot be read or exceeds 1 GiB, a first line other than
// one of `headers` (the first one is quoted), and a row whose field count is not its header's; strips a
// trailing CR, skips empty lines, and gives each row's fields to `row` with the index of the header
// matched. `row` reports a bad field by throwing TraceError(why), rethrown located at its line. An empty
// file is refused; returns the number of rows.
using TraceRow = std::function<void(std::size_t header, std::span<const std::string_view> fields)>;
std::int64_t read_trace_csv(const std::string& path, const std::vector<std::string>& headers, const TraceRow& row);

// Field parsers for `row`, throwing TraceError(why): a trace client id, an integer in [0, 10^9); a finite
// number in [min, max] ("COLUMN 'TEXT' is not EXPECTED").
std::int64_t trace_client(std::string_view field);
double trace_number(std::string_view field, std::string_view column, double min, double max, std::string_view expected);

// platform.clients.trace: the header "client,speed_flops_per_s,bandwidth_bytes_per_s" with an optional
// ",latency_s", then one row per trace client 0..M−1 (any order, each once). Client i takes row i mod M;
// the values replace the platform.clients and host-class draws of speed, bandwidth (and latency, when
// the column is there).
struct ClientTraceRow {
  double speed_flops_per_s = 0;
  double bandwidth_bytes_per_s = 0;
  std::optional<double> latency_s;
};
// Throws TraceError: besides read_trace_csv's, a client given twice, ids that leave a gap, a speed below
// 1 flop/s, a bandwidth below 1 bps (0.125 bytes/s), a latency outside [0, 1 day], a file with no row.
std::vector<ClientTraceRow> load_client_trace(const std::string& path);

// dynamics.bandwidth_profile.trace: "client,time_s,bandwidth_bytes_per_s" gives each trace client (0..M−1,
// M = the largest id + 1) the bandwidth its link takes from each time on; client i follows trace client
// i mod M on both directions of its own link, with its drawn bandwidth until the first time (a trace
// client without rows keeps it). Times are absolute simulated seconds.
struct BandwidthSteps {
  std::int64_t trace_clients = 1;  // M
  std::map<std::int64_t, std::vector<std::pair<double, double>>> steps;  // by trace client: (time, bytes/s)
};
// Throws TraceError: besides read_trace_csv's, a time not a finite number >= 0, a bandwidth below 1 bps,
// one client's time given twice (found once the file is read: not located at a line), a file with no row.
BandwidthSteps load_bandwidth_steps(const std::string& path);

}  // namespace dtsim
