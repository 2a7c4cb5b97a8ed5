// Under network_model: analytic with constant speeds, every time in clients.csv has a closed form:
//   download = server latency + client latency + model_bytes / client bandwidth (the server link is
//              not a bottleneck: 2 × 10 Mbps ≪ 1 Gbps), compute = flops / speed, upload = download,
//   round end = last upload + aggregation (2·d flops per update on the 1 Tf server).
// Checked to 1e-9 relative.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "e2e_util.hpp"

using namespace e2e;

TEST_SUITE("e2e") {
  TEST_CASE("analytic: download, compute and upload times equal the closed form to 1e-9 relative") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "analytic" / "scenario.yaml").string();
    const auto out = scratch("analytic_closed_form");
    const auto r = run_dtsim({"run", scenario, "--out", out.string(), "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    // The scenario's constants (analytic/scenario.yaml); logistic regression on 60 features, 10 classes.
    const double params = 60 * 10 + 10;
    const double bytes = params * 4;
    const double client_bw = 10e6 / 8, client_lat = 0.020, server_lat = 0.001, speed = 2e9, server_speed = 1e12;
    const double transfer = server_lat + client_lat + bytes / client_bw;

    const auto clients = read_csv(out / "clients.csv");
    const auto rounds = read_csv(out / "rounds.csv");
    REQUIRE(clients.size() == 6);
    REQUIRE(rounds.size() == 3);
    auto near = [](double got, double want) { return std::abs(got - want) <= 1e-9 * std::abs(want); };
    double round_start = 0;
    for (const auto& round : rounds) {
      const auto n = std::stoll(round.at("round"));
      double last_upload = 0;
      for (const auto& c : clients) {
        if (std::stoll(c.at("round")) != n) continue;
        CAPTURE(n);
        CAPTURE(c.at("client"));
        const double start = std::stod(c.at("start_s"));
        const double down = std::stod(c.at("download_end_s"));
        const double comp = std::stod(c.at("compute_end_s"));
        const double up = std::stod(c.at("upload_end_s"));
        const double flops = std::stod(c.at("flops"));
        CHECK(c.at("status") == "completed");
        CHECK(std::stod(c.at("bytes_down")) == bytes);
        CHECK(start == round_start);
        CHECK_MESSAGE(near(down - start, transfer), "download " << down - start << " vs " << transfer);
        CHECK_MESSAGE(near(comp - down, flops / speed), "compute " << comp - down << " vs " << flops / speed);
        CHECK_MESSAGE(near(up - comp, transfer), "upload " << up - comp << " vs " << transfer);
        CHECK(flops > 0);
        last_upload = std::max(last_upload, up);
      }
      const double end = last_upload + 2 * 2 * params / server_speed;
      CHECK_MESSAGE(near(std::stod(round.at("sim_time_s")), end),
                    "round end " << round.at("sim_time_s") << " vs " << end);
      round_start = std::stod(round.at("sim_time_s"));
    }
  }
}
