#include "sim/engine/platform/platform.hpp"

#include <simgrid/kernel/ProfileBuilder.hpp>
#include <simgrid/s4u.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <sstream>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

// Each property is drawn within what SimGrid can simulate (the schema's ranges): a draw outside is drawn again
// from the same keyed stream, at most Distribution::kMaxRedraws times, then clamped; the loader refuses a
// distribution with less than 1 % of its draws inside. A first draw inside is kept as drawn, so scenarios whose
// draws all lie in range keep their platforms to the bit.
ClientHostSpec draw_client_spec(const PlatformSpec& platform, std::uint64_t seed, ClientId client) {
  const auto i = static_cast<std::uint64_t>(client.value);
  constexpr double kLargest = std::numeric_limits<double>::max();
  const ClientsSpec& clients = platform.clients;
  ClientHostSpec spec;
  const HostClassSpec* cls = nullptr;
  if (!platform.host_classes.empty()) {
    double total = 0;
    for (const auto& c : platform.host_classes) total += c.weight;
    Rng pick(seed, "platform.class", i);
    const double u = pick.uniform(0, total);
    double below = 0;
    std::size_t k = 0;
    for (; k + 1 < platform.host_classes.size(); ++k) {
      below += platform.host_classes[k].weight;
      if (u < below) break;
    }
    while (platform.host_classes[k].weight <= 0 && k > 0) --k;  // u at the very top: the last class with weight
    cls = &platform.host_classes[k];
    spec.host_class = static_cast<int>(k);
    spec.efficiency = cls->efficiency;
    spec.watts_idle = cls->watts_idle;
    spec.watts_busy = cls->watts_busy;
    spec.speed_from_class = cls->speed.has_value();
  }
  const auto pick = [&](const std::optional<Distribution> HostClassSpec::*field, const Distribution& fallback) -> const Distribution& {
    return cls && (cls->*field) ? *(cls->*field) : fallback;
  };
  Rng speed(seed, "platform.speed", i);
  Rng bandwidth(seed, "platform.bandwidth", i);
  Rng latency(seed, "platform.latency", i);
  spec.speed_flops_per_s = pick(&HostClassSpec::speed, clients.speed).draw_within(speed, kMinSpeedFlopsPerS, kLargest);
  spec.bandwidth_bytes_per_s =
      pick(&HostClassSpec::bandwidth, clients.bandwidth).draw_within(bandwidth, kMinBandwidthBytesPerS, kLargest);
  spec.latency_s = pick(&HostClassSpec::latency, clients.latency).draw_within(latency, 0.0, kMaxLatencyS);
  if (!clients.trace_rows.empty()) {  // the trace's figures replace the draws (the streams stay as they are)
    const ClientTraceRow& row = clients.trace_rows[i % clients.trace_rows.size()];
    spec.speed_flops_per_s = row.speed_flops_per_s;
    spec.bandwidth_bytes_per_s = row.bandwidth_bytes_per_s;
    if (row.latency_s) spec.latency_s = *row.latency_s;
  }
  return spec;
}

bool server_link_shared_exactly(const PlatformSpec& spec) {
  return spec.topology == "star" && spec.network_model == NetworkModel::analytic && !spec.simgrid_solver &&
         !spec.simgrid_network_options;
}

std::vector<std::string> class_names(const PlatformSpec& spec) {
  std::vector<std::string> out;
  for (const auto& c : spec.host_classes) out.push_back(c.name);
  return out;
}

RouteInfo Platform::route_of(ClientId client) const {
  auto* host = host_of(client);
  RouteInfo r;
  r.host = host->get_name();
  std::vector<sg4::Link*> links;
  if (host != coordinator()) host->route_to(coordinator(), links, &r.latency_s);
  r.links = static_cast<std::int64_t>(links.size());
  for (std::size_t i = 0; i < links.size(); ++i)
    r.bandwidth_bytes_per_s = i == 0 ? links[i]->get_bandwidth() : std::min(r.bandwidth_bytes_per_s, links[i]->get_bandwidth());
  if (folded_bandwidth_ > 0 && host != coordinator()) {  // the server's link, folded: its latency is in the sum
    r.links += 1;
    r.bandwidth_bytes_per_s = r.links == 1 ? folded_bandwidth_ : std::min(r.bandwidth_bytes_per_s, folded_bandwidth_);
  }
  return r;
}

namespace {
// The client's steps of dynamics.bandwidth_profile (client i follows trace client i mod M), or end().
auto bandwidth_steps_of(const PlatformSpec& spec, ClientId client) {
  const BandwidthSteps& b = spec.bandwidth_steps;
  return b.steps.find(client.value % b.trace_clients);
}

// The most the client's link can carry at any time: its drawn bandwidth or a higher profile step.
double peak_bandwidth(const PlatformSpec& spec, ClientId client, double drawn) {
  double peak = drawn;
  if (const auto steps = bandwidth_steps_of(spec, client); steps != spec.bandwidth_steps.steps.end())
    for (const auto& [t, bw] : steps->second) peak = std::max(peak, bw);
  return peak;
}
}  // namespace

simgrid::kernel::profile::Profile* bandwidth_profile_of(const PlatformSpec& spec, ClientId client) {
  const auto steps = bandwidth_steps_of(spec, client);
  if (steps == spec.bandwidth_steps.steps.end()) return nullptr;
  // One profile per trace client, shared by the links that follow it (one engine per process).
  static std::map<std::int64_t, simgrid::kernel::profile::Profile*> made;
  auto& profile = made[steps->first];
  if (!profile) {
    std::ostringstream text;
    text.precision(17);
    for (const auto& [t, bw] : steps->second) text << t << ' ' << bw << '\n';
    profile = simgrid::kernel::profile::ProfileBuilder::from_string("dtsim-bandwidth-" + std::to_string(steps->first),
                                                                   text.str(), -1);
  }
  return profile;
}

sg4::Link* attach_to_star(sg4::NetZone* zone, sg4::Host* host, double bandwidth, double latency,
                          const sg4::Link* shared, simgrid::kernel::profile::Profile* bandwidth_profile) {
  auto* duplex = zone->create_split_duplex_link(host->get_name() + "_link", bandwidth);
  if (bandwidth_profile) {  // before the link is sealed (SimGrid refuses it after)
    duplex->get_link_up()->set_bandwidth_profile(bandwidth_profile);
    duplex->get_link_down()->set_bandwidth_profile(bandwidth_profile);
  }
  sg4::Link* link = duplex->set_latency(latency);
  link->seal();
  std::vector<sg4::LinkInRoute> route{{link, sg4::LinkInRoute::Direction::UP}};
  if (shared) route.emplace_back(shared);
  zone->add_route(host->get_netpoint(), nullptr, nullptr, nullptr, route, true);
  return link;
}

std::unique_ptr<Platform> build_flat_star(const PlatformSpec& spec, std::uint64_t seed, const std::string& zone_name,
                                          const std::string& host_prefix, const LinkSpec* backbone) {
  auto* zone = sg4::create_star_zone(zone_name);
  const sg4::Link* shared = nullptr;
  if (backbone)
    shared = zone->create_link("backbone", backbone->bandwidth_bytes_per_s)->set_latency(backbone->latency_s)->seal();
  std::vector<ClientHostSpec> drawn(static_cast<std::size_t>(spec.clients.count));
  double sum_of_peaks = 0;  // bytes/s: what every client's link could carry at once, in one direction
  for (std::size_t i = 0; i < drawn.size(); ++i) {
    const ClientId id{static_cast<std::int32_t>(i)};
    drawn[i] = draw_client_spec(spec, seed, id);
    sum_of_peaks += peak_bandwidth(spec, id, drawn[i].bandwidth_bytes_per_s);
  }
  // The server's link is left out of the routes when it can never be a bottleneck: in each direction it
  // carries what the clients' links carry (cross-traffic included: a client's link carries the same mix),
  // so when the clients' peaks sum to no more than its bandwidth, max-min sharing never saturates it
  // alone, and each client's flows share only its own link. Its latency is folded into the clients'
  // links (the same sum, in the same order, as SimGrid's route). Then an event re-solves one client's
  // flows instead of every flow crossing the server (shared/reference/SIMGRID.md §4.6).
  // Where dtsim's exact solver shares the server's link instead (server_link_shared_exactly), contended or
  // not (it is the faster of the two), the link is left out of SimGrid's routes the same way, its latency
  // folded into the clients' links (bandwidth profiles included: the solver changes the caps at their steps).
  const bool share = !backbone && server_link_shared_exactly(spec);
  const bool fold = !share && !backbone && !spec.simgrid_solver && sum_of_peaks <= spec.server.bandwidth_bytes_per_s;
  const bool leave_out = fold || share;
  auto* server = zone->create_host("server", spec.server.speed_flops_per_s)->seal();
  if (leave_out)
    zone->add_route(server->get_netpoint(), nullptr, nullptr, nullptr, {}, true);
  else
    attach_to_star(zone, server, spec.server.bandwidth_bytes_per_s, spec.server.latency_s, shared);
  std::vector<HostListPlatform::Client> clients(drawn.size());
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const ClientId id{static_cast<std::int32_t>(i)};
    auto* host = zone->create_host(host_prefix + std::to_string(i), drawn[i].speed_flops_per_s)->seal();
    attach_to_star(zone, host, drawn[i].bandwidth_bytes_per_s,
                   leave_out ? drawn[i].latency_s + spec.server.latency_s : drawn[i].latency_s, shared,
                   bandwidth_profile_of(spec, id));
    clients[i] = {host, drawn[i], 1};
  }
  zone->seal();
  auto platform = std::make_unique<HostListPlatform>(server, std::move(clients), class_names(spec));
  if (fold) platform->fold_into_routes(spec.server.bandwidth_bytes_per_s);
  if (share) platform->share_server_link({spec.server.bandwidth_bytes_per_s, spec.server.latency_s});
  return platform;
}

MemoryPart host_memory(std::int64_t clients, std::int64_t extra_links) {
  // Per client: SimGrid's host, split-duplex link, netpoint and route (2.74 KB, shared/reference/
  // SIMGRID.md §4.6) and dtsim's records of the client (the platform's, the workload's sample count, the
  // partition's index list; 256 B: dtsim timing-only runs measured 2.9–3.0 KB per client in all from
  // 1,000 to 40,000 clients); a link of another kind (a site's uplink, a tree's switch link) ~1 KB.
  constexpr double simgrid = 2740, records = 256, link = 1024;
  return {"platform", (simgrid + records) * static_cast<double>(clients) + link * static_cast<double>(extra_links),
          "(" + std::to_string(clients) + " clients)", "platform.clients.count"};
}

void configure_network_model(NetworkModel model, const std::string& topology, bool user_sets_optim) {
  if (topology != "star" && !user_sets_optim) sg4::Engine::set_config("network/optim:Full");
  if (model == NetworkModel::analytic) {
    // CM02 without cross-traffic and without the TCP window cap: an uncontended transfer takes exactly
    // latency + bytes / bandwidth (shared/reference/SIMGRID.md §5).
    sg4::Engine::set_config("network/model:CM02");
    sg4::Engine::set_config("network/crosstraffic:0");
    sg4::Engine::set_config("network/TCP-gamma:1e30");
  }
  // flow: SimGrid's default LV08 flow model (latency and bandwidth corrections, RTT-aware sharing).
}

}  // namespace dtsim::engine
