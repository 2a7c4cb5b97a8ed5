#include "sim/scenario/scenario.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <regex>
#include <unordered_map>
#include <unordered_set>

#include "sim/scenario/schema.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace dtsim {

namespace {

constexpr std::size_t kMaxNameBytes = 255;  // NAME_MAX: the name becomes a folder name

[[noreturn]] void fail(const std::string& file, int line, int column, const std::string& message) {
  throw ConfigError(std::vector<Diagnostic>{{{file, line, column}, "", message, {}}});
}

// What a non-regular file is, for "it is a FIFO (named pipe), not a regular file".
const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISCHR(mode)) return "a character device";
  return "not a regular file";
}

// The whole file as text, refusing one larger than `max_bytes` (read at most one byte more, so a device
// such as /dev/zero ends the read too). Nothing here waits: a FIFO would block open() until a writer comes
// and read() until it writes, a socket cannot be opened, so both are refused by stat() before any open; the
// file is then opened non-blocking and checked again through its descriptor (the path may have changed
// since). A character device (/dev/zero, a terminal) is read non-blocking, within the same bound: one with
// no data ready is refused rather than waited for.
std::string read_file(const std::string& path, std::size_t max_bytes) {
  auto cannot = [&path](const std::string& why) { fail(path, 0, 0, "cannot read scenario file: " + why); };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) cannot(std::strerror(errno));
  const auto refuse_kind = [&](mode_t mode) {
    if (S_ISDIR(mode)) cannot("it is a directory");
    if (!S_ISREG(mode) && !S_ISCHR(mode)) cannot(std::string("it is ") + file_kind(mode) + ", not a regular file");
  };
  refuse_kind(st.st_mode);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) cannot(std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::fstat(fd, &st) != 0) cannot(std::strerror(errno));
  refuse_kind(st.st_mode);
  std::string text(max_bytes + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (got > 0) break;  // what a device had ready
      cannot(std::string("it is ") + file_kind(st.st_mode) + " with no data ready, not a regular file");
    }
    if (n < 0) cannot(std::string("read error: ") + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  if (text.size() > max_bytes)
    fail(path, 0, 0, fmt::format("the scenario file is larger than {} MiB; a scenario is a few kB", max_bytes >> 20));
  return text;
}

YAML::Node parse_text(const std::string& text, const std::string& file) {
  YamlRead read = read_yaml(text);
  if (read.problem)
    throw ConfigError(std::vector<Diagnostic>{{{file, read.problem->line, read.problem->column},
                                               read.problem->key_path,
                                               read.problem->message,
                                               read.problem->notes}});
  std::vector<YAML::Node>& documents = read.documents;
  if (documents.size() > 1) fail(file, 0, 0, fmt::format("holds {} YAML documents; expected one", documents.size()));
  if (documents.empty() || documents[0].IsNull())
    fail(file, 0, 0, "the scenario is empty; expected a mapping with keys such as platform, workload and training");
  const YAML::Node& root = documents[0];
  if (!root.IsMap())
    fail(file, root.Mark().line + 1, root.Mark().column + 1,
         "expected a mapping at the top level (keys such as platform, workload and training), got " +
             describe_node(root));
  return root;
}

// A key path under construction, joined into text only when an error needs it (a path can be long:
// 64 levels of 4 kB keys).
class KeyPath {
 public:
  void push_key(std::string_view key) { segments_.push_back({key, 0, false}); }
  void push_index(std::size_t index) { segments_.push_back({{}, index, true}); }
  void pop() { segments_.pop_back(); }
  std::string text() const {
    std::string out;
    for (const auto& s : segments_)
      out += s.is_index ? "[" + std::to_string(s.index) + "]" : (out.empty() ? "" : ".") + std::string(s.key);
    return out;
  }

 private:
  struct Segment {
    std::string_view key;
    std::size_t index;
    bool is_index;
  };
  std::vector<Segment> segments_;
};

// yaml-cpp keeps both pairs of a repeated key, and a lookup would silently take the first. `locate`
// turns a node's mark into the error's location. The walk expands aliases: read_yaml bounds its size.
template <class Locate>
void check_duplicate_keys(const YAML::Node& node, KeyPath& path, const Locate& locate, ErrorList& errors) {
  if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      path.push_index(i);
      check_duplicate_keys(node[i], path, locate, errors);
      path.pop();
    }
  }
  if (!node.IsMap()) return;
  std::unordered_map<std::string_view, int> seen;  // key -> 1-based line (a mapping may hold many keys)
  for (const auto& pair : node) {
    if (!pair.first.IsScalar()) continue;  // reported as an unknown key
    const std::string& key = pair.first.Scalar();
    path.push_key(key);
    const auto [first, is_new] = seen.emplace(key, pair.first.Mark().line + 1);
    if (!is_new)
      errors.add({locate(pair.first.Mark()),
                  path.text(),
                  fmt::format("duplicate key '{}' (first defined at line {})", key, first->second),
                  {}});
    check_duplicate_keys(pair.second, path, locate, errors);
    path.pop();
  }
}

std::vector<std::string> split_key_path(const std::string& key_path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  for (std::size_t dot; (dot = key_path.find('.', start)) != std::string::npos; start = dot + 1)
    segments.push_back(key_path.substr(start, dot - start));
  segments.push_back(key_path.substr(start));
  return segments;
}

bool valid_key_path(const std::string& key_path) {
  for (const auto& segment : split_key_path(key_path))
    if (segment.empty()) return false;
  return true;
}

// The value of `key` in the mapping `map`, when present (a lookup that never inserts).
std::optional<YAML::Node> entry_of(const YAML::Node& map, const std::string& key) {
  if (!map.IsMap()) return std::nullopt;
  for (const auto& pair : map)
    if (pair.first.IsScalar() && pair.first.Scalar() == key) return pair.second;
  return std::nullopt;
}

bool scalar_keys(const YAML::Node& map) {
  for (const auto& pair : map)
    if (!pair.first.IsScalar()) return false;
  return true;
}

// A copy of a mapping given to --set without its null values (absent: their defaults apply), recursively.
// Built with force_insert, which appends: operator[] would search the mapping for every key.
YAML::Node without_nulls(const YAML::Node& map) {
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& pair : map) {
    if (pair.second.IsNull()) continue;
    out.force_insert(pair.first,
                     pair.second.IsMap() && scalar_keys(pair.second) ? without_nulls(pair.second) : pair.second);
  }
  return out;
}

// Writes one --set argument into the document and records, in ParamsContext::override_paths, each key
// path it gave. Every step is linear in the sizes involved (the value is untrusted and may hold 10^5 keys).
class OverrideWriter {
 public:
  OverrideWriter(ParamsContext& ctx, std::size_t index) : ctx_(ctx), index_(index) {}

  // Puts `value` at `key` of the mapping `parent` (at key path `path`): a mapping is merged into a mapping
  // key by key, a null removes the key (its default applies), anything else replaces.
  void put(YAML::Node parent, const std::string& key, const YAML::Node& value, const std::string& path) {
    const auto existing = entry_of(parent, key);
    if (value.IsNull()) {
      if (existing) parent.remove(key);
      given(path, existing.has_value());
    } else if (mergeable(value) && existing && existing->IsMap()) {
      merge(*existing, value, path);
    } else {
      parent[key] = mergeable(value) ? without_nulls(value) : value;
      given(path, existing.has_value());
    }
  }

 private:
  static bool mergeable(const YAML::Node& value) { return value.IsMap() && scalar_keys(value); }

  // Merges the mapping `value` into the mapping `target` (at `path`), which keeps its place in the file.
  void merge(YAML::Node target, const YAML::Node& value, const std::string& path) {
    std::unordered_map<std::string, YAML::Node> index;  // the first of a repeated key, as Params reads it
    for (const auto& pair : target)
      if (pair.first.IsScalar()) index.emplace(pair.first.Scalar(), pair.second);
    std::unordered_set<std::string> removed;
    for (const auto& pair : value) {
      const std::string& key = pair.first.Scalar();
      const std::string child = path + "." + key;
      const auto it = index.find(key);
      const bool existed = it != index.end();
      if (pair.second.IsNull()) {
        if (existed) removed.insert(key);
      } else if (mergeable(pair.second) && existed && it->second.IsMap()) {
        merge(it->second, pair.second, child);
        continue;
      } else {
        const YAML::Node fresh = mergeable(pair.second) ? without_nulls(pair.second) : pair.second;
        if (existed) {
          YAML::Node slot = it->second;  // a handle to the value in the tree: assignment rewrites it there
          slot = fresh;
        } else {
          target.force_insert(key, fresh);
        }
      }
      given(child, existed);
    }
    remove(target, removed);
  }

  // yaml-cpp removes one key in time linear in the mapping: a few keys are removed so, many by a rebuild
  // (the rebuilt mapping has no file position; errors about it then point at the override).
  static void remove(YAML::Node target, const std::unordered_set<std::string>& removed) {
    if (removed.empty()) return;
    if (removed.size() <= 16) {
      for (const auto& key : removed) target.remove(key);
      return;
    }
    YAML::Node kept(YAML::NodeType::Map);
    for (const auto& pair : target)
      if (!pair.first.IsScalar() || removed.count(pair.first.Scalar()) == 0) kept.force_insert(pair.first, pair.second);
    target = kept;  // a handle to the mapping in the tree: assignment rewrites it there
  }

  // This argument now gives `path` (which `existed` before it): errors there and below point at it. An
  // earlier argument that gave the same key is overridden: warned once, the later value wins.
  void given(const std::string& path, bool existed) {
    auto& paths = ctx_.override_paths;
    std::optional<std::size_t> earlier;
    auto note = [&](std::size_t other) {
      if (!earlier && other != index_) earlier = other;
    };
    if (const auto it = paths.find(path); it != paths.end()) note(it->second);
    for (const std::string& below : {path + ".", path + "["}) {
      auto it = paths.lower_bound(below);
      while (it != paths.end() && it->first.starts_with(below)) {
        note(it->second);
        it = paths.erase(it);  // those values are gone with the one replaced
      }
    }
    // An earlier argument gave a mapping above `path` holding it, when the key was there before.
    for (auto cut = path.find_last_of(".["); existed && cut != std::string::npos;
         cut = path.find_last_of(".[", cut - 1)) {
      if (const auto it = paths.find(path.substr(0, cut)); it != paths.end()) note(it->second);
      if (cut == 0) break;
    }
    paths[path] = index_;
    if (earlier && !warned_ && index_ < ctx_.overrides.size()) {
      warned_ = true;
      const OverrideOrigin& self = ctx_.overrides[index_];
      ctx_.errors.add({self.where,
                       path,
                       "set twice on the command line; this later value wins over " + ctx_.overrides[*earlier].arg,
                       {"set by " + self.arg},
                       Severity::warning});
    }
  }

  ParamsContext& ctx_;
  std::size_t index_;    // of this argument in ctx.overrides
  bool warned_ = false;  // one warning per argument is enough
};

// An argument as quoted in messages: a value may be megabytes, and each error about it quotes it.
std::string quoted_argument(const std::string& arg) { return shortened(arg, 120); }

// Writes the override "a.b.c=value" into `root` (creating missing maps; the value text is read as YAML).
void apply_override(YAML::Node root, const Override& o, int index, ParamsContext& ctx) {
  const std::string arg = quoted_argument((o.origin.empty() ? "--set" : o.origin) + " " + o.key_path + "=" + o.value);
  const Location at{kCommandLine, 1, index + 1};
  ctx.overrides.push_back({o.key_path, arg, at});  // argument i at index i, whatever happens to it
  auto error = [&](const std::string& key_path, const std::string& message) {
    ctx.errors.add({at, key_path, arg + ": " + message, {}});
  };
  if (!valid_key_path(o.key_path)) return error("", "the key has an empty part; expected KEY=VALUE such as a.b=5");
  const auto segments = split_key_path(o.key_path);
  if (segments.size() > static_cast<std::size_t>(YamlLimits{}.max_depth))
    return error("",
                 fmt::format("the key has {} parts; at most {} are accepted", segments.size(), YamlLimits{}.max_depth));
  // The value is read within the same limits as a file (size, depth, aliases expanded).
  YamlRead read = read_yaml(o.value);
  if (read.problem) {
    const auto& problem = *read.problem;
    const std::string_view invalid = "invalid YAML: ";
    const std::string what = problem.message.starts_with(invalid)
                                 ? "the value is not valid YAML: " + problem.message.substr(invalid.size())
                                 : "the value is refused: " + problem.message;
    const std::string& below = problem.key_path;
    return error(
        below.empty() ? o.key_path : o.key_path + (below.starts_with('[') ? "" : ".") + below,
        what + (problem.line > 0 ? fmt::format(" (at line {}, column {} of the value)", problem.line, problem.column)
                                 : ""));
  }
  if (read.documents.size() > 1)
    return error(o.key_path, fmt::format("the value holds {} YAML documents; expected one", read.documents.size()));
  const YAML::Node value = read.documents.empty() ? YAML::Node(YAML::NodeType::Null) : read.documents[0];
  const std::size_t errors_before = ctx.errors.items().size();
  KeyPath path;
  for (const auto& segment : segments) path.push_key(segment);
  check_duplicate_keys(
      value, path, [&](const YAML::Mark&) { return at; }, ctx.errors);
  if (ctx.errors.items().size() != errors_before) return;
  YAML::Node cur = root;  // a handle: reset() moves it, assignment would overwrite the tree
  std::string walked;
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    walked += (walked.empty() ? "" : ".") + segments[i];
    const auto next = entry_of(cur, segments[i]);
    if (next && !next->IsNull() && !next->IsMap())
      return error(walked, "'" + walked + "' is " + describe_node(*next) + ", not a mapping, so it has no key '" +
                               segments[i + 1] + "'");
    if (!next || !next->IsMap()) {
      if (value.IsNull()) return;  // removing a key below a mapping that is not there: nothing to do
      cur[segments[i]] = YAML::Node(YAML::NodeType::Map);
    }
    cur.reset(cur[segments[i]]);
  }
  OverrideWriter(ctx, static_cast<std::size_t>(index)).put(cur, segments.back(), value, o.key_path);
}

bool has_error_at(const ParamsContext& ctx, const std::string& key_path) {
  for (const auto& d : ctx.errors.items())
    if (d.key_path == key_path) return true;
  return false;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

// Every key is read through the schema (schema.cpp): its default, range, unit and limits are written
// there, and keys not built yet are refused by Params::finish(). What remains here is the shape of the
// tree, which keys each variant reads, and the rules that relate keys to each other.

// A path key's value, absolute: a relative path in a file means "next to that file"; one given by --set,
// "from here". The resolved tree (run.yaml, at `resolved_at`) keeps the absolute path, so a rerun from
// anywhere reads the same files.
std::string resolve_path(Params& p, const std::string& key, const std::vector<std::string>& resolved_at) {
  std::string path = p.get_string(key);
  if (!path.empty() && std::filesystem::path(path).is_relative()) {
    const bool from_command_line = p.location(key).file == kCommandLine;
    std::error_code ec;
    const auto base = from_command_line ? std::filesystem::current_path(ec)
                                        : std::filesystem::absolute(p.context().file, ec).parent_path();
    path = (base / path).lexically_normal().string();
    YAML::Node node = p.context().resolved;
    for (std::size_t i = 0; i + 1 < resolved_at.size(); ++i) node.reset(node[resolved_at[i]]);
    node[resolved_at.back()] = path;
  }
  return path;
}

void read_platform(Params p, PlatformSpec& out) {
  out.topology = p.get_choice("topology");
  out.network_model = p.get_choice("network_model") == "analytic" ? NetworkModel::analytic : NetworkModel::flow;
  out.simgrid_solver = p.get_choice("solver") == "simgrid";

  Params server = p.child("server");
  out.server.speed_flops_per_s = server.get_quantity("speed");
  out.server.bandwidth_bytes_per_s = server.get_quantity("bandwidth");
  out.server.latency_s = server.get_quantity("latency");
  server.finish();

  Params clients = p.child("clients");
  out.clients.count = clients.get_int("count");
  out.clients.speed_given = clients.has("speed");
  out.clients.speed = clients.get_distribution("speed");
  if (clients.applies("bandwidth")) out.clients.bandwidth = clients.get_distribution("bandwidth");
  if (clients.applies("latency")) out.clients.latency = clients.get_distribution("latency");
  if (clients.applies("trace") && clients.has("trace")) {
    out.clients.trace = resolve_path(clients, "trace", {"platform", "clients", "trace"});
    try {
      out.clients.trace_rows = load_client_trace(out.clients.trace);
    } catch (const TraceError& e) {
      clients.error("trace", e.what());
    }
  }
  clients.finish();

  Params classes = p.child("host_classes");
  double total_weight = 0;
  for (const auto& name : classes.keys()) {
    Params c = classes.child(name);
    HostClassSpec h;
    h.name = name;
    h.weight = c.get_double("weight");
    for (auto [key, into] : {std::pair{"speed", &h.speed}, {"bandwidth", &h.bandwidth}, {"latency", &h.latency}})
      if (c.applies(key) && c.has(key)) *into = c.get_distribution(key);
    h.efficiency = c.get_double("efficiency");
    h.watts_idle = c.get_double("watts_idle");
    h.watts_busy = c.get_double("watts_busy");
    c.finish();
    total_weight += h.weight;
    out.host_classes.push_back(std::move(h));
  }
  if (!out.host_classes.empty() && total_weight <= 0)
    classes.error("", "every host class has weight 0: no client could draw one");
  classes.finish();

  const auto read_link = [](Params& link, LinkSpec& into) {
    into.bandwidth_bytes_per_s = link.get_quantity("bandwidth");
    into.latency_s = link.get_quantity("latency");
    link.finish();
  };
  if (p.applies("sites")) {
    Params sites = p.child("sites");
    out.sites.count = sites.get_int("count");
    out.sites.uplink_bytes_per_s = sites.get_quantity("uplink");
    Params wan = sites.child("wan");
    read_link(wan, out.sites.wan);
    sites.finish();
  }
  if (p.applies("cluster")) {
    Params cluster = p.child("cluster");
    Params backbone = cluster.child("backbone");
    read_link(backbone, out.cluster.backbone);
    cluster.finish();
  }
  if (p.applies("fat_tree")) {
    Params ft = p.child("fat_tree");
    auto& f = out.fat_tree;
    f.levels = ft.get_int("levels");
    f.down = ft.get_int_list("down");
    f.up = ft.get_int_list("up");
    f.parallel = ft.get_int_list("parallel");
    Params link = ft.child("link");
    read_link(link, f.link);
    for (const char* key : {"down", "up", "parallel"}) {
      const auto& list = std::string(key) == "down" ? f.down : std::string(key) == "up" ? f.up : f.parallel;
      if (!has_error_at(p.context(), std::string("platform.fat_tree.") + key) &&
          !has_error_at(p.context(), "platform.fat_tree.levels") && static_cast<std::int64_t>(list.size()) != f.levels)
        ft.error(key, fmt::format("{} has {} entries; a fat tree of {} levels needs one per level", key, list.size(),
                                  f.levels));
    }
    ft.finish();
  }
  if (p.applies("file")) {
    out.xml.file = resolve_path(p, "file", {"platform", "file"});
    Params map = p.child("map");
    out.xml.server_pattern = map.get_string("server");
    out.xml.clients_pattern = map.get_string("clients");
    for (const char* key : {"server", "clients"}) {
      const std::string& pattern = std::string(key) == "server" ? out.xml.server_pattern : out.xml.clients_pattern;
      constexpr std::size_t kLongest = 1024;  // std::regex compiles by recursion: keep its depth bounded
      if (pattern.size() > kLongest) {
        map.error(key, fmt::format("a regular expression of {} characters; at most {} are accepted", pattern.size(),
                                   kLongest));
        continue;
      }
      try {
        std::regex(pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        map.error(key, fmt::format("not a valid ECMAScript regular expression: {}", e.what()));
      }
    }
    map.finish();
  }
  p.finish();
}

void read_dynamics(Params p, DynamicsSpec& out, BandwidthSteps& bandwidth_steps) {
  if (p.has("straggler")) out.straggler = p.get_distribution("straggler");
  const std::string target = p.get_choice("straggler_target");
  out.target = target == "link" ? StragglerTarget::link : target == "both" ? StragglerTarget::both : StragglerTarget::compute;
  if (p.has("slow_hosts")) {
    Params slow = p.child("slow_hosts");
    out.slow_fraction = slow.get_double("fraction");
    out.slow_factor = slow.get_double("factor");
    slow.finish();
  }
  if (p.has("availability")) {
    Params a = p.child("availability");
    const std::string model = a.get_choice("model", {"markov", "trace"}, a.has("trace") ? "trace" : "markov");
    if (model == "markov") {
      out.availability = AvailabilityModel::markov;
      out.mean_on_s = a.get_quantity("mean_on");
      out.mean_off_s = a.get_quantity("mean_off");
    } else if (model == "trace") {
      out.availability = AvailabilityModel::trace;
      out.availability_trace = resolve_path(a, "trace", {"dynamics", "availability", "trace"});
    }
    a.finish();
  }
  if (p.has("epoch_stragglers")) {
    Params e = p.child("epoch_stragglers");
    out.epoch_straggler_fraction = e.get_double("fraction");
    e.finish();
  }
  if (p.has("crash")) {
    Params c = p.child("crash");
    out.crash_probability = c.get_double("probability");
    c.finish();
  }
  if (p.applies("bandwidth_profile") && p.has("bandwidth_profile")) {
    Params b = p.child("bandwidth_profile");
    out.bandwidth_profile = resolve_path(b, "trace", {"dynamics", "bandwidth_profile", "trace"});
    if (!out.bandwidth_profile.empty()) {
      try {
        bandwidth_steps = load_bandwidth_steps(out.bandwidth_profile);
      } catch (const TraceError& e) {
        b.error("trace", e.what());
      }
    }
    b.finish();
  }
  p.finish();
}

void read_dataset(Params p, DatasetSpec& out) {
  out.name = p.get_choice("name");
  if (out.name.empty()) return;  // without a valid name its other keys mean nothing
  if (p.applies("path")) out.path = resolve_path(p, "path", {"workload", "dataset", "path"});
  if (p.applies("max_train")) out.max_train = p.get_int("max_train");
  if (p.applies("max_test")) out.max_test = p.get_int("max_test");
  if (p.applies("normalize")) {
    Params n = p.child("normalize");
    out.normalize_mean = n.get_double("mean");
    out.normalize_std = n.get_double("std");
    n.finish();
  }
  if (p.applies("alpha")) out.alpha = p.get_double("alpha");
  if (p.applies("beta")) out.beta = p.get_double("beta");
  if (p.applies("iid")) out.iid = p.get_bool("iid");
  if (p.applies("dimension")) out.dimension = p.get_int("dimension");
  if (p.applies("classes")) out.classes = p.get_int("classes");
  p.finish();
}

void read_partition(Params p, const std::string& dataset, PartitionSpec& out) {
  const bool synthetic = dataset == "synthetic";
  out.name = p.get_choice("name");
  if (!dataset.empty() && synthetic && out.name != "natural" && !out.name.empty())
    p.error("name", "partition '" + out.name + "' cannot split the synthetic dataset",
            {"synthetic generates one user per client, so its partition is 'natural' (the default)"});
  if (!dataset.empty() && !synthetic && out.name == "natural")
    p.error("name", "partition 'natural' needs a dataset with natural users (synthetic)",
            {"for " + dataset + " use iid, dirichlet or shards"});
  if (p.applies("alpha")) out.alpha = p.get_double("alpha");
  if (p.applies("shards_per_client")) out.shards_per_client = p.get_int("shards_per_client");
  p.finish();
}

void read_model(Params p, ModelSpec& out) {
  out.name = p.get_choice("name");
  if (out.name.empty()) return;  // its other keys mean nothing
  if (p.applies("hidden")) {
    const std::size_t errors_before = p.context().errors.items().size();
    out.hidden = p.get_int_list("hidden");
    if (out.hidden.empty() && p.has("hidden") && p.context().errors.items().size() == errors_before)
      p.warn("hidden", "an MLP with no hidden layer is logistic regression",
             {"use model name 'logistic', or give hidden layers such as [200]"});
  }
  if (p.applies("dropout")) out.dropout = p.get_double("dropout");
  if (p.applies("channels")) out.channels = p.get_int_list("channels");
  if (p.applies("kernel")) out.kernel = p.get_int("kernel");
  if (p.applies("padding")) out.padding = p.get_int("padding");
  if (p.applies("dense")) out.dense = p.get_int("dense");
  if (out.name == "cnn" && out.channels.empty() && p.has("channels"))
    p.error("channels", "a CNN needs at least one convolution", {"for example channels: [10, 20]"});
  if (out.name == "cnn" && p.has("padding") && out.padding >= out.kernel)
    p.error("padding", "padding " + std::to_string(out.padding) + " is not below the kernel size " +
                           std::to_string(out.kernel),
            {"kernel // 2 keeps the image size"});
  p.finish();
}

void read_local(Params p, LocalSpec& out) {
  out.epochs = p.get_int("epochs");
  out.batch_size = p.get_int("batch_size");
  out.lr = p.get_double("lr");
  out.momentum = p.get_double("momentum");
  out.weight_decay = p.get_double("weight_decay");
  if (p.has("epochs_dist")) out.epochs_dist = p.get_distribution("epochs_dist");
  p.finish();
}

void read_workload(Params p, WorkloadSpec& out) {
  read_dataset(p.child("dataset"), out.dataset);
  read_partition(p.child("partition"), out.dataset.name, out.partition);
  read_model(p.child("model"), out.model);
  read_local(p.child("local"), out.local);
  p.finish();
}

ParadigmKind paradigm_of(const std::string& name) {
  if (name == "data_parallel") return ParadigmKind::data_parallel;
  if (name == "expert_parallel") return ParadigmKind::expert_parallel;
  return ParadigmKind::federated;
}

TrainingMode mode_of(const std::string& name) {
  if (name == "async") return TrainingMode::async;
  if (name == "buffered") return TrainingMode::buffered;
  return TrainingMode::sync;
}

// clients_count: nullopt when platform.clients.count was itself invalid.
void read_training(Params p, std::optional<std::int64_t> clients_count, TrainingSpec& out) {
  const ParamsContext& ctx = p.context();
  out.paradigm = paradigm_of(p.get_choice("paradigm"));
  out.rounds = p.get_int("rounds");
  out.clients_per_round = p.get_int("clients_per_round");
  const bool k_ok = !has_error_at(ctx, "training.clients_per_round");
  if (clients_count && k_ok && out.clients_per_round > *clients_count) {
    std::vector<std::string> notes;
    if (!p.has("clients_per_round"))
      notes.push_back(fmt::format("clients_per_round defaults to 10; set it to at most {}", *clients_count));
    p.error("clients_per_round",
            fmt::format("clients_per_round ({}) exceeds platform.clients.count ({}): a round cannot select more "
                        "clients than exist",
                        out.clients_per_round, *clients_count),
            std::move(notes));
  }
  out.eval_every = p.get_int("eval_every");
  out.eval_train = p.get_bool("eval_train");
  if (p.has("eval_every") && out.eval_every > out.rounds && !has_error_at(ctx, "training.eval_every") &&
      !has_error_at(ctx, "training.rounds"))
    p.warn("eval_every",
           fmt::format("eval_every ({}) is above rounds ({}): only the model after the last round is evaluated",
                       out.eval_every, out.rounds),
           {"eval_every: 0 says so explicitly"});
  out.compute = p.get_choice("compute") == "none" ? ComputeMode::none : ComputeMode::real;
  out.mode = mode_of(p.get_choice("mode"));
  if (p.has("deadline") && p.applies("deadline")) out.deadline_s = p.get_quantity("deadline");
  if (p.applies("over_selection")) {
    out.over_selection = p.get_double("over_selection");
    const std::int64_t selected = over_selected_count(out.over_selection, out.clients_per_round);
    if (clients_count && k_ok && p.has("over_selection") && selected > *clients_count &&
        !has_error_at(ctx, "training.over_selection"))
      p.warn("over_selection",
             fmt::format("selecting ceil({} x {}) = {} clients exceeds platform.clients.count ({}): the selection is "
                         "capped at {}",
                         out.over_selection, out.clients_per_round, selected, *clients_count, *clients_count));
  }
  out.min_completed = p.get_int("min_completed");
  if (k_ok && out.min_completed > out.clients_per_round && !has_error_at(ctx, "training.min_completed"))
    p.error("min_completed",
            fmt::format("min_completed ({}) exceeds clients_per_round ({}): no round could ever aggregate",
                        out.min_completed, out.clients_per_round));
  if (p.applies("partial_work")) out.partial_work = p.get_bool("partial_work");
  out.checkpoint_every = p.get_int("checkpoint_every");
  Params divergence = p.child("divergence");
  out.divergence_factor = divergence.get_double("factor");
  divergence.finish();
  p.finish();
}

// The policy's mapping stays open: its factory reads the other keys, then finish_validation() checks.
PolicySpec read_policy(Params& policies, const std::string& family) {
  PolicySpec spec;
  spec.params = std::make_shared<Params>(policies.child(family));
  spec.name = spec.params->get_string("name");
  return spec;
}

void read_output(Params p, OutputSpec& out) {
  out.clients_csv = p.get_bool("clients_csv");
  out.every = p.get_int("every");
  p.finish();
}

}  // namespace

const char* to_string(ParadigmKind p) {
  switch (p) {
    case ParadigmKind::federated:
      return "federated";
    case ParadigmKind::data_parallel:
      return "data_parallel";
    case ParadigmKind::expert_parallel:
      return "expert_parallel";
  }
  return "?";
}

const char* to_string(TrainingMode m) {
  switch (m) {
    case TrainingMode::sync:
      return "sync";
    case TrainingMode::async:
      return "async";
    case TrainingMode::buffered:
      return "buffered";
  }
  return "?";
}

Override parse_override(const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos) throw ConfigError("--set " + arg + ": expected KEY=VALUE, such as training.rounds=5");
  Override o{arg.substr(0, eq), arg.substr(eq + 1)};
  if (o.key_path.empty() || !valid_key_path(o.key_path))
    throw ConfigError("--set " + arg +
                      ": the key is empty or has an empty part; expected KEY=VALUE, such as "
                      "training.rounds=5");
  return o;
}

namespace {
// `sweep: {point: 3, params: {policies.aggregation: {name: fedprox, mu: 0.01}}}`, written by dtsim sweep
// into each point's run.yaml: the point's run_id and its runs.csv param columns. `raw` is the tree's
// node (params' keys hold dots, so they are read as they stand rather than as key paths).
void read_sweep_point(Params& p, const YAML::Node& raw, Scenario& s) {
  if (!p.has("sweep")) return;
  Params sweep = p.child("sweep");
  const std::int64_t point = sweep.get_int("point");
  s.run_id = fmt::format("{}#{:04}", s.name, point);
  sweep.ignore("params");
  const YAML::Node params = raw.IsMap() ? raw["params"] : YAML::Node();
  if (params && !params.IsNull()) {
    if (!params.IsMap()) {
      sweep.error("params", "expected a mapping of swept keys to their values");
    } else {
      for (const auto& pair : params) {
        if (!pair.first.IsScalar() || pair.first.Scalar().empty()) {
          sweep.error("params", "a swept key must be a non-empty key path");
          continue;
        }
        s.sweep_params.emplace_back(pair.first.Scalar(), param_cell(pair.second));
      }
    }
  }
  sweep.finish();
}
}  // namespace

Scenario read_scenario(const std::string& path, const std::vector<Override>& overrides, bool strict) {
  return read_scenario_text(read_file(path, YamlLimits{}.max_bytes), path, overrides, strict);
}

Scenario read_scenario_text(const std::string& text, const std::string& file_label,
                            const std::vector<Override>& overrides, bool strict) {
  const std::string& path = file_label;
  Scenario s;
  s.file = path;
  s.context = std::make_shared<ParamsContext>();
  ParamsContext& ctx = *s.context;
  ctx.file = path;
  ctx.use_schema = true;
  ctx.strict = strict;
  const YAML::Node root = parse_text(text, path);
  ctx.root = root;
  KeyPath root_path;
  check_duplicate_keys(
      root, root_path,
      [&](const YAML::Mark& m) {
        return Location{path, m.line + 1, m.column + 1};
      },
      ctx.errors);
  for (std::size_t i = 0; i < overrides.size(); ++i) apply_override(root, overrides[i], static_cast<int>(i), ctx);

  Params p(s.context, root, "");
  // The name's default is computed (schema: "the scenario file's stem"), so the explicit getter reads it.
  s.name = p.get_string("name", std::filesystem::path(path).stem().string());
  const std::vector<std::string> name_notes =
      p.has("name") ? std::vector<std::string>{} : std::vector<std::string>{"the default name is the file's stem"};
  if (s.name.size() > kMaxNameBytes)
    p.error("name",
            fmt::format("the name is {} bytes long; a folder name has at most {} bytes", s.name.size(), kMaxNameBytes),
            name_notes);
  else if (!valid_name(s.name))
    p.error("name", "'" + s.name + "' cannot name an output folder; use letters, digits, '_', '.' and '-'", name_notes);
  s.seed = static_cast<std::uint64_t>(p.get_int("seed"));
  s.run_id = s.name;
  read_sweep_point(p, root["sweep"], s);
  p.ignore("provenance");  // written into run.yaml by the run; the engine checks it on a rerun
  p.ignore("simgrid");     // the engine reads it with --simgrid, through dtsim's allow-list
  read_platform(p.child("platform"), s.platform);
  read_dynamics(p.child("dynamics"), s.dynamics, s.platform.bandwidth_steps);
  read_workload(p.child("workload"), s.workload);
  const bool count_ok = !has_error_at(ctx, "platform.clients.count");
  read_training(p.child("training"), count_ok ? std::optional(s.platform.clients.count) : std::nullopt, s.training);
  if (s.dynamics.availability != AvailabilityModel::always && !s.training.deadline_s &&
      !has_error_at(ctx, "training.deadline"))
    report_at(ctx, Severity::error, "dynamics.availability",
              "availability needs training.deadline: a round that finds no client online waits for its deadline",
              {"set training.deadline (a long one waits for every selected client)"});
  if (s.training.partial_work && !s.training.deadline_s && !s.dynamics.epoch_straggler_fraction &&
      !has_error_at(ctx, "training.deadline"))
    report_at(ctx, Severity::error, "training.partial_work",
              "partial_work needs training.deadline (the deadline a partial client's steps must end by) or "
              "dynamics.epoch_stragglers (whose stragglers' fewer epochs it keeps)",
              {"set training.deadline, or partial_work: false"});
  Params policies = p.child("policies");
  s.policies.aggregation = read_policy(policies, "aggregation");
  s.policies.scheduling = read_policy(policies, "scheduling");
  policies.finish();
  read_output(p.child("output"), s.output);
  p.finish();
  return s;
}

Scenario load_scenario(const std::string& path, const std::vector<Override>& overrides, bool strict) {
  Scenario s = read_scenario(path, overrides, strict);
  s.context->errors.throw_if_any(strict);
  return s;
}

void finish_validation(Scenario& scenario) {
  for (auto* spec : {&scenario.policies.aggregation, &scenario.policies.scheduling}) {
    // A rejected policy name makes its other keys meaningless; do not also call them unknown.
    if (spec->params && !has_error_at(*scenario.context, spec->params->key_path() + ".name")) spec->params->finish();
  }
  scenario.context->errors.throw_if_any(scenario.context->strict);
}

std::int64_t over_selected_count(double over_selection, std::int64_t clients_per_round) {
  // f x K in binary floating point can land just above an integer (1.1 x 10 = 11.000000000000002): a
  // relative slack keeps ceil() from selecting one client more than the user meant.
  const double product = over_selection * static_cast<double>(clients_per_round);
  return static_cast<std::int64_t>(std::ceil(product * (1 - 1e-12)));
}

std::string param_cell(const YAML::Node& value) {
  YAML::Emitter emitter;
  emitter.SetMapFormat(YAML::Flow);
  emitter.SetSeqFormat(YAML::Flow);
  emitter << value;
  return emitter.c_str();
}

std::string resolved_yaml(const Scenario& scenario, const YAML::Node& extra) {
  YAML::Node out = YAML::Clone(scenario.context->resolved);
  if (extra.IsMap())
    for (const auto& pair : extra) out[pair.first.Scalar()] = pair.second;
  YAML::Emitter emitter;
  emitter << out;
  return std::string(emitter.c_str()) + "\n";
}

const std::vector<CatalogEntry>& distribution_catalog() {
  static const std::vector<CatalogEntry> entries{
      {"constant", "always value (a bare value means constant)", {{"value", "required"}}},
      {"uniform", "uniform on [min, max]", {{"min", "required"}, {"max", "required"}}},
      {"normal",
       "normal (a draw outside the key's range is drawn again)",
       {{"mean", "required"}, {"stddev", "required"}}},
      {"lognormal", "median * exp(sigma * N(0, 1))", {{"median", "required"}, {"sigma", "required"}}},
      {"choice", "one of values, with optional weights", {{"values", "required"}, {"weights", "equal"}}},
      {"shifted_exponential",
       "shift + Exp(rate): mean shift + 1/rate (rate per SI unit of the value; stragglers' T = l·(1 + Exp(mu)))",
       {{"shift", "required"}, {"rate", "required"}}},
      {"pareto", "scale · U^(−1/shape): P(X > x) = (scale/x)^shape above scale", {{"scale", "required"}, {"shape", "required"}}},
  };
  return entries;
}

}  // namespace dtsim
