// Topologies end to end under network_model: analytic, with expectations computed here: k clients that
// move S bytes at once through one shared link of bandwidth B (a site's uplink, a cluster's backbone)
// take k·S/B plus the route's latency (max-min fair shares, equal route latencies); every other link is
// 100× faster. The 8 clients hold 100 samples each (IID over 800) and compute alike, so their downloads
// start together at the round's start and their uploads together at the end of their computation.
#include <doctest/doctest.h>

#include <cmath>

#include "e2e_util.hpp"

using namespace e2e;

namespace {

std::string scenario() { return (source_dir() / "tests" / "e2e" / "fmnist_small" / "scenario.yaml").string(); }

constexpr double kParams = 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10;  // fmnist_small's MLP 784-32-16-10
constexpr double kBytes = 4 * kParams;

const std::vector<std::string> kCommon{
    "platform.network_model=analytic",  "platform.clients={count: 8, speed: 2Gf, bandwidth: 1Gbps, latency: 5ms}",
    "platform.server={speed: 1Tf, bandwidth: 10Gbps, latency: 1ms}", "workload.dataset.max_train=800",
    "workload.partition={name: iid, alpha: null}",  "training={rounds: 2, clients_per_round: 8, eval_every: 0}"};

Table clients_of(const std::string& name, std::vector<std::string> sets) {
  sets.insert(sets.begin(), kCommon.begin(), kCommon.end());
  const auto out = scratch("topology_" + name);
  const auto r = run_dtsim(with_sets({"run", scenario(), "--out", out.string(), "--quiet", "--no-train"}, sets));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return read_csv(out / "clients.csv");
}

// Every client's download and upload took `latency` + `sharing`·S/B.
void check_transfers(const Table& clients, double latency, double sharing, double bandwidth) {
  REQUIRE(clients.size() == 16);
  const double want = latency + sharing * kBytes / bandwidth;
  for (const auto& c : clients) {
    CAPTURE(c.at("round"));
    CAPTURE(c.at("client"));
    REQUIRE(std::stod(c.at("bytes_down")) == kBytes);
    const double down = std::stod(c.at("download_end_s")) - std::stod(c.at("start_s"));
    const double up = std::stod(c.at("upload_end_s")) - std::stod(c.at("compute_end_s"));
    CHECK(down == doctest::Approx(want).epsilon(1e-9));
    CHECK(up == doctest::Approx(want).epsilon(1e-9));
  }
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("topology sites: the 4 clients of a site share its uplink: 4·S/B, plus client, WAN and server latency") {
    const double uplink = 20e6 / 8;  // 20 Mbps
    const auto clients = clients_of("sites", {"platform.topology=sites",
                                              "platform.sites={count: 2, uplink: 20Mbps, wan: {bandwidth: 10Gbps, "
                                              "latency: 30ms}}"});
    check_transfers(clients, 0.005 + 0.030 + 0.001, 4, uplink);
  }

  TEST_CASE("topology sites: one site per client: no sharing but the WAN's latency") {
    const auto clients = clients_of("sites_alone", {"platform.topology=sites",
                                                    "platform.sites={count: 8, uplink: 20Mbps, wan: {bandwidth: "
                                                    "10Gbps, latency: 30ms}}"});
    check_transfers(clients, 0.005 + 0.030 + 0.001, 1, 20e6 / 8);
  }

  TEST_CASE("topology cluster: all 8 flows share the backbone: 8·S/B, plus client, backbone and server latency") {
    const double backbone = 40e6 / 8;  // 40 Mbps
    const auto clients = clients_of("cluster", {"platform.topology=cluster",
                                                "platform.cluster={backbone: {bandwidth: 40Mbps, latency: 2ms}}"});
    check_transfers(clients, 0.005 + 0.002 + 0.001, 8, backbone);
  }

  TEST_CASE("topology star: the same fleet without a shared link: S over the client's own link") {
    const auto clients = clients_of("star", {"platform.topology=star", "platform.clients.bandwidth=20Mbps"});
    check_transfers(clients, 0.005 + 0.001, 1, 20e6 / 8);
  }
}

TEST_SUITE("e2e") {
  TEST_CASE("topology xml: platform.clients.speed replaces the file's speeds; flops stay as modelled") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "xml_lab" / "scenario.yaml").string();
    const auto file_speeds = scratch("topology_xml_file_speeds"), given = scratch("topology_xml_given_speed");
    for (const auto& [out, extra] : {std::pair{file_speeds, std::string("training.rounds=4")},
                                     std::pair{given, std::string("platform.clients.speed=1Gf")}}) {
      const auto r = run_dtsim({"run", scenario, "--out", out.string(), "--quiet", "--no-train", "--set", extra});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
    }
    const auto a = read_csv(file_speeds / "clients.csv"), b = read_csv(given / "clients.csv");
    REQUIRE(a.size() == b.size());
    for (const auto& p : read_csv(given / "platform.csv")) CHECK(std::stod(p.at("speed_flops_per_s")) == 1e9);
    for (std::size_t i = 0; i < b.size(); ++i) {
      CAPTURE(i);
      CHECK(b[i].at("flops") == a[i].at("flops"));
      const double compute = std::stod(b[i].at("compute_end_s")) - std::stod(b[i].at("download_end_s"));
      CHECK(compute == doctest::Approx(std::stod(b[i].at("flops")) / 1e9).epsilon(1e-9));
    }
  }
}
