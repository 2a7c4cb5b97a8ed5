#include "sim/scenario/params.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <string_view>

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

// "a number > 0", "a number from 0 to below 1", ...: ends beyond a double's range are unbounded.
std::string real_range(const Range& r) {
  const bool low = r.min > -kHuge, high = r.max < kHuge;
  const std::string lo = number_text(r.min), hi = number_text(r.max);
  if (!low && !high) return "a number";
  if (!high) return (r.min_open ? "a number > " : "a number >= ") + lo;
  if (!low) return (r.max_open ? "a number < " : "a number <= ") + hi;
  if (!r.min_open) return "a number from " + lo + (r.max_open ? " to below " : " to ") + hi;
  return "a number > " + lo + (r.max_open ? " and < " : " and <= ") + hi;
}

bool in_range(double v, const Range& r) {
  return (r.min_open ? v > r.min : v >= r.min) && (r.max_open ? v < r.max : v <= r.max);
}

Range closed(double min, double max) {
  Range r;
  r.min = min;
  r.max = max;
  return r;
}

// An integer key's ends: open ends move inward, unbounded ones become the type's limits.
std::int64_t int_min(const Range& r) {
  if (r.min <= static_cast<double>(std::numeric_limits<std::int64_t>::min()))
    return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(std::ceil(r.min)) + (r.min_open && r.min == std::ceil(r.min) ? 1 : 0);
}
std::int64_t int_max(const Range& r) {
  if (r.max >= 9.2e18) return kMaxInt;
  return static_cast<std::int64_t>(std::floor(r.max)) - (r.max_open && r.max == std::floor(r.max) ? 1 : 0);
}

// How a quantity's or a distribution's sign is checked, from its range.
Sign sign_of(const Range& r) {
  if (r.min > 0 || (r.min == 0 && r.min_open)) return Sign::positive;
  return r.min == 0 ? Sign::non_negative : Sign::any;
}

// The limits of a quantity's range beyond its sign, or nullopt when there are none.
std::optional<QuantityLimits> limits_of(const Range& r) {
  if (r.min <= 0 && r.max >= kHuge) return std::nullopt;
  return QuantityLimits{std::max(r.min, 0.0), r.max, r.min_text.empty() ? number_text(r.min) : r.min_text,
                        r.max_text.empty() ? number_text(r.max) : r.max_text, r.reason};
}

std::string join_or(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() ? " or " : ", ") + items[i];
  return out;
}

std::string last_segment(const std::string& path) { return path.substr(path.rfind('.') + 1); }

std::string parent_path(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

// The scalar recorded at `path` in the resolved tree, when one is.
std::optional<std::string> resolved_scalar(const ParamsContext& ctx, const std::string& path) {
  const YAML::Node& root = ctx.resolved;
  if (!root.IsMap()) return std::nullopt;
  YAML::Node cur = root;  // a handle: reset() moves it, assignment would overwrite the tree
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string segment = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!cur.IsMap()) return std::nullopt;
    YAML::Node next;
    bool found = false;
    for (const auto& pair : cur)
      if (pair.first.IsScalar() && pair.first.Scalar() == segment) {
        next.reset(pair.second);
        found = true;
        break;
      }
    if (!found) return std::nullopt;
    cur.reset(next);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (!cur.IsScalar()) return std::nullopt;
  return cur.Scalar();
}

// Whether the condition can be told (its choice key resolved) and whether it holds.
std::optional<bool> holds(const ParamsContext& ctx, const Condition& c) {
  const auto value = resolved_scalar(ctx, c.key);
  if (!value) return std::nullopt;
  return std::find(c.values.begin(), c.values.end(), *value) != c.values.end();
}

// The default's YAML text of `k` (its conditional defaults first), or nullopt when it has none.
std::optional<std::string> default_of(const ParamsContext& ctx, const KeySpec& k) {
  for (const auto& d : k.default_when)
    if (holds(ctx, d.when).value_or(false)) return d.value;
  if (k.default_kind == DefaultKind::value) return k.default_text;
  return std::nullopt;
}

// The number at the start of a quantity's text ("5" of "5m"), for "did you mean '5ms'?".
std::string number_part(std::string text) {
  while (!text.empty() && (std::isalpha(static_cast<unsigned char>(text.back())) || text.back() == ' '))
    text.pop_back();
  return text;
}

// The least share of a distribution's draws that must lie within its key's range.
constexpr double kMinProbabilityWithin = 0.01;
constexpr double kInf = std::numeric_limits<double>::infinity();

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

  // The --set argument that gave `path` or the nearest mapping above it, if any.
  static const OverrideOrigin* origin(const ParamsContext& ctx, const std::string& path) {
    if (ctx.override_paths.empty()) return nullptr;
    std::string at = path;
    while (true) {
      if (const auto it = ctx.override_paths.find(at);
          it != ctx.override_paths.end() && it->second < ctx.overrides.size())
        return &ctx.overrides[it->second];
      const auto cut = at.find_last_of(".[");
      if (cut == std::string::npos) return nullptr;
      at.resize(cut);
    }
  }

  // Where `node` (at key path `path`) came from, or nullopt when it has no position. A node without a
  // position that an override created on its way down ("a" for --set a.b=1) is located at that override.
  static std::optional<Location> where(const ParamsContext& ctx, const std::string& path, const YAML::Node& node) {
    if (const auto* o = origin(ctx, path)) return o->where;
    if (node.IsDefined() && !node.Mark().is_null())
      return Location{ctx.file, node.Mark().line + 1, node.Mark().column + 1};
    // A mapping without a position was created by an override on its way down ("a" for --set a.b=1).
    const std::string below = path + ".";
    if (const auto it = ctx.override_paths.lower_bound(below);
        it != ctx.override_paths.end() && it->first.starts_with(below) && it->second < ctx.overrides.size())
      return ctx.overrides[it->second].where;
    return std::nullopt;
  }
  static std::optional<Location> where(const Params& p, const std::string& path, const YAML::Node& node) {
    return where(*p.ctx_, path, node);
  }

  // The --set argument at `at`, if any: argument i is at column i + 1.
  static const OverrideOrigin* override_at(const ParamsContext& ctx, const Location& at) {
    if (at.file != kCommandLine) return nullptr;
    auto same = [&at](const OverrideOrigin& o) {
      return o.where.file == at.file && o.where.line == at.line && o.where.column == at.column;
    };
    if (at.column >= 1 && static_cast<std::size_t>(at.column) <= ctx.overrides.size() &&
        same(ctx.overrides[at.column - 1]))
      return &ctx.overrides[at.column - 1];
    for (const auto& o : ctx.overrides)
      if (same(o)) return &o;
    return nullptr;
  }

  // Records a diagnostic; one located at an override quotes it.
  static void add(ParamsContext& ctx, const std::string& path, Location at, std::string message,
                  std::vector<std::string> notes, Severity severity = Severity::error) {
    if (const OverrideOrigin* o = override_at(ctx, at)) notes.push_back("set by " + o->arg);
    ctx.errors.add({std::move(at), path, std::move(message), std::move(notes), severity});
  }
  static void add(Params& p, const std::string& path, Location at, std::string message, std::vector<std::string> notes,
                  Severity severity = Severity::error) {
    add(*p.ctx_, path, std::move(at), std::move(message), std::move(notes), severity);
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
                                      std::optional<UnitKind> unit, Sign sign, const QuantityLimits* limits = nullptr,
                                      const Suspicious* suspicious = nullptr) {
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
    if (v) warn_if_suspicious(p, path, at, text, *v, suspicious, unit);
    return v;
  }

  // A warning when `v` (written `text`) lies in the suspicious range: valid, but probably a mistake.
  static void warn_if_suspicious(Params& p, const std::string& path, const Location& at, const std::string& text,
                                 double v, const Suspicious* s, std::optional<UnitKind> unit) {
    if (!s) return;
    const bool low = s->below && v < *s->below, high = s->above && v > *s->above;
    if (!low && !high) return;
    std::vector<std::string> notes;
    // A latency of "5m" or "30s" is most likely milliseconds with a unit slip.
    if (high && unit == UnitKind::time) {
      const std::string number = number_part(text);
      if (!number.empty() && number != text && text.substr(number.size()).find("ms") == std::string::npos)
        notes.push_back("did you mean '" + number + "ms'?");
    }
    add(p, path, at,
        "'" + text + "' is " + (low ? "below " + s->below_text : "above " + s->above_text) + "; " + s->reason,
        std::move(notes), Severity::warning);
  }

  static double scalar_number(Params& p, const std::string& key, std::optional<UnitKind> unit, Sign sign,
                              const QuantityLimits* limits = nullptr, const Suspicious* suspicious = nullptr) {
    if (unit) return quantity(p, key, *unit, std::nullopt, sign, limits, suspicious);
    const char* expected = sign == Sign::positive       ? "a number > 0"
                           : sign == Sign::non_negative ? "a number >= 0"
                                                        : "a number";
    const auto raw = scalar(p, key, expected, std::nullopt);
    if (!raw) return 0;
    const auto v = number(p, full(p, key), p.location(key), *raw, unit, sign, limits, suspicious);
    if (v) record(p, key, YAML::Node(number_text(*v)));
    return v.value_or(0);
  }

  // A quantity with a mandatory unit at `key`; 0 after an error.
  static double quantity(Params& p, const std::string& key, UnitKind kind, const std::optional<std::string>& def,
                         Sign sign, const QuantityLimits* limits, const Suspicious* suspicious) {
    const auto raw = scalar(p, key, unit_expectation(kind), def);
    if (!raw) return 0;
    // A default is never suspicious: only what the user wrote is checked.
    const auto v =
        number(p, full(p, key), p.location(key), *raw, kind, sign, limits, p.has(key) ? suspicious : nullptr);
    if (!v) return 0;
    record(p, key, YAML::Node(*raw));
    return *v;
  }

  // A list of reals or quantities at `key`; each element located on its own.
  static std::vector<double> number_list(Params& p, const std::string& key, std::optional<UnitKind> unit, Sign sign,
                                         bool required, const QuantityLimits* limits = nullptr,
                                         const Suspicious* suspicious = nullptr) {
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
            "expected " + (unit ? unit_expectation(*unit) : std::string("a number")) + ", got " + describe_node(item),
            {});
        continue;
      }
      if (const auto v = number(p, path, at, item.Scalar(), unit, sign, limits, suspicious)) {
        out.push_back(*v);
        resolved.push_back(unit ? item.Scalar() : number_text(*v));
      }
    }
    record(p, key, resolved);
    return out;
  }

  // The fields of a {dist: kind, ...} mapping; `positive` demands every drawable value be > 0.
  static Distribution from_map(Params& d, std::optional<UnitKind> unit, bool positive, const QuantityLimits* limits,
                               const Suspicious* suspicious) {
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
        out.value = scalar_number(d, "value", unit, drawable, limits, suspicious);
        break;
      case Distribution::Kind::uniform:
        out.min = scalar_number(d, "min", unit, drawable, limits, suspicious);
        out.max = scalar_number(d, "max", unit, drawable, limits, suspicious);
        if (d.context().errors.items().size() == errors_before && out.max < out.min)
          d.error("max",
                  "max '" + find(d, "max")->value.Scalar() + "' is below min '" + find(d, "min")->value.Scalar() + "'");
        break;
      case Distribution::Kind::normal:
        out.mean = scalar_number(d, "mean", unit, drawable, limits, suspicious);
        out.stddev = scalar_number(d, "stddev", unit, spread);
        break;
      case Distribution::Kind::lognormal:
        out.median = scalar_number(d, "median", unit, Sign::positive, limits, suspicious);
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
        out.values = number_list(d, "values", unit, drawable, true, limits, suspicious);
        out.weights = number_list(d, "weights", std::nullopt, Sign::non_negative, false);
        if (d.context().errors.items().size() != errors_before) break;
        if (out.values.empty()) d.error("values", "a choice needs at least one value");
        if (!out.weights.empty() && out.weights.size() != out.values.size())
          d.error("weights", fmt::format("{} weights for {} values; give one weight per value", out.weights.size(),
                                         out.values.size()));
        else if (!out.weights.empty() &&
                 std::all_of(out.weights.begin(), out.weights.end(), [](double w) { return w == 0; }))
          d.error("weights", "the weights sum to 0; at least one must be > 0");
        else if (!std::isfinite(std::accumulate(out.weights.begin(), out.weights.end(), 0.0)))
          d.error("weights", "the weights sum to more than the largest number (about 1.8e308)",
                  {"only their ratios matter: divide them all by the same number"});
        break;
      case Distribution::Kind::shifted_exponential:
        // Every draw lies above the shift, so a shift of 0 keeps positive draws positive.
        out.shift = scalar_number(d, "shift", unit, positive ? Sign::non_negative : drawable, limits, suspicious);
        out.rate = scalar_number(d, "rate", std::nullopt, Sign::positive);
        break;
      case Distribution::Kind::pareto:
        out.scale = scalar_number(d, "scale", unit, Sign::positive, limits, suspicious);
        out.shape = scalar_number(d, "shape", std::nullopt, Sign::positive);
        break;
    }
    if (d.context().errors.items().size() == errors_before) check_in_range(d, out, unit, positive, limits);
    d.finish();
    return out;
  }

  // A distribution's draws outside the key's range cannot be simulated: they are drawn again
  // (Distribution::draw_within), so the distribution must put at least 1 % of its draws inside the range,
  // and gets a warning where a client could, with a chance above 1e-6, exhaust its redraws and be clamped.
  static void check_in_range(Params& d, const Distribution& dist, std::optional<UnitKind> unit, bool positive,
                             const QuantityLimits* limits) {
    const double lo = limits ? limits->min : positive || unit ? 0 : -kInf;
    const double hi = limits ? limits->max : kInf;
    const double p = dist.probability_within(lo, hi);
    if (p >= 1) return;
    const std::string range = !limits                ? (lo == 0 ? "at least 0" : "finite")
                              : limits->max >= kHuge ? "at least " + limits->min_text
                                                     : limits->min_text + " to " + limits->max_text;
    const double clamped = std::pow(1 - p, Distribution::kMaxRedraws + 1);
    std::vector<std::string> notes{fmt::format(
        "a draw outside {} is drawn again, at most {} times, then clamped into it", range, Distribution::kMaxRedraws)};
    if (p < kMinProbabilityWithin) {
      d.error("",
              fmt::format("only {} of this distribution's draws lie within {}, the values that can be simulated; "
                          "at least 1 % must",
                          percent_text(p), range),
              std::move(notes));
    } else if (clamped > 1e-6) {
      d.warn("",
             fmt::format("only {} of this distribution's draws lie within {}, the values that can be simulated: "
                         "a client's draw ends clamped to it with probability {}",
                         percent_text(p), range, percent_text(clamped)),
             std::move(notes));
    }
  }

  static std::string percent_text(double p) {
    if (p == 0) return "0 %";
    return fmt::format("{:.3g} %", 100 * p);
  }

  static Distribution distribution(Params& p, const std::string& key, std::optional<UnitKind> unit,
                                   const std::optional<std::string>& def, bool positive, const QuantityLimits* limits,
                                   const Suspicious* suspicious) {
    ask(p, key);
    const auto entry = find(p, key);
    if (!entry && def) {
      // Read the default's text as if the user had written it (so it is recorded the same way); a default is
      // never suspicious.
      YAML::Node holder(YAML::NodeType::Map);
      holder[key] = YAML::Load(*def);
      Params defaults(p.ctx_, holder, p.path_);
      return distribution(defaults, key, unit, std::nullopt, positive, limits, nullptr);
    }
    if (entry && entry->value.IsMap()) {
      Params fields = p.child(key);
      return from_map(fields, unit, positive, limits, suspicious);
    }
    if (entry && !entry->value.IsScalar()) {
      type_error(p, key, entry->value,
                 "a distribution: a single value (constant) or a mapping such as {dist: uniform, min: ..., max: ...}");
      return {};
    }
    const Sign sign = positive ? Sign::positive : (unit ? Sign::non_negative : Sign::any);
    return Distribution::constant_of(scalar_number(p, key, unit, sign, limits, suspicious));
  }

  // The schema entry of `key` below `p`; a missing one is a defect of the loader, reported as an error.
  static const KeySpec* spec(Params& p, const std::string& key) {
    const std::string path = full(p, key);
    if (const KeySpec* k = find_key(path)) return k;
    p.error(key, "internal error: '" + path + "' is not in the scenario schema (sim/scenario/schema.cpp)");
    return nullptr;
  }

  // A key without a default that is absent: asked for, nothing recorded (deadline: absent = wait for all).
  static bool absent_without_default(Params& p, const std::string& key, const KeySpec& k) {
    if (k.default_kind == DefaultKind::value || k.default_kind == DefaultKind::required || default_of(*p.ctx_, k) ||
        p.has(key))
      return false;
    ask(p, key);
    return true;
  }

  // Checks of a value the user wrote (never of a default): only its built value, then its suspicious
  // range. Returns the value to use.
  static double after_read(Params& p, const std::string& key, const KeySpec& k, double v) {
    const auto entry = find(p, key);
    if (!entry || !entry->value.IsScalar()) return v;
    const std::string& text = entry->value.Scalar();
    if (k.only_built) {
      const double built = parse_double(*k.only_built).value_or(0);
      if (v != built) {
        p.error(key, "'" + text + "' is not implemented yet; only " + *k.only_built + " is supported");
        return built;
      }
    }
    warn_if_suspicious(p, full(p, key), p.location(key), text, v, k.suspicious ? &*k.suspicious : nullptr, k.unit);
    return v;
  }

  // The first condition of `k` that fails: ("applies only when name is dirichlet", "name is 'iid' here"), or
  // an empty pair when a controlling key has no valid value to tell; nullopt when every condition holds.
  static std::optional<std::pair<std::string, std::string>> failed_condition(const Params& p, const KeySpec& k) {
    for (const auto& c : k.when) {
      const auto value = resolved_scalar(*p.ctx_, c.key);
      if (!value) return std::pair<std::string, std::string>{};
      if (std::find(c.values.begin(), c.values.end(), *value) != c.values.end()) continue;
      const std::string who = parent_path(c.key) == p.path_ ? last_segment(c.key) : c.key;
      // Name only the built variants the key applies to (a planned one would be refused anyway).
      std::vector<std::string> shown;
      const KeySpec* controller = find_key(c.key);
      for (const auto& v : c.values) {
        const ChoiceValue* cv = controller ? controller->value(v) : nullptr;
        if (!cv || cv->status == KeyStatus::built) shown.push_back(v);
      }
      if (shown.empty()) shown = c.values;
      return std::pair<std::string, std::string>{"applies only when " + who + " is " + join_or(shown),
                                                 who + " is '" + *value + "' here"};
    }
    return std::nullopt;
  }
};

Params::Params(std::shared_ptr<ParamsContext> ctx, YAML::Node node, std::string key_path)
    : ctx_(std::move(ctx)), node_(node.IsDefined() ? node : YAML::Node()), path_(std::move(key_path)) {
  fallback_.file = ctx_->file;
}

bool Params::has(const std::string& key) const { return ParamsAccess::find(*this, key).has_value(); }

std::vector<std::string> Params::keys() const {
  std::vector<std::string> out;
  if (!node_.IsMap()) return out;
  for (const auto& pair : node_)
    if (pair.first.IsScalar()) out.push_back(pair.first.Scalar());
  return out;
}

Location Params::location() const { return ParamsAccess::where(*this, path_, node_).value_or(fallback_); }

Location Params::location(const std::string& key) const {
  const auto entry = ParamsAccess::find(*this, key);
  if (!entry) return ParamsAccess::where(*this, ParamsAccess::full(*this, key), YAML::Node()).value_or(location());
  // An empty value's mark points past it, at the next token: the key is a better place.
  const YAML::Node& at = entry->value.IsNull() ? entry->key : entry->value;
  return ParamsAccess::where(*this, ParamsAccess::full(*this, key), at).value_or(location());
}

// ---- Explicit getters ----

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
  const Range range = closed(min, max);
  const std::string expected = real_range(range);
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
  if (!in_range(*v, range)) {
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
  return ParamsAccess::quantity(*this, key, kind, def, allow_zero ? Sign::non_negative : Sign::positive, limits,
                                nullptr);
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
  return ParamsAccess::distribution(*this, key, unit, def, positive, limits, nullptr);
}

// ---- Spec-driven getters ----

std::string Params::get_string(const std::string& key) {
  const KeySpec* k = ParamsAccess::spec(*this, key);
  if (!k || ParamsAccess::absent_without_default(*this, key, *k)) return "";
  return get_string(key, default_of(*ctx_, *k));
}

std::string Params::get_choice(const std::string& key) {
  const KeySpec* k = ParamsAccess::spec(*this, key);
  if (!k || ParamsAccess::absent_without_default(*this, key, *k)) return "";
  const auto def = default_of(*ctx_, *k);
  const std::vector<std::string> built = k->built_values();
  const auto raw = ParamsAccess::scalar(*this, key, "one of " + join(built), def);
  if (!raw) return def.value_or("");
  const ChoiceValue* value = k->value(*raw);
  if (!value) {
    std::vector<std::string> notes{"valid values are: " + join(built)};
    if (auto near = did_you_mean(*raw, built); !near.empty()) notes.push_back("did you mean '" + near + "'?");
    error(key, "unknown value '" + *raw + "'", std::move(notes));
    return def.value_or("");
  }
  if (value->status == KeyStatus::planned) {
    const std::string noun = k->noun.empty() ? "value" : k->noun;
    const std::string nouns = k->nouns.empty() ? "values" : k->nouns;
    error(key, noun + " '" + *raw + "' is not implemented yet", {"implemented " + nouns + ": " + join(built)});
    return def.value_or("");
  }
  ParamsAccess::record(*this, key, YAML::Node(*raw));
  return *raw;
}

std::int64_t Params::get_int(const std::string& key) {
  const KeySpec* k = ParamsAccess::spec(*this, key);
  if (!k || ParamsAccess::absent_without_default(*this, key, *k)) return 0;
  const auto def_text = default_of(*ctx_, *k);
  bool ignored = false;
  const auto def = def_text ? parse_int(*def_text, &ignored) : std::nullopt;
  const std::size_t errors_before = ctx_->errors.items().size();
  const std::int64_t v = get_int(key, def, int_min(k->range), int_max(k->range));
  if (ctx_->errors.items().size() == errors_before) ParamsAccess::after_read(*this, key, *k, static_cast<double>(v));
  return v;
}

double Params::get_double(const std::string& key) {
  const KeySpec* k = ParamsAccess::spec(*this, key);
  if (!k || ParamsAccess::absent_without_default(*this, key, *k)) return 0;
  const auto def_text = default_of(*ctx_, *k);
  const std::string expected = real_range(k->range);
  const auto raw = ParamsAccess::scalar(*this, key, expected, def_text);
  const double fallback = def_text ? parse_double(*def_text).value_or(0) : 0;
  if (!raw) return fallback;
  bool out_of_range = false;
  const auto v = parse_double(*raw, &out_of_range);
  if (!v || !in_range(*v, k->range)) {
    std::vector<std::string> notes;
    if (v && !k->range.reason.empty()) notes.push_back(k->range.reason);
    error(key,
          "'" + *raw + (v || out_of_range ? "' is out of range; expected " : "' is not a finite number; expected ") +
              expected,
          std::move(notes));
    return fallback;
  }
  ParamsAccess::record(*this, key, YAML::Node(number_text(*v)));
  return ParamsAccess::after_read(*this, key, *k, *v);
}

bool Params::get_bool(const std::string& key) {
  const KeySpec* k = ParamsAccess::spec(*this, key);
  if (!k || ParamsAccess::absent_without_default(*this, key, *k)) return false;
  const auto def_text = default_of(*ctx_, *k);
  return get_bool(key, def_text ? std::optional<bool>(*def_text == "true") : std::nullopt);
}

double Params::get_quantity(const std::string& key) {
  const KeySpec* k = ParamsAccess::spec(*this, key);
  if (!k || !k->unit || ParamsAccess::absent_without_default(*this, key, *k)) return 0;
  const auto limits = limits_of(k->range);
  return ParamsAccess::quantity(*this, key, *k->unit, default_of(*ctx_, *k), sign_of(k->range),
                                limits ? &*limits : nullptr, k->suspicious ? &*k->suspicious : nullptr);
}

std::vector<std::int64_t> Params::get_int_list(const std::string& key) {
  const KeySpec* k = ParamsAccess::spec(*this, key);
  if (!k || ParamsAccess::absent_without_default(*this, key, *k)) return {};
  std::optional<std::vector<std::int64_t>> def;
  if (const auto text = default_of(*ctx_, *k)) {
    def.emplace();
    for (const auto& item : YAML::Load(*text)) def->push_back(item.as<std::int64_t>());
  }
  return get_int_list(key, def, int_min(k->range), int_max(k->range));
}

Distribution Params::get_distribution(const std::string& key) {
  const KeySpec* k = ParamsAccess::spec(*this, key);
  if (!k || ParamsAccess::absent_without_default(*this, key, *k)) return {};
  const auto limits = limits_of(k->range);
  return ParamsAccess::distribution(*this, key, k->unit, default_of(*ctx_, *k), sign_of(k->range) == Sign::positive,
                                    limits ? &*limits : nullptr, k->suspicious ? &*k->suspicious : nullptr);
}

bool Params::applies(const std::string& key) const {
  const KeySpec* k = find_key(ParamsAccess::full(*this, key));
  if (!k) return true;
  for (const auto& c : k->when)
    if (!holds(*ctx_, c).value_or(false)) return false;
  return true;
}

// ---- Structure ----

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

void Params::ignore(const std::string& key) { ParamsAccess::ask(*this, key); }

void Params::error(const std::string& key, const std::string& message, std::vector<std::string> notes) {
  const std::string path = key.empty() ? path_ : ParamsAccess::full(*this, key);
  ParamsAccess::add(*this, path, key.empty() ? location() : location(key), message, std::move(notes));
}

void Params::warn(const std::string& key, const std::string& message, std::vector<std::string> notes) {
  const std::string path = key.empty() ? path_ : ParamsAccess::full(*this, key);
  ParamsAccess::add(*this, path, key.empty() ? location() : location(key), message, std::move(notes),
                    Severity::warning);
}

void Params::finish() {
  if (finished_ || !node_.IsMap()) return;
  finished_ = true;
  const bool schema = ctx_->use_schema;
  // What an unknown key's notes offer: the built keys of this variant, then the others asked for; the
  // planned ones only for a did-you-mean (and when nothing here is built yet).
  std::vector<std::string> valid, planned, candidates = asked_;
  if (schema) {
    for (const KeySpec* c : schema_children(path_)) {
      const std::string name = last_segment(c->path);
      candidates.push_back(name);
      if (c->status == KeyStatus::planned && !c->only_built)
        planned.push_back(name);
      else if (applies(name))
        valid.push_back(name);
    }
  }
  for (const auto& a : asked_)
    if (std::find(valid.begin(), valid.end(), a) == valid.end()) valid.push_back(a);
  for (const auto& pair : node_) {
    const std::string name = pair.first.IsScalar() ? pair.first.Scalar() : describe_node(pair.first);
    if (std::find(asked_.begin(), asked_.end(), name) != asked_.end()) continue;
    const std::string path = ParamsAccess::full(*this, name);
    const Location key_at = ParamsAccess::where(*this, path, pair.first).value_or(location());
    if (const KeySpec* k = schema && pair.first.IsScalar() ? find_key(path) : nullptr) {
      // The one place where a key of the v1 tree that is not built yet is refused.
      if (k->status == KeyStatus::planned && !k->only_built) {
        ParamsAccess::add(*this, path, location(name), "not implemented yet", {});
        continue;
      }
      if (const auto failed = ParamsAccess::failed_condition(*this, *k)) {
        // A controlling key that is itself invalid was reported: nothing can be said about this one.
        if (!failed->first.empty()) ParamsAccess::add(*this, path, key_at, failed->first, {failed->second});
        continue;
      }
    }
    std::vector<std::string> notes;
    if (auto near = did_you_mean(name, candidates); !near.empty()) notes.push_back("did you mean '" + near + "'?");
    if (!valid.empty())
      notes.push_back("valid keys are: " + join(valid));
    else if (!planned.empty())
      notes.push_back("no key is implemented here yet (planned: " + join(planned) + ")");
    else
      notes.push_back("this mapping takes no keys");
    ParamsAccess::add(*this, path, key_at, "unknown key '" + name + "'", std::move(notes));
  }
}

// ---- Diagnostics after loading ----

namespace {

struct Segment {
  std::string key;
  std::size_t index = 0;
  bool is_index = false;
};

// "a.b[2].c" -> a, b, [2], c; nullopt when it is no key path.
std::optional<std::vector<Segment>> parse_key_path(const std::string& path) {
  std::vector<Segment> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '[') {
      const auto close = path.find(']', i);
      if (close == std::string::npos) return std::nullopt;
      bool out_of_range = false;
      const auto n = parse_int(std::string_view(path).substr(i + 1, close - i - 1), &out_of_range);
      if (!n || *n < 0) return std::nullopt;
      out.push_back({"", static_cast<std::size_t>(*n), true});
      i = close + 1;
      if (i < path.size() && path[i] == '.') ++i;
      continue;
    }
    const auto end = path.find_first_of(".[", i);
    out.push_back({path.substr(i, end == std::string::npos ? end : end - i), 0, false});
    if (end == std::string::npos) break;
    i = path[end] == '.' ? end + 1 : end;
  }
  return out;
}

}  // namespace

void report_at(ParamsContext& ctx, Severity severity, const std::string& key_path, std::string message,
               std::vector<std::string> notes) {
  Location at{ctx.file, 0, 0};
  if (const auto* o = ParamsAccess::origin(ctx, key_path)) {
    at = o->where;
  } else if (const auto segments = parse_key_path(key_path)) {
    // Walk down as far as the document goes; the deepest node found locates the key.
    YAML::Node cur = ctx.root;  // a handle: reset() moves it
    std::string walked;
    for (std::size_t i = 0; i < segments->size() && cur.IsDefined(); ++i) {
      const Segment& s = (*segments)[i];
      YAML::Node key_node, value;
      if (s.is_index) {
        if (!cur.IsSequence() || s.index >= cur.size()) break;
        value.reset(cur[s.index]);
        walked += "[" + std::to_string(s.index) + "]";
      } else {
        if (!cur.IsMap()) break;
        bool found = false;
        for (const auto& pair : cur)
          if (pair.first.IsScalar() && pair.first.Scalar() == s.key) {
            key_node.reset(pair.first);
            value.reset(pair.second);
            found = true;
            break;
          }
        if (!found) break;
        walked += (walked.empty() ? "" : ".") + s.key;
      }
      // An empty value's mark points past it, at the next token: the key is a better place.
      const YAML::Node& marked = value.IsNull() && key_node.IsDefined() ? key_node : value;
      if (const auto w = ParamsAccess::where(ctx, walked, marked)) at = *w;
      cur.reset(value);
    }
  }
  ParamsAccess::add(ctx, key_path, std::move(at), std::move(message), std::move(notes), severity);
}

}  // namespace dtsim
