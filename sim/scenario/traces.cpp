#include "sim/scenario/traces.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "sim/scenario/scenario.hpp"

namespace dtsim {

namespace {

constexpr std::int64_t kMaxTraceClient = 1'000'000'000;
constexpr std::uintmax_t kMaxTraceBytes = std::uintmax_t{1} << 30;
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> fields;
  for (;;) {
    const auto comma = line.find(',');
    fields.push_back(line.substr(0, comma));
    if (comma == std::string_view::npos) return fields;
    line.remove_prefix(comma + 1);
  }
}

}  // namespace

std::int64_t read_trace_csv(const std::string& path, const std::vector<std::string>& headers, const TraceRow& row) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw TraceError(path + ": cannot read the trace: " + ec.message());
  if (size > kMaxTraceBytes) throw TraceError(path + ": the trace is larger than 1 GiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TraceError(path + ": cannot open the trace");
  std::string line;
  std::int64_t number = 0, rows = 0;
  std::size_t header = 0, columns = 0;
  const auto fail = [&](const std::string& why) { throw TraceError(path + ":" + std::to_string(number) + ": " + why); };
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1) {
      const auto it = std::find(headers.begin(), headers.end(), line);
      if (it == headers.end()) fail("the header must be \"" + headers.front() + "\"");
      header = static_cast<std::size_t>(it - headers.begin());
      columns = split(*it).size();
      continue;
    }
    if (line.empty()) continue;
    const auto fields = split(line);
    if (fields.size() != columns)
      fail("a row has " + std::to_string(columns) + " fields, as the header says: " + headers[header]);
    try {
      row(header, fields);
    } catch (const TraceError& e) {
      fail(e.what());
    }
    ++rows;
  }
  if (number == 0) throw TraceError(path + ": the trace is empty (it needs the header " + headers.front() + ")");
  return rows;
}

std::int64_t trace_client(std::string_view field) {
  std::int64_t client = -1;
  const auto* end = field.data() + field.size();
  const auto r = std::from_chars(field.data(), end, client);
  if (r.ec != std::errc() || r.ptr != end || client < 0 || client >= kMaxTraceClient)
    throw TraceError("the client '" + std::string(field) + "' is not an integer in [0, 10^9)");
  return client;
}

double trace_number(std::string_view field, std::string_view column, double min, double max, std::string_view expected) {
  double value = 0;
  const auto* end = field.data() + field.size();
  const auto r = std::from_chars(field.data(), end, value);
  if (r.ec != std::errc() || r.ptr != end || !std::isfinite(value) || value < min || value > max)
    throw TraceError(std::string(column) + " '" + std::string(field) + "' is not " + std::string(expected));
  return value;
}

std::vector<ClientTraceRow> load_client_trace(const std::string& path) {
  std::vector<std::optional<ClientTraceRow>> rows;
  read_trace_csv(path,
                 {"client,speed_flops_per_s,bandwidth_bytes_per_s",
                  "client,speed_flops_per_s,bandwidth_bytes_per_s,latency_s"},
                 [&](std::size_t header, std::span<const std::string_view> f) {
                   const auto client = static_cast<std::size_t>(trace_client(f[0]));
                   ClientTraceRow row;
                   row.speed_flops_per_s =
                       trace_number(f[1], "speed_flops_per_s", kMinSpeedFlopsPerS, kInf, "a number >= 1 (flops/s)");
                   row.bandwidth_bytes_per_s = trace_number(f[2], "bandwidth_bytes_per_s", kMinBandwidthBytesPerS, kInf,
                                                            "a number >= 0.125 (bytes/s, 1 bps)");
                   if (header == 1)
                     row.latency_s = trace_number(f[3], "latency_s", 0, kMaxLatencyS, "a number of seconds in [0, 86400]");
                   // Ids are dense (M rows, ids 0..M-1): an id far beyond the rows read so far is a gap.
                   if (client >= rows.size()) {
                     if (client > 4 * (rows.size() + 16))
                       throw TraceError("client " + std::to_string(client) +
                                        " leaves a gap: the trace's clients are 0..M-1, one row each");
                     rows.resize(client + 1);
                   }
                   if (rows[client]) throw TraceError("client " + std::to_string(client) + " is given twice");
                   rows[client] = row;
                 });
  std::vector<ClientTraceRow> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i])
      throw TraceError(path + ": client " + std::to_string(i) + " has no row: the trace's clients are 0..M-1, one row each");
    out.push_back(*rows[i]);
  }
  if (out.empty()) throw TraceError(path + ": the trace has no client");
  return out;
}

BandwidthSteps load_bandwidth_steps(const std::string& path) {
  BandwidthSteps out;
  read_trace_csv(path, {"client,time_s,bandwidth_bytes_per_s"}, [&](std::size_t, std::span<const std::string_view> f) {
    const std::int64_t client = trace_client(f[0]);
    const double time = trace_number(f[1], "time_s", 0, kInf, "a finite number >= 0");
    const double bandwidth = trace_number(f[2], "bandwidth_bytes_per_s", kMinBandwidthBytesPerS, kInf,
                                          "a number >= 0.125 (bytes/s, 1 bps)");
    out.steps[client].push_back({time, bandwidth});
  });
  if (out.steps.empty()) throw TraceError(path + ": the trace has no row");
  for (auto& [client, steps] : out.steps) {
    std::sort(steps.begin(), steps.end());
    const auto twice = std::adjacent_find(steps.begin(), steps.end(),
                                          [](const auto& a, const auto& b) { return a.first == b.first; });
    if (twice != steps.end())
      throw TraceError(path + ": client " + std::to_string(client) + " has time " + fmt::format("{}", twice->first) + " twice");
  }
  out.trace_clients = out.steps.rbegin()->first + 1;
  return out;
}

}  // namespace dtsim
