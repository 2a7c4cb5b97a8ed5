// Each golden case's README derives by hand one client's bytes, flops and compute time, one transfer
// (LV08's factors for flow cases) and, for the analytic case, the round's end. This test recomputes
// those figures from the model's shapes and platform.csv, checks them against the run's CSVs, and checks
// that the README still states them (so the derivation cannot go stale).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>

#include "e2e_util.hpp"

using namespace e2e;

namespace {

// Training flops per sample of an MLP (logistic: no hidden layer), from the cost model of
// kernels/op_contract.hpp: forward GEMM 2·in·out, bias out (+ out for ReLU), softmax 5·classes; its
// gradient 2·classes; backward per layer dA = 2·out·in + in (ReLU backward; not for the first layer) and
// the update GEMM 2·in·out + bias column sums out.
double flops_per_sample(const std::vector<double>& widths) {
  double flops = 0;
  const std::size_t layers = widths.size() - 1;
  for (std::size_t l = 0; l < layers; ++l) {
    const double in = widths[l], out = widths[l + 1];
    flops += 2 * in * out + out * (l + 1 < layers ? 2 : 1);  // forward
    if (l > 0) flops += 2 * out * in + in;                     // dA
    flops += 2 * in * out + out;                               // update
  }
  const double classes = widths.back();
  return flops + 5 * classes + 2 * classes;
}

double parameters(const std::vector<double>& widths) {
  double d = 0;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l) d += widths[l] * widths[l + 1] + widths[l + 1];
  return d;
}

std::string g9(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

struct Case {
  std::string name;
  std::vector<double> widths;  // inputs, hidden..., classes
  double epochs;
  bool flow;  // LV08 (latency ×13.01, rate ×0.97) or analytic
  double server_latency_s;
  std::string client;  // the client of round 1 the README derives
};

std::map<std::string, std::string> row_of(const Table& t, const std::string& round, const std::string& client) {
  for (const auto& r : t)
    if ((round.empty() || r.at("round") == round) && r.at("client") == client) return r;
  FAIL("no row for client " << client);
  return {};
}

void check_case(const Case& c) {
  CAPTURE(c.name);
  const auto dir = source_dir() / "tests" / "e2e" / c.name;
  const auto out = scratch("figures_" + c.name);
  const auto r = run_dtsim({"run", (dir / "scenario.yaml").string(), "--out", out.string(), "--quiet", "--no-train"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string readme = slurp(dir / "README.md");
  const auto platform = row_of(read_csv(out / "platform.csv"), "", c.client);
  const auto task = row_of(read_csv(out / "clients.csv"), "1", c.client);

  const double d = parameters(c.widths), bytes = 4 * d, per_sample = flops_per_sample(c.widths);
  const double samples = std::stod(platform.at("samples")), speed = std::stod(platform.at("speed_flops_per_s"));
  const double bandwidth = std::stod(platform.at("bandwidth_bytes_per_s"));
  const double latency = c.server_latency_s + std::stod(platform.at("latency_s"));
  const double flops = c.epochs * samples * per_sample;
  const double compute = flops / speed;
  // γ/(2λ) with γ = 4194304 B caps a flow's rate under both models; every README case is below it.
  REQUIRE(bandwidth < 4194304 / (2 * latency));
  const double transfer = c.flow ? 13.01 * latency + bytes / (0.97 * bandwidth) : latency + bytes / bandwidth;
  const auto near = [](double got, double want) { return std::abs(got - want) <= 1e-9 * std::abs(want); };

  CHECK(std::stod(task.at("bytes_down")) == bytes);
  CHECK(std::stod(task.at("flops")) == flops);
  const double start = std::stod(task.at("start_s")), down = std::stod(task.at("download_end_s"));
  const double comp = std::stod(task.at("compute_end_s"));
  CHECK_MESSAGE(near(comp - down, compute), (comp - down) << " vs " << compute);
  CHECK_MESSAGE(near(down - start, transfer), (down - start) << " vs " << transfer);
  for (const auto& figure : {g9(bytes), g9(per_sample), g9(compute), g9(transfer)})
    CHECK_MESSAGE(readme.find("**" + figure + "**") != std::string::npos, "README.md should state " << figure);

  if (!c.flow) {  // the analytic round: the last of round 1's tasks, then 2·d flops per update at 1 Tf
    double last = 0;
    int started = 0;
    for (const auto& t : read_csv(out / "clients.csv")) {
      if (t.at("round") != "1") continue;
      const auto p = row_of(read_csv(out / "platform.csv"), "", t.at("client"));
      const double b = std::stod(p.at("bandwidth_bytes_per_s"));
      const double lat = c.server_latency_s + std::stod(p.at("latency_s"));
      const double task_s = 2 * (lat + bytes / b) +
                            c.epochs * std::stod(p.at("samples")) * per_sample / std::stod(p.at("speed_flops_per_s"));
      last = std::max(last, task_s);
      ++started;
    }
    const double end = last + 2 * d * started / 1e12;
    CHECK(near(std::stod(read_csv(out / "rounds.csv").at(0).at("sim_time_s")), end));
    CHECK_MESSAGE(readme.find("**" + g9(end) + "**") != std::string::npos, "README.md should state " << g9(end));
  }
}

// The xml_lab case: transfers over the route of platform.csv (its latency, its bottleneck), compute on
// the file's speed, the server's speed (50 Gf/s) from the file; one client per round.
void check_xml_case() {
  const auto dir = source_dir() / "tests" / "e2e" / "xml_lab";
  const auto out = scratch("figures_xml_lab");
  const auto r = run_dtsim({"run", (dir / "scenario.yaml").string(), "--out", out.string(), "--quiet", "--no-train"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string readme = slurp(dir / "README.md");
  const auto platform = read_csv(out / "platform.csv");
  // Round-robin over the six workstations in sorted name order.
  const std::vector<std::string> sorted{"ws-a1", "ws-a2", "ws-a3", "ws-b1", "ws-b2", "ws-b3"};
  REQUIRE(platform.size() == 8);
  for (std::size_t i = 0; i < platform.size(); ++i) CHECK(platform[i].at("host") == sorted[i % sorted.size()]);
  for (const auto& host : {sorted[0], sorted[1]}) CHECK(readme.find("**" + host + "**") != std::string::npos);

  const auto p = row_of(platform, "", "3");
  const auto task = row_of(read_csv(out / "clients.csv"), "2", "3");
  const double d = parameters({60, 10}), bytes = 4 * d, per_sample = flops_per_sample({60, 10});
  const double latency = 0.0005 + 0.001 + 0.00005, bottleneck = 100e6 / 8;  // lab.xml's room B route
  CHECK(std::stod(p.at("route_latency_s")) == doctest::Approx(latency).epsilon(1e-12));
  CHECK(std::stod(p.at("route_bandwidth_bytes_per_s")) == bottleneck);
  CHECK(std::stod(p.at("speed_flops_per_s")) == 2e9);
  const double transfer = latency + bytes / bottleneck;
  const double compute = 2 * std::stod(p.at("samples")) * per_sample / 2e9;
  const double round = 2 * transfer + compute + 2 * d / 50e9;
  const auto near = [](double got, double want) { return std::abs(got - want) <= 1e-9 * std::abs(want); };
  const double start = std::stod(task.at("start_s"));
  CHECK(near(std::stod(task.at("download_end_s")) - start, transfer));
  CHECK(near(std::stod(task.at("compute_end_s")) - std::stod(task.at("download_end_s")), compute));
  CHECK(near(std::stod(read_csv(out / "rounds.csv").at(1).at("round_duration_s")), round));
  for (const auto& figure : {g9(bytes), g9(per_sample), g9(transfer), g9(compute), g9(round)})
    CHECK_MESSAGE(readme.find("**" + figure + "**") != std::string::npos, "README.md should state " << figure);
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("golden figures: the xml case's hosts, routes and round match its README") { check_xml_case(); }
  TEST_CASE("golden figures: each case's README derivation matches its run") {
    check_case({"analytic", {60, 10}, 3, false, 0.001, "1"});
    check_case({"synthetic_small", {60, 10}, 2, true, 0.001, "2"});
    check_case({"fmnist_small", {784, 32, 16, 10}, 1, true, 0.001, "0"});
  }
}
