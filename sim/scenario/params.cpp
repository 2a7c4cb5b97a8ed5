#include "sim/scenario/params.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace dtsim {

namespace {

constexpr double kHuge = std::numeric_limits<double>::max();
constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

// Which values a number may take, beyond its range.
enum class Sign { any, non_negative, positive };

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}


// Shortest text that reads back as the same double ("0.01", "1e+20").
std::string number_text(double v) { return fmt::format("{}", v); }

std::string int_range(std::int64_t min, std::int64_t max) {
  if (max == kMaxInt) return fmt::format("an integer >= {}", min);
  return fmt::format("an integer from {} to {}", min, max);
}

std::string double_range(double min, double max) {
  if (min <= -kHuge && max >= kHuge) return "a number";
  if (max >= kHuge) return "a number >= " + number_text(min);
  return "a number from " + number_text(min) + " to " + number_text(max);
}

// Largest lognormal sigma: exp(8.6 * 10) already spreads the draws over 75 orders of magnitude (a draw
// of the standard normal is within +-8.6), and a larger one soon draws 0 or infinity.
constexpr double kMaxSigma = 10;

// Plain integer text only: optional sign and digits ("1e3", "2.5" and "+-1" are not integers).
std::optional<std::int64_t> parse_int(std::string_view text, bool* out_of_range) {
  *out_of_range = false;
  if (text.starts_with('+')) {
    text.remove_prefix(1);
    if (text.starts_with('-')) return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end != text.data() + text.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) *out_of_range = true;
  if (ec != std::errc()) return std::nullopt;
  return value;
}

// Finite decimal or scientific text; -0 reads as 0. `out_of_range` (when given) tells a number too large
// or too small for a double ("1e400", "1e-400") from text that is no number.
std::optional<double> parse_double(std::string_view text, bool* out_of_range = nullptr) {
  if (out_of_range) *out_of_range = false;
  if (text.starts_with('+')) {
    text.remove_prefix(1);
    if (text.starts_with('-')) return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end != text.data() + text.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range && out_of_range) *out_of_range = true;
  if (ec != std::errc() || !std::isfinite(value)) return std::nullopt;
  return value == 0 ? 0.0 : value;
}

YAML::Node flow_sequence() {
  YAML::Node seq(YAML::NodeType::Sequence);
  seq.SetStyle(YAML::EmitterStyle::Flow);
  return seq;
}

}  // namespace

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    default:
      return "no value";
  }
}

// Helpers with access to Params' private state.
struct ParamsAccess {
  static std::string full(const Params& p, const std::string& key) {
    return p.path_.empty() ? key : p.path_ + "." + key;
  }

  static void ask(Params& p, const std::string& key) {
    if (std::find(p.asked_.begin(), p.asked_.end(), key) == p.asked_.end()) p.asked_.push_back(key);
  }

  struct Entry {
    YAML::Node key, value;
  };
  static std::optional<Entry> find(const Params& p, const std::string& key) {
    if (!p.node_.IsMap()) return std::nullopt;
    for (const auto& pair : p.node_)
      if (pair.first.IsScalar() && pair.first.Scalar() == key) return Entry{pair.first, pair.second};
    return std::nullopt;
  }

  // The --set override that produced `path` (it or a map above it), the longest one when several.
  static const OverrideOrigin* origin(const ParamsContext& ctx, const std::string& path) {
    const OverrideOrigin* best = nullptr;
    for (const auto& o : ctx.overrides) {
      const bool covers = path == o.key_path || (path.starts_with(o.key_path) &&
                                                 (path[o.key_path.size()] == '.' || path[o.key_path.size()] == '['));
      if (covers && (!best || o.key_path.size() > best->key_path.size())) best = &o;
    }
    return best;
  }

  // Where `node` (at key path `path`) came from, or nullopt when it has no position. A node without a
  // position that an override created on its way down ("a" for --set a.b=1) is located at that override.
  static std::optional<Location> where(const Params& p, const std::string& path, const YAML::Node& node) {
    if (const auto* o = origin(*p.ctx_, path)) return o->where;
    if (node.IsDefined() && !node.Mark().is_null())
      return Location{p.ctx_->file, node.Mark().line + 1, node.Mark().column + 1};
    for (const auto& o : p.ctx_->overrides)
      if (o.key_path.starts_with(path + ".")) return o.where;
    return std::nullopt;
  }

  // Records an error; one located at an override quotes it.
  static void add(Params& p, const std::string& path, Location at, std::string message,
                  std::vector<std::string> notes) {
    for (const auto& o : p.ctx_->overrides)
      if (o.where.file == at.file && o.where.line == at.line && o.where.column == at.column)
        notes.push_back("set by " + o.arg);
    p.ctx_->errors.add({std::move(at), path, std::move(message), std::move(notes)});
  }

  // Writes `value` at this view's `key` in the resolved tree, creating the maps above it.
  static void record(Params& p, const std::string& key, const YAML::Node& value) {
    YAML::Node& root = p.ctx_->resolved;
    if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
    const std::string path = full(p, key);
    YAML::Node cur = root;  // a handle: reset() moves it, assignment would overwrite the tree
    std::size_t start = 0;
    for (std::size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1) {
      const std::string segment = path.substr(start, dot - start);
      if (!cur[segment].IsMap()) cur[segment] = YAML::Node(YAML::NodeType::Map);
      cur.reset(cur[segment]);
    }
    cur[path.substr(start)] = value;
  }

  static void type_error(Params& p, const std::string& key, const YAML::Node& got, const std::string& expected) {
    p.error(key, "expected " + expected + ", got " + describe_node(got));
  }

  // The scalar text at `key`, or the default's text when absent; nullopt after recording an error.
  static std::optional<std::string> scalar(Params& p, const std::string& key, const std::string& expected,
                                           const std::optional<std::string>& def) {
    ask(p, key);
    const auto entry = find(p, key);
    if (!entry) {
      if (def) return *def;
      p.error(key, "missing required key; expected " + expected);
      return std::nullopt;
    }
    if (!entry->value.IsScalar()) {
      type_error(p, key, entry->value, expected);
      return std::nullopt;
    }
    return entry->value.Scalar();
  }

  // The real or quantity in `text` (the value at key path `path`, located at `at`); nullopt after recording an
  // error.
  static std::optional<double> number(Params& p, const std::string& path, const Location& at, const std::string& text,
                                      std::optional<UnitKind> unit, Sign sign, const QuantityLimits* limits = nullptr) {
    std::optional<double> v;
    std::string why;
    std::vector<std::string> notes;
    bool out_of_range = false;
    if (unit) {
      v = parse_quantity(text, *unit, &why, &notes);
    } else if (!(v = parse_double(text, &out_of_range))) {
      why = "'" + text + (out_of_range ? "' is out of range" : "' is not a finite number");
    }
    if (v && ((sign == Sign::positive && *v <= 0) || (sign == Sign::non_negative && *v < 0))) {
      why = "'" + text + "' must be " + (sign == Sign::positive ? "> 0" : ">= 0");
      v.reset();
    }
    if (v && limits && (*v < limits->min || *v > limits->max)) {
      why = *v < limits->min ? "'" + text + "' is below " + limits->min_text + ", the least accepted"
                             : "'" + text + "' is above " + limits->max_text + ", the most accepted";
      if (!limits->reason.empty()) notes.push_back(limits->reason);
      v.reset();
    }
    if (!v) add(p, path, at, why, std::move(notes));
    return v;
  }

  static double scalar_number(Params& p, const std::string& key, std::optional<UnitKind> unit, Sign sign,
                              const QuantityLimits* limits = nullptr) {
    if (unit) return p.get_quantity(key, *unit, std::nullopt, sign != Sign::positive, limits);
    const char* expected = sign == Sign::positive       ? "a number > 0"
                           : sign == Sign::non_negative ? "a number >= 0"
                                                        : "a number";
    const auto raw = scalar(p, key, expected, std::nullopt);
    if (!raw) return 0;
    const auto v = number(p, full(p, key), p.location(key), *raw, unit, sign);
    if (v) record(p, key, YAML::Node(number_text(*v)));
    return v.value_or(0);
  }

  // A list of reals or quantities at `key`; each element located on its own.
  static std::vector<double> number_list(Params& p, const std::string& key, std::optional<UnitKind> unit, Sign sign,
                                         bool required, const QuantityLimits* limits = nullptr) {
    ask(p, key);
    const std::string expected = unit ? "a list of values, each " + unit_expectation(*unit) : "a list of numbers";
    const auto entry = find(p, key);
    if (!entry) {
      if (required) p.error(key, "missing required key; expected " + expected);
      return {};
    }
    if (!entry->value.IsSequence()) {
      type_error(p, key, entry->value, expected);
      return {};
    }
    std::vector<double> out;
    YAML::Node resolved = flow_sequence();
    for (std::size_t i = 0; i < entry->value.size(); ++i) {
      const YAML::Node item = entry->value[i];
      const std::string path = full(p, key) + "[" + std::to_string(i) + "]";
      const Location at = where(p, path, item).value_or(p.location(key));
      if (!item.IsScalar()) {
        add(p, path, at,
            "expected " + (unit ? unit_expectation(*unit) : std::string("a number")) + ", got " + describe_node(item), {});
        continue;
      }
      if (const auto v = number(p, path, at, item.Scalar(), unit, sign, limits)) {
        out.push_back(*v);
        resolved.push_back(unit ? item.Scalar() : number_text(*v));
      }
    }
    record(p, key, resolved);
    return out;
  }

  // The fields of a {dist: kind, ...} mapping; `positive` demands every drawable value be > 0.
  static Distribution from_map(Params& d, std::optional<UnitKind> unit, bool positive, const QuantityLimits* limits) {
    Distribution out;
    const auto kind_name = d.get_choice("dist", Distribution::kind_names(), std::nullopt);
    if (kind_name.empty()) return out;  // its fields mean nothing without a valid kind
    const Sign drawable = positive ? Sign::positive : (unit ? Sign::non_negative : Sign::any);
    const Sign spread = Sign::non_negative;
    const auto& names = Distribution::kind_names();  // in the order of Distribution::Kind
    out.kind = static_cast<Distribution::Kind>(std::find(names.begin(), names.end(), kind_name) - names.begin());
    const std::size_t errors_before = d.context().errors.items().size();
    switch (out.kind) {
      case Distribution::Kind::constant:
        out.value = scalar_number(d, "value", unit, drawable, limits);
        break;
      case Distribution::Kind::uniform:
        out.min = scalar_number(d, "min", unit, drawable, limits);
        out.max = scalar_number(d, "max", unit, drawable, limits);
        if (d.context().errors.items().size() == errors_before && out.max < out.min)
          d.error("max",
                  "max '" + find(d, "max")->value.Scalar() + "' is below min '" + find(d, "min")->value.Scalar() + "'");
        break;
      case Distribution::Kind::normal:
        out.mean = scalar_number(d, "mean", unit, drawable, limits);
        out.stddev = scalar_number(d, "stddev", unit, spread);
        break;
      case Distribution::Kind::lognormal:
        out.median = scalar_number(d, "median", unit, Sign::positive, limits);
        out.sigma = scalar_number(d, "sigma", std::nullopt, spread);
        if (out.sigma > kMaxSigma) {
          d.error("sigma",
                  fmt::format("'{}' is out of range; expected a number from 0 to {}", find(d, "sigma")->value.Scalar(),
                              kMaxSigma),
                  {"a draw is median * exp(sigma * z) with z up to 8.6, so a larger sigma draws 0 or infinity"});
          out.sigma = 0;
        }
        break;
      case Distribution::Kind::choice:
        out.values = number_list(d, "values", unit, drawable, true, limits);
        out.weights = number_list(d, "weights", std::nullopt, Sign::non_negative, false);
        if (d.context().errors.items().size() != errors_before) break;
        if (out.values.empty()) d.error("values", "a choice needs at least one value");
        if (!out.weights.empty() && out.weights.size() != out.values.size())
          d.error("weights", fmt::format("{} weights for {} values; give one weight per value", out.weights.size(),
                                         out.values.size()));
        else if (!out.weights.empty() &&
                 std::all_of(out.weights.begin(), out.weights.end(), [](double w) { return w == 0; }))
          d.error("weights", "the weights sum to 0; at least one must be > 0");
        break;
    }
    d.finish();
    return out;
  }
};

Params::Params(std::shared_ptr<ParamsContext> ctx, YAML::Node node, std::string key_path)
    : ctx_(std::move(ctx)), node_(node.IsDefined() ? node : YAML::Node()), path_(std::move(key_path)) {
  fallback_.file = ctx_->file;
}

bool Params::has(const std::string& key) const { return ParamsAccess::find(*this, key).has_value(); }

Location Params::location() const { return ParamsAccess::where(*this, path_, node_).value_or(fallback_); }

Location Params::location(const std::string& key) const {
  const auto entry = ParamsAccess::find(*this, key);
  if (!entry) return ParamsAccess::where(*this, ParamsAccess::full(*this, key), YAML::Node()).value_or(location());
  // An empty value's mark points past it, at the next token: the key is a better place.
  const YAML::Node& at = entry->value.IsNull() ? entry->key : entry->value;
  return ParamsAccess::where(*this, ParamsAccess::full(*this, key), at).value_or(location());
}

std::string Params::get_string(const std::string& key, std::optional<std::string> def) {
  const auto raw = ParamsAccess::scalar(*this, key, "a string", def);
  if (!raw) return def.value_or("");
  ParamsAccess::record(*this, key, YAML::Node(*raw));
  return *raw;
}

std::string Params::get_choice(const std::string& key, const std::vector<std::string>& valid,
                               std::optional<std::string> def) {
  const auto raw = ParamsAccess::scalar(*this, key, "one of " + join(valid), def);
  if (!raw) return def.value_or("");
  if (std::find(valid.begin(), valid.end(), *raw) == valid.end()) {
    std::vector<std::string> notes{"valid values are: " + join(valid)};
    if (auto near = did_you_mean(*raw, valid); !near.empty()) notes.push_back("did you mean '" + near + "'?");
    error(key, "unknown value '" + *raw + "'", std::move(notes));
    return def.value_or("");
  }
  ParamsAccess::record(*this, key, YAML::Node(*raw));
  return *raw;
}

std::int64_t Params::get_int(const std::string& key, std::optional<std::int64_t> def, std::int64_t min,
                             std::int64_t max) {
  const std::string expected = int_range(min, max);
  const auto def_text = def ? std::optional<std::string>(std::to_string(*def)) : std::nullopt;
  const auto raw = ParamsAccess::scalar(*this, key, expected, def_text);
  const std::int64_t fallback = def.value_or(std::clamp<std::int64_t>(0, min, max));
  if (!raw) return fallback;
  bool out_of_range = false;
  const auto v = parse_int(*raw, &out_of_range);
  if (!v && !out_of_range) {
    error(key, "'" + *raw + "' is not an integer; expected " + expected);
    return fallback;
  }
  if (!v || *v < min || *v > max) {
    error(key, "'" + *raw + "' is out of range; expected " + expected);
    return fallback;
  }
  ParamsAccess::record(*this, key, YAML::Node(*v));
  return *v;
}

double Params::get_double(const std::string& key, std::optional<double> def, double min, double max) {
  const std::string expected = double_range(min, max);
  const auto def_text = def ? std::optional<std::string>(number_text(*def)) : std::nullopt;
  const auto raw = ParamsAccess::scalar(*this, key, expected, def_text);
  const double fallback = def.value_or(std::clamp(0.0, min, max));
  if (!raw) return fallback;
  bool out_of_range = false;
  const auto v = parse_double(*raw, &out_of_range);
  if (!v) {
    error(key, "'" + *raw + (out_of_range ? "' is out of range; expected " : "' is not a finite number; expected ") +
                   expected);
    return fallback;
  }
  if (*v < min || *v > max) {
    error(key, "'" + *raw + "' is out of range; expected " + expected);
    return fallback;
  }
  ParamsAccess::record(*this, key, YAML::Node(number_text(*v)));
  return *v;
}

bool Params::get_bool(const std::string& key, std::optional<bool> def) {
  const auto def_text = def ? std::optional<std::string>(*def ? "true" : "false") : std::nullopt;
  const auto raw = ParamsAccess::scalar(*this, key, "true or false", def_text);
  if (!raw) return def.value_or(false);
  if (*raw != "true" && *raw != "false") {
    error(key, "'" + *raw + "' is not a boolean; expected true or false");
    return def.value_or(false);
  }
  ParamsAccess::record(*this, key, YAML::Node(*raw == "true"));
  return *raw == "true";
}

double Params::get_quantity(const std::string& key, UnitKind kind, std::optional<std::string> def, bool allow_zero,
                            const QuantityLimits* limits) {
  const auto raw = ParamsAccess::scalar(*this, key, unit_expectation(kind), def);
  if (!raw) return 0;
  const auto v = ParamsAccess::number(*this, ParamsAccess::full(*this, key), location(key), *raw, kind,
                                      allow_zero ? Sign::non_negative : Sign::positive, limits);
  if (!v) return 0;
  ParamsAccess::record(*this, key, YAML::Node(*raw));
  return *v;
}

std::vector<std::int64_t> Params::get_int_list(const std::string& key, std::optional<std::vector<std::int64_t>> def,
                                               std::int64_t min, std::int64_t max) {
  ParamsAccess::ask(*this, key);
  const std::string expected = "a list of integers such as [200, 100], each " + int_range(min, max);
  const auto entry = ParamsAccess::find(*this, key);
  std::vector<std::int64_t> out;
  YAML::Node resolved = flow_sequence();
  if (!entry) {
    if (!def) {
      error(key, "missing required key; expected " + expected);
      return {};
    }
    for (auto v : *def) resolved.push_back(v);
    ParamsAccess::record(*this, key, resolved);
    return *def;
  }
  if (!entry->value.IsSequence()) {
    ParamsAccess::type_error(*this, key, entry->value, expected);
    return def.value_or(std::vector<std::int64_t>{});
  }
  for (std::size_t i = 0; i < entry->value.size(); ++i) {
    const YAML::Node item = entry->value[i];
    const std::string path = ParamsAccess::full(*this, key) + "[" + std::to_string(i) + "]";
    const Location at = ParamsAccess::where(*this, path, item).value_or(location(key));
    bool out_of_range = false;
    const auto v = item.IsScalar() ? parse_int(item.Scalar(), &out_of_range) : std::nullopt;
    if (!v || *v < min || *v > max) {
      const std::string problem = !item.IsScalar()    ? describe_node(item) + " is not an integer"
                                  : v || out_of_range ? "'" + item.Scalar() + "' is out of range"
                                                      : "'" + item.Scalar() + "' is not an integer";
      ParamsAccess::add(*this, path, at, problem + "; expected " + int_range(min, max), {});
      continue;
    }
    out.push_back(*v);
    resolved.push_back(*v);
  }
  ParamsAccess::record(*this, key, resolved);
  return out;
}

Distribution Params::get_distribution(const std::string& key, std::optional<UnitKind> unit,
                                      std::optional<std::string> def, bool positive, const QuantityLimits* limits) {
  ParamsAccess::ask(*this, key);
  const auto entry = ParamsAccess::find(*this, key);
  if (!entry && def) {
    // Read the default's text as if the user had written it (so it is recorded the same way).
    YAML::Node holder(YAML::NodeType::Map);
    holder[key] = YAML::Load(*def);
    Params defaults(ctx_, holder, path_);
    return defaults.get_distribution(key, unit, std::nullopt, positive, limits);
  }
  if (entry && entry->value.IsMap()) {
    Params fields = child(key);
    return ParamsAccess::from_map(fields, unit, positive, limits);
  }
  if (entry && !entry->value.IsScalar()) {
    ParamsAccess::type_error(*this, key, entry->value,
                             "a distribution: a single value (constant) or a mapping such as {dist: uniform, min: "
                             "..., max: ...}");
    return {};
  }
  const Sign sign = positive ? Sign::positive : (unit ? Sign::non_negative : Sign::any);
  return Distribution::constant_of(ParamsAccess::scalar_number(*this, key, unit, sign, limits));
}

Params Params::child(const std::string& key) {
  ParamsAccess::ask(*this, key);
  const auto entry = ParamsAccess::find(*this, key);
  Params out(ctx_, YAML::Node(), ParamsAccess::full(*this, key));
  out.fallback_ = location(key);
  if (!entry || entry->value.IsNull()) return out;
  if (!entry->value.IsMap()) {
    ParamsAccess::type_error(*this, key, entry->value, "a mapping");
    return out;
  }
  out.node_ = entry->value;
  return out;
}

void Params::not_implemented(const std::string& key, const std::string& what) {
  ParamsAccess::ask(*this, key);
  if (has(key)) error(key, what.empty() ? "not implemented yet" : "not implemented yet: " + what);
}

void Params::ignore(const std::string& key) { ParamsAccess::ask(*this, key); }

void Params::error(const std::string& key, const std::string& message, std::vector<std::string> notes) {
  const std::string path = key.empty() ? path_ : ParamsAccess::full(*this, key);
  ParamsAccess::add(*this, path, key.empty() ? location() : location(key), message, std::move(notes));
}

void Params::finish() {
  if (finished_ || !node_.IsMap()) return;
  finished_ = true;
  for (const auto& pair : node_) {
    const std::string name = pair.first.IsScalar() ? pair.first.Scalar() : describe_node(pair.first);
    if (std::find(asked_.begin(), asked_.end(), name) != asked_.end()) continue;
    std::vector<std::string> notes;
    if (auto near = did_you_mean(name, asked_); !near.empty()) notes.push_back("did you mean '" + near + "'?");
    notes.push_back(asked_.empty() ? "this mapping takes no keys" : "valid keys are: " + join(asked_));
    const std::string path = ParamsAccess::full(*this, name);
    ParamsAccess::add(*this, path, ParamsAccess::where(*this, path, pair.first).value_or(location()),
                      "unknown key '" + name + "'", std::move(notes));
  }
}

}  // namespace dtsim

namespace dtsim {
void report_at(ParamsContext& ctx, Severity severity, const std::string& key_path, std::string message,
               std::vector<std::string> notes) {
  ctx.errors.add({{ctx.file, 0, 0}, key_path, std::move(message), std::move(notes), severity});
}
}  // namespace dtsim
namespace dtsim {
std::string schema_text() { return "(schema)\n"; }
std::string schema_markdown() { return "(schema)\n"; }
}  // namespace dtsim
