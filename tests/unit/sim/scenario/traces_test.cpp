// The trace readers of sim/scenario/traces.hpp (platform.clients.trace, dynamics.bandwidth_profile.trace):
// the rows they keep, and every malformed file refused at its line.
#include "sim/scenario/traces.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace dtsim;

namespace {

std::string write(const std::string& text) {
  static int n = 0;
  const auto path = std::filesystem::temp_directory_path() / ("dtsim_traces_" + std::to_string(++n) + ".csv");
  std::ofstream(path) << text;
  return path.string();
}

std::string error_of(const std::string& text) {
  try {
    load_client_trace(write(text));
  } catch (const TraceError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("scenario") {
  TEST_CASE("client trace: rows by client id, latency optional") {
    const auto rows = load_client_trace(write("client,speed_flops_per_s,bandwidth_bytes_per_s\n1,2e9,1e6\n0,5e8,2.5e5\r\n"));
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].speed_flops_per_s == 5e8);
    CHECK(rows[0].bandwidth_bytes_per_s == 2.5e5);
    CHECK_FALSE(rows[0].latency_s.has_value());
    CHECK(rows[1].speed_flops_per_s == 2e9);
    const auto with_latency =
        load_client_trace(write("client,speed_flops_per_s,bandwidth_bytes_per_s,latency_s\n0,1e9,1e6,0.05\n"));
    REQUIRE(with_latency.size() == 1);
    CHECK(with_latency[0].latency_s == 0.05);
  }

  TEST_CASE("client trace: a malformed file is refused at its line") {
    const std::string h = "client,speed_flops_per_s,bandwidth_bytes_per_s\n";
    CHECK(error_of("client,speed,bandwidth\n0,1,1\n").find(":1: the header must be") != std::string::npos);
    CHECK(error_of(h + "0,1e9\n").find(":2: a row has 3 fields") != std::string::npos);
    CHECK(error_of(h + "x,1e9,1e6\n").find(":2: the client 'x'") != std::string::npos);
    CHECK(error_of(h + "0,0.5,1e6\n").find(":2: speed_flops_per_s '0.5' is not a number >= 1") != std::string::npos);
    CHECK(error_of(h + "0,1e9,nan\n").find(":2: bandwidth_bytes_per_s 'nan'") != std::string::npos);
    CHECK(error_of(h + "0,1e9,1e6\n0,1e9,1e6\n").find(":3: client 0 is given twice") != std::string::npos);
    CHECK(error_of(h + "0,1e9,1e6\n2,1e9,1e6\n").find("client 1 has no row") != std::string::npos);
    CHECK(error_of(h + "999999,1e9,1e6\n").find(":2: client 999999 leaves a gap") != std::string::npos);
    CHECK(error_of("client,speed_flops_per_s,bandwidth_bytes_per_s,latency_s\n0,1e9,1e6,2d\n").find(":2: latency_s '2d'") !=
          std::string::npos);
    CHECK(error_of("").find("the trace is empty") != std::string::npos);
    CHECK(error_of(h).find("the trace has no client") != std::string::npos);
  }

  TEST_CASE("bandwidth steps: sorted by time per trace client, M the largest id + 1, refusals located") {
    const auto b = load_bandwidth_steps(write("client,time_s,bandwidth_bytes_per_s\n2,30,1e6\n2,10,2e6\n0,0,5e5\n"));
    CHECK(b.trace_clients == 3);
    REQUIRE(b.steps.size() == 2);
    CHECK(b.steps.at(2) == std::vector<std::pair<double, double>>{{10, 2e6}, {30, 1e6}});
    CHECK(b.steps.at(0) == std::vector<std::pair<double, double>>{{0, 5e5}});
    const std::string h = "client,time_s,bandwidth_bytes_per_s\n";
    const auto error = [](const std::string& text) {
      try {
        load_bandwidth_steps(write(text));
      } catch (const TraceError& e) {
        return std::string(e.what());
      }
      return std::string();
    };
    CHECK(error(h + "0,-1,1e6\n").find(":2: time_s '-1' is not a finite number >= 0") != std::string::npos);
    CHECK(error(h + "0,1,0.1\n").find(":2: bandwidth_bytes_per_s '0.1' is not a number >= 0.125") != std::string::npos);
    CHECK(error(h + "0,1,1e6\n0,1,2e6\n").find(": client 0 has time 1 twice") != std::string::npos);
    CHECK(error(h).find("the trace has no row") != std::string::npos);
    CHECK(error("client,time,bw\n").find(":1: the header must be") != std::string::npos);
  }
}
