// dtsim calibrate's arithmetic (sim/engine/calibrate.hpp): the printed host class, fed back to the
// simulator (compute time = flops / (speed × efficiency)), must give back the measured seconds, and its
// text must load as platform.host_classes. The timing itself is bench/calibrate_predict.py's business.
#include "sim/engine/calibrate.hpp"

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "sim/engine/platform/platform.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/units.hpp"

using namespace dtsim;

namespace {

// A calibration as measure_calibration would report it, for given figures.
engine::Calibration calibration(double flops, double seconds, double peak) {
  engine::Calibration c;
  c.host = "testhost";
  c.cpu = "Test CPU";
  c.date = "2025-01-02";
  c.steps = 20;
  c.batch_size = 10;
  c.model = "mlp, 159010 parameters";
  c.samples_seen = 200;
  c.modelled_flops = flops;
  c.measured_s = seconds;
  c.repeats = 5;
  c.peak_flops_per_s = peak;
  c.gemm_n = 512;
  return c;
}

// The printed class's speed (flops/s, read by the scenario's unit parser) and efficiency.
struct Printed {
  double speed = 0, efficiency = 0;
};
Printed read_class(const std::string& yaml) {
  const YAML::Node cls = YAML::Load(yaml)["host_classes"]["this_machine"];
  REQUIRE(cls.IsMap());
  CHECK(cls["weight"].as<double>() == 1);
  std::string why;
  const auto speed = parse_quantity(cls["speed"].as<std::string>(), UnitKind::flop_rate, &why);
  REQUIRE_MESSAGE(speed.has_value(), why);
  return {*speed, cls["efficiency"].as<double>()};
}

// `text` with every line indented by two spaces (pasted under `platform:`).
std::string indented(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) out += "  " + line + "\n";
  return out;
}

struct Case {
  double flops, seconds, peak;  // modelled flops, measured s, GEMM peak flops/s
};
// Achieved rates from far below to above the peak, across prefixes: 15.5 Gf of 73.4, 4.2 Mf of 812 Mf,
// 1.2 Tf of 3.1 Tf, and 120 Gf achieved on a 100 Gf peak (capped at efficiency 1).
const Case kCases[] = {{1.90620e8, 0.0123, 7.34e10}, {4.2e6, 1.0, 8.12e8}, {3.7e12, 3.1, 3.1e12}, {1.2e9, 0.01, 1e11}};

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("calibrate: the printed class, fed back as flops / (speed x efficiency), gives the measured seconds") {
    for (const Case& k : kCases) {
      CAPTURE(k.flops);
      CAPTURE(k.seconds);
      CAPTURE(k.peak);
      // prepare
      const double achieved = k.flops / k.seconds;
      const bool capped = achieved >= k.peak;
      // execute
      const std::string yaml = engine::host_class_yaml(calibration(k.flops, k.seconds, k.peak));
      const Printed p = read_class(yaml);
      // assert: the simulated time of the calibration's own work is its measured time (6 printed digits)
      CHECK(k.flops / (p.speed * p.efficiency) == doctest::Approx(k.seconds).epsilon(1e-5));
      CHECK(p.speed * p.efficiency == doctest::Approx(achieved).epsilon(1e-5));
      CHECK(p.efficiency <= 1);
      CHECK(p.speed == doctest::Approx(capped ? achieved : k.peak).epsilon(1e-5));
      CHECK(p.efficiency == doctest::Approx(capped ? 1.0 : achieved / k.peak).epsilon(1e-5));
      CHECK(engine::fit_host_class(k.flops, k.seconds, k.peak).capped == capped);
    }
  }

  TEST_CASE("calibrate: the header says what was measured, in Gflop/s") {
    const std::string yaml = engine::host_class_yaml(calibration(1.9062e8, 0.0123, 7.34e10));
    // 1.9062e8 flops / 0.0123 s = 15.4976 Gflop/s; ÷ 73.4 Gflop/s = 0.211138
    CHECK(
        yaml.starts_with("# measured on testhost (Test CPU), 2025-01-02: 20 local steps of client 0, batch 10, "
                         "model mlp, 159010 parameters: achieved 15.5 Gflop/s; GEMM peak 73.4 Gflop/s\n"));
    CHECK(yaml.find("# timed: 200 samples, 1.9062e+08 modelled flops, median 0.0123 s of 5 repeats") !=
          std::string::npos);
    CHECK(yaml.find("this_machine: {weight: 1, speed: 73.4Gf, efficiency: 0.211138}") != std::string::npos);
  }

  TEST_CASE(
      "calibrate: the printed class loads as platform.host_classes, and its clients compute at the achieved rate") {
    for (const Case& k : kCases) {
      CAPTURE(k.peak);
      // prepare: a small scenario with the printed class pasted under platform
      const std::string yaml = engine::host_class_yaml(calibration(k.flops, k.seconds, k.peak));
      const std::string text = "seed: 3\nplatform:\n  clients: {count: 20, speed: 1Gf}\n" + indented(yaml) +
                               "workload: {dataset: {name: synthetic}, model: {name: logistic}}\n";
      // execute
      Scenario s = read_scenario_text(text, "pasted.yaml");
      // assert: no error nor warning, one class, and every client drew it: speed × efficiency = achieved
      CHECK_NOTHROW(finish_validation(s));
      CHECK(s.context->errors.warnings().empty());
      REQUIRE(s.platform.host_classes.size() == 1);
      CHECK(s.platform.host_classes[0].name == "this_machine");
      for (std::int32_t i = 0; i < 4; ++i) {
        const engine::ClientHostSpec spec = engine::draw_client_spec(s.platform, s.seed, ClientId{i});
        CHECK(spec.host_class == 0);
        CHECK(spec.speed_flops_per_s * spec.efficiency == doctest::Approx(k.flops / k.seconds).epsilon(1e-5));
        CHECK(k.flops / (spec.speed_flops_per_s * spec.efficiency) == doctest::Approx(k.seconds).epsilon(1e-5));
      }
    }
  }

  TEST_CASE("calibrate: format_flop_rate picks the prefix that keeps 6 digits at or above 1") {
    CHECK(engine::format_flop_rate(51.23456e9) == "51.2346Gf");
    CHECK(engine::format_flop_rate(812.5e6) == "812.5Mf");
    CHECK(engine::format_flop_rate(999.9999e6) == "1Gf");  // rounds up into the next prefix
    CHECK(engine::format_flop_rate(1.5e12) == "1.5Tf");
    CHECK(engine::format_flop_rate(0.5) == "0.5f");
    CHECK_THROWS_AS(engine::format_flop_rate(0), std::invalid_argument);
  }

  TEST_CASE("calibrate: median of odd and even counts, in any order") {
    CHECK(engine::median({3.0, 1.0, 2.0}) == 2.0);
    CHECK(engine::median({4.0, 1.0, 3.0, 2.0}) == 2.5);
    CHECK(engine::median({7.0}) == 7.0);
    CHECK_THROWS_AS(engine::median({}), std::invalid_argument);
  }

  TEST_CASE("calibrate: fit_host_class refuses figures that are not finite and positive") {
    CHECK_THROWS_AS(engine::fit_host_class(0, 1, 1e9), std::invalid_argument);
    CHECK_THROWS_AS(engine::fit_host_class(1e9, 0, 1e9), std::invalid_argument);
    CHECK_THROWS_AS(engine::fit_host_class(1e9, 1, -1), std::invalid_argument);
    CHECK_THROWS_AS(engine::fit_host_class(1e9, std::nan(""), 1e9), std::invalid_argument);
  }
}
