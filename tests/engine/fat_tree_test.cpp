// The fat_tree builder against the closed form of a fat tree, under network_model: analytic (every time
// exact): a route between two nodes whose nearest common ancestor is at level h crosses 2·h links and has
// latency 2·h·lat; and the bisection: with every node of the first half sending S bytes to its partner in
// the second half at once, each flow gets B / max(1, down[0] / (up[1]·parallel[1])) — a leaf switch's
// down[0] nodes share its up[1]·parallel[1] uplinks (SimGrid's fat tree routes by destination, so the
// flows of a leaf switch spread evenly over them). One SimGrid engine per process: one ctest entry per
// case (`fat_tree_test CASE [SIMGRID ARGS]`).
#include <simgrid/s4u.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/engine/platform/platform.hpp"

#include "tests/engine/engine_case_main.hpp"

namespace sg4 = simgrid::s4u;
using dtsim::engine_tests::expect;
using namespace dtsim;
using namespace dtsim::engine;

namespace {

bool near(double got, double want) { return std::abs(got - want) <= 1e-9 * std::max(1.0, std::abs(want)); }

constexpr double kBandwidth = 1e6, kLatency = 1e-3, kBytes = 1e6;

PlatformSpec tree(std::vector<std::int64_t> down, std::vector<std::int64_t> up, std::vector<std::int64_t> parallel) {
  PlatformSpec spec;
  spec.topology = "fat_tree";
  spec.network_model = NetworkModel::analytic;
  spec.fat_tree.levels = static_cast<std::int64_t>(down.size());
  spec.fat_tree.down = std::move(down);
  spec.fat_tree.up = std::move(up);
  spec.fat_tree.parallel = std::move(parallel);
  spec.fat_tree.link = {kBandwidth, kLatency};
  std::int64_t nodes = 1;
  for (auto d : spec.fat_tree.down) nodes *= d;
  spec.clients.count = nodes - 1;
  return spec;
}

// The level of the nearest common ancestor of nodes a and b (0: the same node).
std::int64_t common_level(const FatTreeSpec& f, std::int64_t a, std::int64_t b) {
  std::int64_t level = 0, span = 1;
  while (a / span != b / span) span *= f.down.at(static_cast<std::size_t>(level++));
  return level;
}

// Node i's host: the server is node 0, client i − 1 node i.
sg4::Host* node(const Platform& p, std::int64_t i) {
  return i == 0 ? p.coordinator() : p.host_of(ClientId{static_cast<std::int32_t>(i - 1)});
}

void check_routes(const PlatformSpec& spec) {
  configure_network_model(spec.network_model, spec.topology);
  const auto platform = platform_registry().at("fat_tree").make()->build(spec, 1);
  const std::int64_t n = platform->participant_count() + 1;
  for (std::int64_t a = 0; a < n; ++a)
    for (std::int64_t b = 0; b < n; ++b) {
      if (a == b) continue;
      std::vector<sg4::Link*> links;
      double latency = 0;
      node(*platform, a)->route_to(node(*platform, b), links, &latency);
      const auto h = common_level(spec.fat_tree, a, b);
      expect(static_cast<std::int64_t>(links.size()) == 2 * h,
             "node" + std::to_string(a) + " -> node" + std::to_string(b) + ": " + std::to_string(links.size()) +
                 " links, expected " + std::to_string(2 * h));
      expect(near(latency, 2.0 * static_cast<double>(h) * kLatency),
             "node" + std::to_string(a) + " -> node" + std::to_string(b) + " latency " + std::to_string(latency));
    }
  // platform.csv's route figures for every client: to the server on node 0.
  for (std::int64_t c = 0; c + 1 < n; ++c) {
    const RouteInfo r = platform->route_of(ClientId{static_cast<std::int32_t>(c)});
    expect(r.links == 2 * common_level(spec.fat_tree, c + 1, 0), "route_of client " + std::to_string(c));
  }
}

void check_bisection(const PlatformSpec& spec) {
  configure_network_model(spec.network_model, spec.topology);
  const auto platform = platform_registry().at("fat_tree").make()->build(spec, 1);
  const std::int64_t n = platform->participant_count() + 1, half = n / 2;
  std::vector<double> ends(static_cast<std::size_t>(half), -1);
  for (std::int64_t i = 0; i < half; ++i) {
    auto* mailbox = sg4::Mailbox::by_name("pair" + std::to_string(i));
    sg4::Actor::create("recv" + std::to_string(i), node(*platform, i + half), [mailbox, i, &ends] {
      mailbox->get<int>();
      ends[static_cast<std::size_t>(i)] = sg4::Engine::get_clock();
    });
    sg4::Actor::create("send" + std::to_string(i), node(*platform, i), [mailbox] {
      static int payload = 0;
      mailbox->put(&payload, static_cast<std::uint64_t>(kBytes));
    });
  }
  sg4::Engine::get_instance()->run();
  const auto& f = spec.fat_tree;
  const double share = std::max(1.0, static_cast<double>(f.down[0]) / static_cast<double>(f.up[1] * f.parallel[1]));
  const double hops = 2.0 * static_cast<double>(f.levels);  // first and second halves meet at the top
  const double want = hops * kLatency + kBytes * share / kBandwidth;
  for (std::int64_t i = 0; i < half; ++i)
    expect(near(ends[static_cast<std::size_t>(i)], want),
           "flow " + std::to_string(i) + " ended at " + std::to_string(ends[static_cast<std::size_t>(i)]) +
               ", expected " + std::to_string(want));
}

const std::map<std::string, std::function<void()>> cases{
    {"routes_full_4ary_2level", [] { check_routes(tree({4, 4}, {1, 4}, {1, 1})); }},
    {"routes_3level", [] { check_routes(tree({2, 3, 2}, {1, 2, 3}, {1, 1, 1})); }},
    {"bisection_full", [] { check_bisection(tree({4, 4}, {1, 4}, {1, 1})); }},
    {"bisection_pruned_by_2", [] { check_bisection(tree({4, 4}, {1, 2}, {1, 1})); }},
    {"bisection_3level_full", [] { check_bisection(tree({2, 2, 2}, {1, 2, 2}, {1, 1, 1})); }},
};

}  // namespace

int main(int argc, char** argv) { return dtsim::engine_tests::run_case(argc, argv, cases); }
