#include "sim/sweep/grid.hpp"

#include <doctest/doctest.h>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/scenario.hpp"

using namespace dtsim;
using namespace dtsim::sweep;

namespace {

// The message of the ConfigError `f` throws ("" when it throws none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> cells(const Axis& a, std::size_t k = 0) {
  std::vector<std::string> out;
  for (const auto& step : a.values) out.push_back(param_cell(step[k]));
  return out;
}

}  // namespace

TEST_SUITE("sweep") {
  TEST_CASE("grid: a flow sequence of mappings gives one value per element, in order") {
    const auto a = parse_grid("policies.aggregation=[{name: fedavg}, {name: fedprox, mu: 0.01}]");
    CHECK(a.keys == std::vector<std::string>{"policies.aggregation"});
    CHECK(cells(a) == std::vector<std::string>{"{name: fedavg}", "{name: fedprox, mu: 0.01}"});
  }

  TEST_CASE("grid: values holding commas and brackets survive in the flow form") {
    const auto a = parse_grid("workload.model.hidden=[[200], [64, 32], \"a,b]\"]");
    CHECK(cells(a) == std::vector<std::string>{"[200]", "[64, 32]", "a,b]"});  // a plain scalar, as a whole value
    CHECK(a.values[1][0].IsSequence());
    CHECK(a.values[2][0].Scalar() == "a,b]");
  }

  TEST_CASE("grid: a plain comma list is read as YAML scalars, spaces trimmed") {
    const auto a = parse_grid("workload.local.lr=0.1, 0.05,0.01");
    CHECK(cells(a) == std::vector<std::string>{"0.1", "0.05", "0.01"});
  }

  TEST_CASE("grid: bad specs are refused naming the offending --grid") {
    for (const std::string bad : {"a=[1,2", "noequals", "=[1]", "a=", "a=1,,2", "a.=1", "a={x: 1}", "a=[1]]"}) {
      CAPTURE(bad);
      const auto message = error_of([&] { parse_grid(bad); });
      CHECK(message.find("--grid '" + bad + "': ") != std::string::npos);
    }
    CHECK(error_of([] { parse_grid("a=[]"); }).find("empty") != std::string::npos);
    CHECK(error_of([] { parse_grid("a=[1,2"); }).find("not valid YAML") != std::string::npos);
  }

  TEST_CASE("zip: keys advance together, in flow, plain and mixed forms") {
    const auto flow = parse_zip("workload.local.lr=[0.1, 0.01],workload.local.batch_size=[10, 50]");
    CHECK(flow.keys == std::vector<std::string>{"workload.local.lr", "workload.local.batch_size"});
    REQUIRE(flow.values.size() == 2);
    CHECK(param_cell(flow.values[1][0]) == "0.01");
    CHECK(param_cell(flow.values[1][1]) == "50");
    const auto plain = parse_zip("a=1,2,3,b=x,y,z");
    CHECK(cells(plain, 0) == std::vector<std::string>{"1", "2", "3"});
    CHECK(cells(plain, 1) == std::vector<std::string>{"x", "y", "z"});
    const auto mixed = parse_zip("a=[{k: \"1,2\"}, [3]], b=p,q");
    CHECK(cells(mixed, 0) == std::vector<std::string>{"{k: \"1,2\"}", "[3]"});
    CHECK(cells(mixed, 1) == std::vector<std::string>{"p", "q"});
  }

  TEST_CASE("zip: lists of different lengths and a key zipped twice are refused naming the --zip") {
    const auto lengths = error_of([] { parse_zip("a=[1,2],b=[1]"); });
    CHECK(lengths.find("--zip 'a=[1,2],b=[1]': ") != std::string::npos);
    CHECK(lengths.find("a has 2 values, b has 1") != std::string::npos);
    CHECK(error_of([] { parse_zip("a=[1],a=[2]"); }).find("zipped twice") != std::string::npos);
    CHECK(error_of([] { parse_zip("a=[1] b=[2]"); }).find("expected ','") != std::string::npos);
  }

  TEST_CASE("seeds: A-B is inclusive, A alone is one seed, and an empty range is refused") {
    CHECK(parse_seeds("1-3") == std::vector<std::int64_t>{1, 2, 3});
    CHECK(parse_seeds("7") == std::vector<std::int64_t>{7});
    CHECK(error_of([] { parse_seeds("5-1"); }).find("--seeds '5-1': ") != std::string::npos);
    CHECK(error_of([] { parse_seeds("a-b"); }).find("expected A-B") != std::string::npos);
    CHECK(error_of([] { parse_seeds("-1"); }).find("expected A-B") != std::string::npos);
  }

  TEST_CASE("expand: the first axis varies slowest and the seeds fastest, with stable folder names") {
    const auto points = expand({parse_grid("policies.aggregation=[{name: fedavg}, {name: fedprox, mu: 0.01}]"),
                                parse_grid("workload.local.lr=0.1,0.05")},
                               {1, 2});
    REQUIRE(points.size() == 8);
    std::vector<std::string> folders;
    for (const auto& p : points) folders.push_back(p.folder);
    CHECK(folders == std::vector<std::string>{"0000-fedavg-0.1-s1", "0001-fedavg-0.1-s2", "0002-fedavg-0.05-s1",
                                              "0003-fedavg-0.05-s2", "0004-fedprox_0.01-0.1-s1",
                                              "0005-fedprox_0.01-0.1-s2", "0006-fedprox_0.01-0.05-s1",
                                              "0007-fedprox_0.01-0.05-s2"});
    CHECK(points[5].index == 5);
    CHECK(*points[5].seed == 2);
    CHECK(param_cell(points[5].params[0].second) == "{name: fedprox, mu: 0.01}");
    CHECK(param_cell(points[5].params[1].second) == "0.1");
  }

  TEST_CASE("expand: a sweep of more than 10,000 points numbers its folders with more digits") {
    const auto points = expand({parse_grid("training.rounds=[" + [] {
                                  std::string list;
                                  for (int i = 1; i <= 101; ++i) list += (i > 1 ? "," : "") + std::to_string(i);
                                  return list;
                                }() + "]")},
                               parse_seeds("1-100"));
    REQUIRE(points.size() == 10100);
    CHECK(points.front().folder == "00000-1-s1");
    CHECK(points.back().folder == "10099-101-s100");
  }

  TEST_CASE("expand: a key swept twice, seed swept beside --seeds, a key also set, or nothing to sweep is refused") {
    CHECK(error_of([] { expand({parse_grid("a=1,2"), parse_zip("b=[1,2],a=[3,4]")}, {}); }).find("swept by another") !=
          std::string::npos);
    CHECK(error_of([] { expand({parse_grid("seed=1,2")}, {1, 2}); }).find("--seeds") != std::string::npos);
    CHECK(error_of([] { expand({parse_grid("a=1,2")}, {}, {"a"}); }).find("also given by --set") != std::string::npos);
    CHECK(error_of([] { expand({}, {}); }).find("nothing to sweep") != std::string::npos);
  }

  TEST_CASE("point overrides: the scenario they make carries the point's run_id, seed and param cells") {
    const auto points = expand({parse_grid("policies.aggregation=[{name: fedavg}, {name: fedprox, mu: 0.01}]")}, {4});
    const auto overrides = point_overrides(points[1]);
    const Scenario s = read_scenario_text(
        "name: demo\nplatform: {clients: {count: 10}}\nworkload: {dataset: {name: synthetic}, model: {name: logistic}}\n",
        "demo.yaml", overrides);
    for (const auto& d : s.context->errors.items()) FAIL_CHECK(format_diagnostic(d));
    CHECK(s.run_id == "demo#0001");
    CHECK(s.seed == 4);
    CHECK(s.policies.aggregation.name == "fedprox");
    REQUIRE(s.sweep_params.size() == 1);
    CHECK(s.sweep_params[0] == std::pair<std::string, std::string>{"policies.aggregation", "{name: fedprox, mu: 0.01}"});
  }

  TEST_CASE("short value: scalars joined by '_', unsafe bytes replaced, at most 24 bytes") {
    CHECK(short_value(YAML::Load("{name: fedprox, mu: 0.01}")) == "fedprox_0.01");
    CHECK(short_value(YAML::Load("[64, 32]")) == "64_32");
    CHECK(short_value(YAML::Load("\"a/b c\"")) == "a_b_c");
    CHECK(short_value(YAML::Load("\"//\"")).empty());
    CHECK(short_value(YAML::Load("abcdefghijklmnopqrstuvwxyz")) == "abcdefghijklmnopqrstuvwx");
  }
}
