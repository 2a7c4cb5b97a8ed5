#include "sim/sweep/grid.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace dtsim::sweep {

namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

[[noreturn]] void fail(const std::string& origin, const std::string& message) {
  throw ConfigError(origin + ": " + message);
}

std::string quoted(const std::string& option, const std::string& arg) {
  return option + " '" + (arg.size() > 120 ? arg.substr(0, 117) + "..." : arg) + "'";
}

void check_key(const std::string& key, const std::string& origin) {
  if (key.empty()) fail(origin, "the key is empty; expected KEY=VALUES, such as training.rounds=[5,10]");
  if (key.front() == '.' || key.back() == '.' || key.find("..") != std::string::npos ||
      std::any_of(key.begin(), key.end(), [](unsigned char c) { return std::isspace(c) != 0 || c == '='; }))
    fail(origin, "'" + key + "' is not a key path such as policies.aggregation");
}

// One YAML value from text, within the reader's limits (an argument is untrusted like a file).
YAML::Node read_value(const std::string& text, const std::string& origin) {
  YamlRead read = read_yaml(text);
  if (read.problem) fail(origin, "'" + text + "' is not valid YAML: " + read.problem->message);
  if (read.documents.size() != 1) fail(origin, "'" + text + "' is not one YAML value");
  return read.documents[0];
}

// VALUES: a flow sequence "[...]" or a comma list of scalars.
std::vector<YAML::Node> parse_values(const std::string& raw, const std::string& origin) {
  const std::string text = trim(raw);
  std::vector<YAML::Node> values;
  if (text.starts_with('[')) {
    const YAML::Node list = read_value(text, origin);
    if (!list.IsSequence()) fail(origin, "expected a YAML flow sequence such as [a, b] or a list a,b");
    for (const auto& v : list) values.push_back(v);
  } else {
    std::size_t start = 0;
    while (true) {
      const auto comma = text.find(',', start);
      const std::string token = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (token.empty())
        fail(origin, "an empty value in the list; a value holding a comma or bracket needs the flow form [\"a,b\"]");
      if (token.starts_with('[') || token.starts_with('{') || token.starts_with('"') || token.starts_with('\''))
        fail(origin, "'" + token + "': a list, mapping or quoted value needs the flow form, such as [{name: fedavg}]");
      values.push_back(read_value(token, origin));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (values.empty()) fail(origin, "the list of values is empty");
  return values;
}

// The end (one past) of the flow collection opening at text[open], quotes and nesting respected.
std::size_t flow_end(const std::string& text, std::size_t open, const std::string& origin) {
  std::vector<char> closers;
  char quote = 0;
  for (std::size_t i = open; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == '\\' && quote == '"') ++i;
      else if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') quote = c;
    else if (c == '[') closers.push_back(']');
    else if (c == '{') closers.push_back('}');
    else if (c == ']' || c == '}') {
      if (closers.empty() || closers.back() != c) fail(origin, fmt::format("unbalanced '{}' at byte {}", c, i + 1));
      closers.pop_back();
      if (closers.empty()) return i + 1;
    }
  }
  fail(origin, "the flow sequence is not closed: a '[' or '{' has no match");
}

void collect_scalars(const YAML::Node& node, std::vector<std::string>& out) {
  if (node.IsScalar()) out.push_back(node.Scalar());
  else if (node.IsSequence())
    for (const auto& v : node) collect_scalars(v, out);
  else if (node.IsMap())
    for (const auto& kv : node) collect_scalars(kv.second, out);
}

}  // namespace

Axis parse_grid(const std::string& arg) {
  Axis axis;
  axis.origin = quoted("--grid", arg);
  const auto eq = arg.find('=');
  if (eq == std::string::npos) fail(axis.origin, "expected KEY=VALUES, such as policies.aggregation=[{name: fedavg}]");
  const std::string key = trim(arg.substr(0, eq));
  check_key(key, axis.origin);
  axis.keys = {key};
  for (auto& v : parse_values(arg.substr(eq + 1), axis.origin)) axis.values.push_back({v});
  return axis;
}

Axis parse_zip(const std::string& arg) {
  Axis axis;
  axis.origin = quoted("--zip", arg);
  std::vector<std::vector<YAML::Node>> columns;
  std::size_t at = 0;
  while (at < arg.size()) {
    const auto eq = arg.find('=', at);
    if (eq == std::string::npos) fail(axis.origin, "expected K1=VALUES,K2=VALUES");
    const std::string key = trim(arg.substr(at, eq - at));
    check_key(key, axis.origin);
    std::size_t v = eq + 1;
    while (v < arg.size() && arg[v] == ' ') ++v;
    std::size_t next;
    std::string values;
    if (v < arg.size() && arg[v] == '[') {
      const std::size_t end = flow_end(arg, v, axis.origin);
      values = arg.substr(v, end - v);
      next = end;
      while (next < arg.size() && arg[next] == ' ') ++next;
      if (next < arg.size() && arg[next] != ',')
        fail(axis.origin, fmt::format("expected ',' and the next KEY=VALUES after the list of {}", key));
      if (next < arg.size()) ++next;
    } else {  // plain: the tokens up to the first one holding '=', which starts the next key
      std::size_t stop = arg.size();
      next = arg.size();
      for (std::size_t comma = arg.find(',', v); comma != std::string::npos; comma = arg.find(',', comma + 1)) {
        const auto after = arg.find(',', comma + 1);
        if (arg.substr(comma + 1, after == std::string::npos ? std::string::npos : after - comma - 1).find('=') !=
            std::string::npos) {
          stop = comma;
          next = comma + 1;
          break;
        }
      }
      values = arg.substr(v, stop - v);
    }
    if (std::find(axis.keys.begin(), axis.keys.end(), key) != axis.keys.end())
      fail(axis.origin, "'" + key + "' is zipped twice");
    axis.keys.push_back(key);
    columns.push_back(parse_values(values, axis.origin));
    at = next;
  }
  if (axis.keys.empty()) fail(axis.origin, "expected K1=VALUES,K2=VALUES");
  for (std::size_t k = 1; k < columns.size(); ++k)
    if (columns[k].size() != columns[0].size())
      fail(axis.origin, fmt::format("zipped lists advance together and must have one length: {} has {} values, {} has {}",
                                    axis.keys[0], columns[0].size(), axis.keys[k], columns[k].size()));
  for (std::size_t step = 0; step < columns[0].size(); ++step) {
    std::vector<YAML::Node> row;
    for (const auto& column : columns) row.push_back(column[step]);
    axis.values.push_back(std::move(row));
  }
  return axis;
}

std::vector<std::int64_t> parse_seeds(const std::string& arg) {
  const std::string origin = quoted("--seeds", arg);
  const auto dash = arg.find('-');
  auto number = [&](const std::string& text) -> std::int64_t {
    const std::string t = trim(text);
    if (t.empty() || t.size() > 18 || !std::all_of(t.begin(), t.end(), [](unsigned char c) { return std::isdigit(c); }))
      fail(origin, "expected A-B or A, with A and B whole numbers >= 0, such as 1-5");
    return std::stoll(t);
  };
  const std::int64_t first = number(arg.substr(0, dash));
  const std::int64_t last = dash == std::string::npos ? first : number(arg.substr(dash + 1));
  if (last < first) fail(origin, fmt::format("the range is empty: {} is above {}", first, last));
  if (last - first >= 100000) fail(origin, "more than 100,000 seeds");
  std::vector<std::int64_t> seeds;
  for (std::int64_t s = first; s <= last; ++s) seeds.push_back(s);
  return seeds;
}

std::vector<std::string> swept_keys(const std::vector<Axis>& axes) {
  std::vector<std::string> keys;
  for (const auto& a : axes) keys.insert(keys.end(), a.keys.begin(), a.keys.end());
  return keys;
}

std::string short_value(const YAML::Node& value) {
  std::vector<std::string> scalars;
  collect_scalars(value, scalars);
  std::string out;
  for (const auto& s : scalars) {
    if (!out.empty()) out += '_';
    for (unsigned char c : s) out += std::isalnum(c) || c == '.' || c == '+' || c == '-' ? static_cast<char>(c) : '_';
  }
  std::string collapsed;  // one '_' for a run of them, none at the ends
  for (char c : out)
    if (c != '_' || (!collapsed.empty() && collapsed.back() != '_')) collapsed += c;
  while (!collapsed.empty() && collapsed.back() == '_') collapsed.pop_back();
  if (collapsed.size() > 24) collapsed.resize(24);
  while (!collapsed.empty() && collapsed.back() == '_') collapsed.pop_back();
  return collapsed;
}

std::vector<Point> expand(const std::vector<Axis>& axes, const std::vector<std::int64_t>& seeds,
                          const std::vector<std::string>& set_keys) {
  std::set<std::string> seen;
  for (const auto& axis : axes)
    for (const auto& key : axis.keys) {
      if (!seen.insert(key).second) fail(axis.origin, "'" + key + "' is swept by another --grid or --zip too");
      if (key == "seed" && !seeds.empty()) fail(axis.origin, "'seed' is swept here and by --seeds; keep one");
      if (std::find(set_keys.begin(), set_keys.end(), key) != set_keys.end())
        fail(axis.origin, "'" + key + "' is also given by --set; a swept key takes its values from the sweep");
    }
  if (axes.empty() && seeds.empty()) throw ConfigError("dtsim sweep: nothing to sweep: give --grid, --zip or --seeds");

  std::size_t total = seeds.empty() ? 1 : seeds.size();
  for (const auto& a : axes) {
    total *= a.values.size();
    if (total > 1000000) throw ConfigError("dtsim sweep: more than 1,000,000 points");
  }
  const int width = std::max<int>(4, static_cast<int>(std::to_string(total - 1).size()));
  std::vector<Point> points;
  points.reserve(total);
  std::vector<std::size_t> step(axes.size(), 0);  // an odometer over the axes, the last fastest
  for (std::size_t i = 0; i < total; ++i) {
    const std::size_t seed_step = seeds.empty() ? 0 : i % seeds.size();
    std::size_t rest = seeds.empty() ? i : i / seeds.size();
    for (std::size_t a = axes.size(); a-- > 0;) {
      step[a] = rest % axes[a].values.size();
      rest /= axes[a].values.size();
    }
    Point p;
    p.index = static_cast<std::int64_t>(i);
    p.folder = fmt::format("{:0{}}", i, width);
    for (std::size_t a = 0; a < axes.size(); ++a)
      for (std::size_t k = 0; k < axes[a].keys.size(); ++k) {
        const YAML::Node& v = axes[a].values[step[a]][k];
        p.params.emplace_back(axes[a].keys[k], v);
        p.origins.push_back(axes[a].origin.starts_with("--zip") ? "--zip" : "--grid");
        if (const auto tail = short_value(v); !tail.empty() && p.folder.size() < 80) p.folder += "-" + tail;
      }
    if (!seeds.empty()) {
      p.seed = seeds[seed_step];
      p.folder += fmt::format("-s{}", *p.seed);
    }
    points.push_back(std::move(p));
  }
  return points;
}

std::vector<Override> point_overrides(const Point& point) {
  std::vector<Override> out;
  YAML::Node params(YAML::NodeType::Map);
  for (std::size_t i = 0; i < point.params.size(); ++i) {
    const auto& [key, value] = point.params[i];
    out.push_back({key, param_cell(value), i < point.origins.size() ? point.origins[i] : "--grid"});
    params[key] = value;
  }
  if (point.seed) out.push_back({"seed", std::to_string(*point.seed), "--seeds"});
  YAML::Node sweep(YAML::NodeType::Map);
  sweep["point"] = point.index;
  if (!point.params.empty()) sweep["params"] = params;
  out.push_back({"sweep", param_cell(sweep), "dtsim sweep"});
  return out;
}

}  // namespace dtsim::sweep
