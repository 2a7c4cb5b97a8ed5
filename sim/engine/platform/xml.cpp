// The `xml` topology: a SimGrid platform file (platform.file), its hosts given roles by platform.map —
// ECMAScript regexes matched against whole host names, hosts taken in sorted name order. The server is the
// first host matching map.server; the clients' hosts are those matching map.clients, the server's left
// out, and client i runs on the (i mod m)-th of the m of them: with more clients than hosts, clients
// share a host, and SimGrid shares its cores among their executions. Speeds are the file's unless
// platform.clients.speed is given: then each client's speed is drawn as in `star` and its executions are
// scaled by host speed ÷ client speed (Platform::compute_scale), flops still reported as modelled.
// Links and routes are the file's; platform.csv shows each client's host and route to the server.
//
// check() loads the file in a child process (fork, its own SimGrid engine: one engine per process,
// and a file SimGrid cannot parse may abort it), so `validate` and `run` report a bad file, a regex that
// matches no host and a client host with no route to the server as located errors before anything runs.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <simgrid/s4u.hpp>
#include <stdexcept>
#include <string>

#include "sim/engine/platform/platform.hpp"
#include "sim/scenario/params.hpp"

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

namespace {

constexpr int kProbeSeconds = 60;

// A mapping problem, with the key to blame.
struct MapError : std::runtime_error {
  MapError(std::string k, const std::string& what) : std::runtime_error(what), key(std::move(k)) {}
  std::string key;
};

struct HostMap {
  sg4::Host* server = nullptr;
  std::vector<sg4::Host*> clients;  // sorted by name
};

// The roles of the loaded platform's hosts (throws MapError).
HostMap map_hosts(const XmlSpec& xml) {
  auto hosts = sg4::Engine::get_instance()->get_all_hosts();
  std::sort(hosts.begin(), hosts.end(), [](const sg4::Host* a, const sg4::Host* b) { return a->get_name() < b->get_name(); });
  const std::regex server(xml.server_pattern, std::regex::ECMAScript), clients(xml.clients_pattern, std::regex::ECMAScript);
  HostMap m;
  for (auto* h : hosts)
    if (std::regex_match(h->get_name(), server)) {
      m.server = h;
      break;
    }
  if (!m.server)
    throw MapError("platform.map.server", "'" + xml.server_pattern + "' matches none of the " +
                                              std::to_string(hosts.size()) + " hosts of " + xml.file);
  for (auto* h : hosts)
    if (h != m.server && std::regex_match(h->get_name(), clients)) m.clients.push_back(h);
  if (m.clients.empty())
    throw MapError("platform.map.clients", "'" + xml.clients_pattern + "' matches no host of " + xml.file +
                                               " but the server's ('" + m.server->get_name() + "')");
  for (auto* h : m.clients) {
    std::vector<sg4::Link*> links;
    double latency = 0;
    try {
      h->route_to(m.server, links, &latency);
    } catch (const std::exception&) {  // Floyd and Dijkstra zones throw where Full ones return no link
      links.clear();
    }
    if (links.empty())
      throw MapError("platform.file", "host '" + h->get_name() + "' has no route to the server's host '" +
                                          m.server->get_name() + "' in " + xml.file);
  }
  return m;
}

// Loads the file and maps it in a child process; returns ("", "") when it loads and maps, else (key, why).
std::pair<std::string, std::string> probe(const XmlSpec& xml) {
  int fds[2];
  if (pipe(fds) != 0) return {"platform.file", "cannot check the platform file: pipe failed"};
  const pid_t pid = fork();
  if (pid < 0) return {"platform.file", "cannot check the platform file: fork failed"};
  if (pid == 0) {  // the child: its own engine; SimGrid's log lines and an abort's message go to the pipe
    close(fds[0]);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(fds[1], 2);
    std::string answer;
    try {
      int argc = 1;
      char name[] = "dtsim-platform-check";
      char* argv[] = {name, nullptr};
      sg4::Engine engine(&argc, argv);
      engine.load_platform(xml.file);
      engine.seal_platform();  // Floyd and Dijkstra zones compute their routes here
      map_hosts(xml);
      answer = "ok\n";
    } catch (const MapError& e) {
      answer = "error\t" + e.key + "\t" + e.what() + "\n";
    } catch (const std::exception& e) {
      answer = std::string("error\tplatform.file\t") + e.what() + "\n";
    }
    // One line: SimGrid's messages may hold newlines ("Existing netpoints:\n'a','b'").
    std::replace(answer.begin(), answer.end() - 1, '\n', ' ');
    const ssize_t ignored = write(fds[1], answer.data(), answer.size());
    (void)ignored;
    _exit(0);
  }
  close(fds[1]);
  // Read until the child closes the pipe, for at most kProbeSeconds: a huge file or a regex that
  // backtracks without end must not hang validate or run.
  std::string text;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kProbeSeconds);
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fds[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) == 0) {
      timed_out = true;
      break;
    }
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (timed_out)
    return {"platform.file", "loading " + xml.file + " and matching platform.map took more than " +
                                 std::to_string(kProbeSeconds) + " s (a huge file, or a regex that backtracks without end?)"};
  // The answer is the last line; lines before it are SimGrid's messages.
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const auto nl = text.rfind('\n');
  const std::string last = nl == std::string::npos ? text : text.substr(nl + 1);
  if (last == "ok" && WIFEXITED(status)) return {"", ""};
  if (last.rfind("error\t", 0) == 0) {
    const auto tab = last.find('\t', 6);
    return {last.substr(6, tab - 6), last.substr(tab + 1)};
  }
  return {"platform.file", "SimGrid could not load " + xml.file + (last.empty() ? "" : ": " + last)};
}

class XmlBuilder final : public PlatformBuilder {
 public:
  void check(const PlatformSpec& spec, ParamsContext& context) const override {
    const auto& xml = spec.xml;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(xml.file, ec)) {
      report_at(context, Severity::error, "platform.file", "cannot read the platform file '" + xml.file + "'");
      return;
    }
    if (const auto [key, why] = probe(xml); !key.empty()) report_at(context, Severity::error, key, why);
  }

  std::unique_ptr<Platform> build(const PlatformSpec& spec, std::uint64_t seed) const override {
    auto* engine = sg4::Engine::get_instance();
    engine->load_platform(spec.xml.file);
    engine->seal_platform();
    const HostMap m = map_hosts(spec.xml);
    std::vector<HostListPlatform::Client> clients(static_cast<std::size_t>(spec.clients.count));
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const ClientId id{static_cast<std::int32_t>(i)};
      auto* host = m.clients[i % m.clients.size()];
      ClientHostSpec s = draw_client_spec(spec, seed, id);  // its class, and its speed if one is given
      const bool speed_given = spec.clients.speed_given || s.speed_from_class;
      if (!speed_given) s.speed_flops_per_s = host->get_speed();
      // No client has a link of its own here: platform.csv's bandwidth and latency are its route's.
      std::vector<sg4::Link*> links;
      s.latency_s = 0;  // route_to adds to it
      s.bandwidth_bytes_per_s = 0;
      host->route_to(m.server, links, &s.latency_s);
      for (std::size_t k = 0; k < links.size(); ++k)
        s.bandwidth_bytes_per_s = k == 0 ? links[k]->get_bandwidth() : std::min(s.bandwidth_bytes_per_s, links[k]->get_bandwidth());
      const double scale = speed_given ? host->get_speed() / s.speed_flops_per_s : 1.0;
      clients[i] = {host, s, scale};
    }
    return std::make_unique<HostListPlatform>(m.server, std::move(clients), class_names(spec));
  }

  std::vector<MemoryPart> memory(const PlatformSpec& spec) const override {
    // The file's hosts and links: about 3 KB per 100 bytes of XML, an overestimate for routes.
    std::error_code ec;
    const auto bytes = static_cast<double>(std::filesystem::file_size(spec.xml.file, ec));
    MemoryPart part = host_memory(spec.clients.count);
    if (!ec) part.bytes += 30 * bytes;
    return {part};
  }

  std::vector<std::string> input_files(const PlatformSpec& spec) const override { return {spec.xml.file}; }
};

}  // namespace

std::unique_ptr<PlatformBuilder> make_xml_builder() { return std::make_unique<XmlBuilder>(); }

}  // namespace dtsim::engine
