#include "sim/scenario/client_trace.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "sim/scenario/scenario.hpp"

namespace dtsim {

namespace {

constexpr std::int64_t kMaxTraceClient = 1'000'000'000;
constexpr std::uintmax_t kMaxTraceBytes = std::uintmax_t{1} << 30;

bool parse_number(std::string_view text, double& out) {
  const auto* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, out);
  return r.ec == std::errc() && r.ptr == end && std::isfinite(out);
}

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

std::vector<ClientTraceRow> load_client_trace(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw std::runtime_error(path + ": cannot read the trace: " + ec.message());
  if (size > kMaxTraceBytes) throw std::runtime_error(path + ": the trace is larger than 1 GiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open the trace");
  std::vector<std::optional<ClientTraceRow>> rows;
  std::string line;
  std::int64_t number = 0;
  std::size_t columns = 0;
  const auto fail = [&](const std::string& why) {
    throw std::runtime_error(path + ":" + std::to_string(number) + ": " + why);
  };
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1) {
      if (line == "client,speed_flops_per_s,bandwidth_bytes_per_s") columns = 3;
      else if (line == "client,speed_flops_per_s,bandwidth_bytes_per_s,latency_s") columns = 4;
      else fail("the header must be \"client,speed_flops_per_s,bandwidth_bytes_per_s\" (and optionally \",latency_s\")");
      continue;
    }
    if (line.empty()) continue;
    const auto fields = split(line);
    if (fields.size() != columns) fail("a row has " + std::to_string(columns) + " fields, as the header says");
    std::int64_t client = -1;
    const auto* end = fields[0].data() + fields[0].size();
    const auto r = std::from_chars(fields[0].data(), end, client);
    if (r.ec != std::errc() || r.ptr != end || client < 0 || client >= kMaxTraceClient)
      fail("the client '" + std::string(fields[0]) + "' is not an integer in [0, 10^9)");
    ClientTraceRow row;
    if (!parse_number(fields[1], row.speed_flops_per_s) || row.speed_flops_per_s < kMinSpeedFlopsPerS)
      fail("speed_flops_per_s '" + std::string(fields[1]) + "' is not a number >= 1 (flops/s)");
    if (!parse_number(fields[2], row.bandwidth_bytes_per_s) || row.bandwidth_bytes_per_s < kMinBandwidthBytesPerS)
      fail("bandwidth_bytes_per_s '" + std::string(fields[2]) + "' is not a number >= 0.125 (bytes/s, 1 bps)");
    if (columns == 4) {
      double latency = 0;
      if (!parse_number(fields[3], latency) || latency < 0 || latency > kMaxLatencyS)
        fail("latency_s '" + std::string(fields[3]) + "' is not a number of seconds in [0, 86400]");
      row.latency_s = latency;
    }
    // Ids are dense (M rows, ids 0..M-1): a larger id than the rows can reach is a gap, found at the end.
    if (static_cast<std::size_t>(client) >= rows.size()) {
      if (static_cast<std::size_t>(client) > 4 * (static_cast<std::size_t>(number) + 16))
        fail("client " + std::to_string(client) + " leaves a gap: the trace's clients are 0..M-1, one row each");
      rows.resize(static_cast<std::size_t>(client) + 1);
    }
    if (rows[static_cast<std::size_t>(client)]) fail("client " + std::to_string(client) + " is given twice");
    rows[static_cast<std::size_t>(client)] = row;
  }
  if (number == 0) throw std::runtime_error(path + ": the trace is empty (it needs its header)");
  std::vector<ClientTraceRow> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i])
      throw std::runtime_error(path + ": client " + std::to_string(i) +
                               " has no row: the trace's clients are 0..M-1, one row each");
    out.push_back(*rows[i]);
  }
  if (out.empty()) throw std::runtime_error(path + ": the trace has no client");
  return out;
}

BandwidthSteps load_bandwidth_steps(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw std::runtime_error(path + ": cannot read the trace: " + ec.message());
  if (size > kMaxTraceBytes) throw std::runtime_error(path + ": the trace is larger than 1 GiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open the trace");
  BandwidthSteps out;
  std::string line;
  std::int64_t number = 0;
  const auto fail = [&](const std::string& why) {
    throw std::runtime_error(path + ":" + std::to_string(number) + ": " + why);
  };
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1) {
      if (line != "client,time_s,bandwidth_bytes_per_s") fail("the header must be \"client,time_s,bandwidth_bytes_per_s\"");
      continue;
    }
    if (line.empty()) continue;
    const auto fields = split(line);
    if (fields.size() != 3) fail("a row has three fields: client,time_s,bandwidth_bytes_per_s");
    std::int64_t client = -1;
    const auto* end = fields[0].data() + fields[0].size();
    const auto r = std::from_chars(fields[0].data(), end, client);
    if (r.ec != std::errc() || r.ptr != end || client < 0 || client >= kMaxTraceClient)
      fail("the client '" + std::string(fields[0]) + "' is not an integer in [0, 10^9)");
    double time = 0, bandwidth = 0;
    if (!parse_number(fields[1], time) || time < 0) fail("time_s '" + std::string(fields[1]) + "' is not a finite number >= 0");
    if (!parse_number(fields[2], bandwidth) || bandwidth < kMinBandwidthBytesPerS)
      fail("bandwidth_bytes_per_s '" + std::string(fields[2]) + "' is not a number >= 0.125 (bytes/s, 1 bps)");
    auto& steps = out.steps[client];
    if (std::any_of(steps.begin(), steps.end(), [&](const auto& s) { return s.first == time; }))
      fail("client " + std::to_string(client) + " has time " + std::string(fields[1]) + " twice");
    steps.push_back({time, bandwidth});
  }
  if (number == 0) throw std::runtime_error(path + ": the trace is empty (it needs its header)");
  if (out.steps.empty()) throw std::runtime_error(path + ": the trace has no row");
  for (auto& [client, steps] : out.steps) std::sort(steps.begin(), steps.end());
  out.trace_clients = out.steps.rbegin()->first + 1;
  return out;
}

}  // namespace dtsim
