#include "sim/engine/simgrid_options.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <string_view>

#include "sim/scenario/config_error.hpp"

namespace dtsim::engine {

namespace {

// Builds one entry; the table below reads one option per statement.
SimgridOption option(std::string key, std::string type, bool changes_timing, std::string default_value,
                     std::string help) {
  SimgridOption o;
  o.key = std::move(key);
  o.type = std::move(type);
  o.changes_timing = changes_timing;
  o.default_value = std::move(default_value);
  o.help = std::move(help);
  return o;
}

std::string number_text(double v) { return fmt::format("{}", v); }

SimgridOption numeric(SimgridOption o, double min, double max, const std::string& unit, std::string reason) {
  o.min = min;
  o.max = max;
  o.range = number_text(min) + " to " + number_text(max) + (unit.empty() ? "" : " (" + unit + ")");
  o.limit_reason = std::move(reason);
  return o;
}

SimgridOption choice(SimgridOption o, std::vector<std::string> choices, std::string reason = "") {
  o.choices = std::move(choices);
  for (const auto& c : o.choices) o.range += (o.range.empty() ? "" : " | ") + c;
  o.limit_reason = std::move(reason);
  return o;
}

SimgridOption boolean(SimgridOption o) {
  o.range = "0 | 1 (also no | yes, off | on, false | true)";
  return o;
}

// Measured with SimGrid 3.32 (Debian 3.32-2+b2) through `dtsim run` (timing only, and real training for the
// stack sizes) on star platforms under both network models (flow = LV08, analytic = CM02), 40 contended
// clients with a deadline (so transfers are cancelled too), and single links from 1bps to 1Gbps with latencies
// from 0 to 1d on both sides:
//   surf/precision       0, -1, nan: never ends; 1e-15 .. 1e-1 run (1e-1 moves round times by 0.1 s or more)
//   maxmin/precision     >= 1 aborts ("The Impossible Did Happen"), 0 segfaults; 1e-12 .. 1e-1 change nothing
//   contexts/stack-size  <= 0 segfaults; 16 .. 64 KiB segfault in real training, 128 KiB with a 784-2000-10 MLP;
//                        192 KiB and up ran everything; 65536 KiB ran 3000 actors
//   contexts/guard-size  -1 aborts; 0 .. 16384 pages ran 3000 actors (guard 0 + 256 KiB stacks: 6x the memory)
//   contexts/factory     raw ucontext boost thread identical; "Raw", "bogus" abort ("Please use a valid factory")
//   network/model        LV08 CM02 SMPI IB run; Constant and ns-3 abort; "lv08" aborts ("Model is invalid")
//   network/TCP-gamma    0 and negative remove the cap; 1 .. 1e300 run (1 makes every flow crawl)
//   network/latency-factor     negative reads as 0; 0 .. 1e12 run
//   network/bandwidth-factor   0 and negative abort; 1e-6 .. 1e6 run
//   network/weight-S     negative reads as 0; 30000 runs and 40000 aborts on a 1bps link (1ms latencies)
//   network/optim        Lazy, Full; TI (and any other name) is read as Full
//   network/maxmin-selective-update:0 aborts under network/optim:Lazy; cpu/... likewise under cpu/optim:Lazy
//   SMPI ignores network/bandwidth-factor and latency-factor; IB those and network/weight-S (same times)
//   Full optimisation changes times in the last digits; selective update and the contexts/* options do not.
std::vector<SimgridOption> build_allow_list() {
  std::vector<SimgridOption> t;
  t.push_back(numeric(option("contexts/guard-size", "integer", false, "1",
                             "guard pages below each actor's stack; 0 lifts the limit of about 32k actors that "
                             "vm.max_map_count sets (then keep large stacks: small ones are allocated whole)"),
                      0, 1024, "pages", "a negative size aborts SimGrid 3.32"));
  t.push_back(choice(option("contexts/factory", "choice", false, "raw",
                            "how actors switch: raw (fastest), boost, ucontext, or thread (about 100x slower; for "
                            "ASan, valgrind and gdb)"),
                     {"raw", "ucontext", "boost", "thread"}, "SimGrid 3.32 aborts on any other name"));
  t.push_back(numeric(option("contexts/stack-size", "integer", false, "8192",
                             "each actor's stack (KiB; ignored by the thread factory)"),
                      256, 65536, "KiB",
                      "smaller stacks overflow during training (Eigen keeps up to 128 KiB on the stack: 128 KiB "
                      "crashed a 784-2000-10 MLP) and 0 or less crashes at once"));
  t.push_back(boolean(option("cpu/maxmin-selective-update", "boolean", false, "1 under cpu/optim:Lazy",
                             "update only the CPU constraints an event touches (identical results); 0 needs "
                             "cpu/optim TI or Full")));
  t.push_back(choice(option("cpu/optim", "choice", true, "Lazy",
                            "how CPU shares are recomputed: Lazy, TI (trace integration) or Full (about 4.5x "
                            "slower; may change times in the last digits)"),
                     {"Lazy", "TI", "Full"}, "SimGrid 3.32 aborts on any other name (the case matters)"));
  t.push_back(numeric(option("network/TCP-gamma", "real", true, "4194304",
                             "the largest TCP window: a flow gets at most gamma / (2 x route latency); 0 removes "
                             "the cap (bytes)"),
                      0, 1e30, "bytes", "0 already removes the cap, and a negative window means nothing"));
  t.push_back(numeric(option("network/bandwidth-factor", "real", true, "set by network/model: LV08 0.97, CM02 1",
                             "multiplies every link's bandwidth (ignored by network/model SMPI and IB)"),
                      1e-3, 1e3, "", "0 or less aborts SimGrid 3.32 (\"The Impossible Did Happen\")"));
  t.push_back(boolean(option("network/crosstraffic", "boolean", true, "1",
                             "each flow also loads its reverse route with 5 % of its rate (LV08, CM02)")));
  t.push_back(numeric(option("network/latency-factor", "real", true, "set by network/model: LV08 13.01, CM02 1",
                             "multiplies every route's latency (ignored by network/model SMPI and IB)"),
                      0, 1e3, "", "SimGrid 3.32 reads a negative factor as 0"));
  t.push_back(boolean(option("network/maxmin-selective-update", "boolean", false, "1 under network/optim:Lazy",
                             "update only the network constraints an event touches (identical results); 0 needs "
                             "network/optim:Full")));
  t.push_back(choice(option("network/model", "choice", true, "LV08",
                            "the network model: LV08 (TCP flows, RTT-aware sharing), CM02 (no latency or bandwidth "
                            "corrections), SMPI (MPI message-size factors), IB (InfiniBand)"),
                     {"LV08", "CM02", "SMPI", "IB"},
                     "Constant and ns-3 abort on dtsim's platforms (\"there is no link in the Constant network "
                     "model\"), and SimGrid 3.32 aborts on any other name (the case matters)"));
  t.push_back(choice(option("network/optim", "choice", true, "Lazy",
                            "how network shares are recomputed: Lazy, or Full (with maxmin-selective-update:0 "
                            "faster for incasts; may change times in the last digits)"),
                     {"Lazy", "Full"}, "SimGrid 3.32 reads every other name as Full, without telling"));
  t.push_back(numeric(option("network/weight-S", "real", true, "set by network/model: LV08 20537, CM02 0, SMPI 8775",
                             "RTT-aware sharing: a flow's weight is its route latency + weight-S / its bandwidth "
                             "(ignored by network/model IB)"),
                      0, 25000, "",
                      "beyond about 30000 SimGrid 3.32 aborts on the slowest links dtsim accepts (1bps: 40000 "
                      "aborted), and it reads a negative value as 0"));
  t.push_back(numeric(option("surf/precision", "real", true, "1e-09",
                             "event dates closer than this count as one (s): larger is faster but less exact "
                             "(1e-3: 1.7-4.3x faster, within 2 % per client; 1e-1 moves times by tenths of seconds)"),
                      1e-12, 1e-1, "s", "0 or less never ends the simulation, and NaN hangs it too"));
  std::sort(t.begin(), t.end(), [](const SimgridOption& a, const SimgridOption& b) { return a.key < b.key; });
  return t;
}

// Keys SimGrid 3.32 has that dtsim refuses on purpose, with the reason.
const std::map<std::string, std::string, std::less<>>& refused_keys() {
  static const std::map<std::string, std::string, std::less<>> keys{
      {"maxmin/precision",
       "it had no measurable effect on dtsim's timings, and values of 1 or more abort SimGrid 3.32 (use "
       "surf/precision)"},
      {"maxmin/concurrency-limit", "it makes flows queue, which changes what is simulated"},
      {"host/model", "ptask_L07 changes every timing and is slower; compound and default are what dtsim uses"},
      {"cpu/model", "Cas01 is the only CPU model of SimGrid 3.32 and the one dtsim uses"},
      {"network/solver", "fairbottleneck ignores the flows' weights and bmf aborts from 100 contended clients"},
      {"cpu/solver", "dtsim's timing model is the max-min CPU sharing"},
      {"host/solver", "it applies only to host/model:ptask_L07, which dtsim refuses"},
      {"contexts/nthreads", "dtsim's actors share state and must run one at a time"},
      {"contexts/synchro", "it applies only to contexts/nthreads above 1, which dtsim refuses"},
  };
  return keys;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool is_one_of(std::string_view value, std::initializer_list<std::string_view> items) {
  return std::find(items.begin(), items.end(), value) != items.end();
}

std::optional<bool> parse_bool(std::string_view v) {
  // SimGrid's own spellings, compared exactly (src/xbt/config.cpp).
  if (is_one_of(v, {"1", "yes", "on", "true"})) return true;
  if (is_one_of(v, {"0", "no", "off", "false"})) return false;
  return std::nullopt;
}

// Decimal or scientific text with an optional sign ("1e-3", "+2", "-0.5"); no hexadecimal, inf or nan.
std::optional<double> parse_real(std::string_view v) {
  if (v.starts_with('+')) v.remove_prefix(1);
  if (v.empty() || v.starts_with('+')) return std::nullopt;
  double out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out, std::chars_format::general);
  if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(out)) return std::nullopt;
  return out;
}

// Decimal integer text with an optional sign (SimGrid would also read 0x10 and 010 as 16 and 8).
std::optional<long long> parse_integer(std::string_view v) {
  if (v.starts_with('+')) v.remove_prefix(1);
  if (v.empty() || v.starts_with('+')) return std::nullopt;
  long long out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return out;
}

const SimgridOption* find_option(std::string_view key) {
  for (const auto& o : simgrid_allow_list())
    if (o.key == key) return &o;
  return nullptr;
}

std::vector<std::string> allowed_keys() {
  std::vector<std::string> keys;
  for (const auto& o : simgrid_allow_list()) keys.push_back(o.key);
  return keys;
}

std::string expected_text(const SimgridOption& o) {
  if (o.type == "boolean") return o.key + " takes 0 or 1 (also no/yes, off/on, false/true)";
  if (o.type == "choice") return o.key + " takes one of " + join(o.choices);
  return fmt::format("{} takes {} from {}", o.key, o.type == "integer" ? "an integer" : "a number", o.range);
}

const std::vector<std::string>& log_levels() {
  static const std::vector<std::string> levels{"trace", "debug", "verbose", "info", "warning", "error", "critical"};
  return levels;
}

const std::vector<std::string>& log_settings() {
  static const std::vector<std::string> settings{"thres", "threshold", "fmt", "app", "appender", "add", "additivity"};
  return settings;
}

class Checker {
 public:
  void check(const std::string& arg) {
    arg_ = arg;
    // SimGrid's option and log parsers take bytes as they come: a control character or a byte that is
    // not UTF-8 (found by units_fuzz in a log format) would reach them and the terminal unescaped.
    if (escape_control(arg) != arg)
      return fail("a control character or a byte that is not UTF-8; --simgrid takes printable text");
    if (arg.starts_with("--cfg=")) return check_cfg(std::string_view(arg).substr(6));
    if (arg.starts_with("--log=")) return check_log(std::string_view(arg).substr(6));
    std::vector<std::string> notes{
        "--simgrid takes --cfg=KEY:VALUE (KEY on dtsim's allow-list) or --log=SETTING, "
        "such as --simgrid=--cfg=contexts/factory:thread or "
        "--simgrid=--log=root.thres:info",
        "dtsim list shows the allow-list"};
    if (arg.starts_with("--cfg") || arg.starts_with("--log"))
      notes.insert(notes.begin(), "write the value after '=' in the same argument: --simgrid=--cfg=KEY:VALUE");
    fail("not an argument dtsim passes to SimGrid", std::move(notes));
  }

  // The rules between options, once every argument is read.
  void check_combinations() {
    auto value_of = [this](const std::string& key) -> std::optional<std::pair<std::string, std::string>> {
      const auto it = cfg_.find(key);
      if (it == cfg_.end()) return std::nullopt;
      return it->second;
    };
    const auto net_select = value_of("network/maxmin-selective-update");
    const auto net_optim = value_of("network/optim");
    if (net_select && parse_bool(net_select->second) == false && (!net_optim || net_optim->second != "Full")) {
      arg_ = net_select->first;
      fail("needs --cfg=network/optim:Full",
           {"SimGrid 3.32 aborts: \"You cannot disable network selective update when using the lazy update "
            "mechanism\" (network/optim is Lazy unless set)"});
    }
    const auto cpu_select = value_of("cpu/maxmin-selective-update");
    const auto cpu_optim = value_of("cpu/optim");
    if (cpu_select && parse_bool(cpu_select->second) == false && (!cpu_optim || cpu_optim->second == "Lazy")) {
      arg_ = cpu_select->first;
      fail("needs --cfg=cpu/optim:TI or --cfg=cpu/optim:Full",
           {"SimGrid 3.32 aborts: \"You cannot disable cpu selective update when using the lazy update "
            "mechanism\" (cpu/optim is Lazy unless set)"});
    }
    if (const auto model = value_of("network/model"); model && (model->second == "SMPI" || model->second == "IB")) {
      std::vector<std::string> ignored{"network/bandwidth-factor", "network/latency-factor"};
      if (model->second == "IB") ignored.emplace_back("network/weight-S");
      for (const auto& key : ignored)
        if (const auto given = value_of(key)) {
          arg_ = given->first;
          fail(fmt::format("network/model:{} ignores {}", model->second, key),
               {fmt::format(
                   "measured with SimGrid 3.32: every time is the same with and without it{}",
                   model->second == "SMPI" ? " (SMPI applies its own smpi/bw-factor and smpi/lat-factor)" : "")});
        }
    }
  }

  ErrorList errors;
  CheckedSimgridArgs out;

 private:
  void fail(const std::string& message, std::vector<std::string> notes = {}) {
    errors.add({{kCommandLine, 0, 0}, "--simgrid", "'" + shortened(arg_) + "': " + message, std::move(notes)});
  }

  void check_cfg(std::string_view setting) {
    if (setting.empty()) return fail("no setting; expected --cfg=KEY:VALUE");
    if (setting.find_first_of(" \t\n,") != std::string_view::npos)
      return fail("several settings in one argument (SimGrid splits a --cfg at spaces and commas)",
                  {"give one --cfg=KEY:VALUE per --simgrid"});
    const auto colon = setting.find(':');
    if (colon == std::string_view::npos) {
      std::vector<std::string> notes;
      if (const auto eq = setting.find('='); eq != std::string_view::npos)
        notes.push_back(fmt::format("did you mean '--cfg={}:{}'?", setting.substr(0, eq), setting.substr(eq + 1)));
      return fail("no value; expected --cfg=KEY:VALUE (a ':' between key and value)", std::move(notes));
    }
    const std::string key(setting.substr(0, colon));
    const std::string value(setting.substr(colon + 1));
    const SimgridOption* o = find_option(key);
    if (!o) {
      std::vector<std::string> notes;
      if (const auto refused = refused_keys().find(key); refused != refused_keys().end()) {
        notes.push_back("dtsim does not pass " + key + " on: " + refused->second);
        notes.push_back("dtsim accepts: " + join(allowed_keys()));
        return fail("SimGrid option '" + key + "' is not on dtsim's allow-list", std::move(notes));
      }
      if (const auto near = did_you_mean(key, allowed_keys()); !near.empty())
        notes.push_back("did you mean '" + near + "'?");
      notes.push_back("dtsim accepts: " + join(allowed_keys()));
      return fail("unknown SimGrid option '" + key + "'", std::move(notes));
    }
    if (const auto seen = cfg_.find(key); seen != cfg_.end())
      return fail(key + " is set twice", {"first set by '" + shortened(seen->second.first) + "'; set it once"});
    if (!check_value(*o, value)) return;
    cfg_[key] = {arg_, value};
    if (o->changes_timing) out.timing.emplace_back(key, value);
  }

  bool check_value(const SimgridOption& o, const std::string& value) {
    std::vector<std::string> notes;
    if (o.type == "boolean") {
      if (parse_bool(value)) return true;
      fail("'" + value + "' is not a boolean; " + expected_text(o));
      return false;
    }
    if (o.type == "choice") {
      if (std::find(o.choices.begin(), o.choices.end(), value) != o.choices.end()) return true;
      notes.push_back("valid values are: " + join(o.choices));
      if (const auto near = did_you_mean(value, o.choices); !near.empty())
        notes.push_back("did you mean '" + near + "'?");
      if (!o.limit_reason.empty()) notes.push_back(o.limit_reason);
      fail("unknown value '" + value + "' for " + o.key, std::move(notes));
      return false;
    }
    double v = 0;
    if (o.type == "integer") {
      const auto i = parse_integer(value);
      if (!i) {
        fail("'" + value + "' is not an integer; " + expected_text(o));
        return false;
      }
      v = static_cast<double>(*i);
    } else {
      const auto r = parse_real(value);
      if (!r) {
        fail("'" + value + "' is not a finite number; " + expected_text(o));
        return false;
      }
      v = *r;
    }
    if (v >= o.min && v <= o.max) return true;
    if (!o.limit_reason.empty()) notes.push_back(o.limit_reason);
    fail("'" + value + "' is out of range; " + expected_text(o), std::move(notes));
    return false;
  }

  void check_log(std::string_view setting) {
    if (setting == "no_loc") return;
    const std::string forms =
        "expected --log=CATEGORY.thres:LEVEL, CATEGORY.fmt:FORMAT, CATEGORY.app:APPENDER, CATEGORY.add:on|off or "
        "no_loc (CATEGORY such as root, xbt_cfg, s4u_comm)";
    if (setting.empty()) return fail("no setting; " + forms);
    if (setting.find_first_of(" \t\n'\"\\") != std::string_view::npos)
      return fail("spaces, quotes or backslashes in one setting (SimGrid splits a --log at spaces)",
                  {"give one setting per --simgrid; write a space in a format as %e"});
    const auto dot = setting.find_first_of(".:=");
    if (dot == std::string_view::npos || setting[dot] != '.') return fail("not a log setting; " + forms);
    const std::string_view category = setting.substr(0, dot);
    const bool named = !category.empty() && std::all_of(category.begin(), category.end(),
                                                        [](unsigned char c) { return std::isalnum(c) || c == '_'; });
    if (!named) return fail("no log category name; " + forms, {"a category name has letters, digits and '_'"});
    const auto sep = setting.find_first_of(":=", dot + 1);
    if (sep == std::string_view::npos) return fail("no value; " + forms);
    const std::string what(setting.substr(dot + 1, sep - dot - 1));
    const std::string value(setting.substr(sep + 1));
    if (setting[sep] == '=')
      return fail("the value follows '='; " + forms,
                  {fmt::format("did you mean '--log={}.{}:{}'?", category, what, value)});
    if (what == "thres" || what == "threshold") return check_level(value);
    if (what == "fmt") return check_format(value);
    if (what == "app" || what == "appender") return check_appender(value);
    if (what == "add" || what == "additivity") {
      if (!is_one_of(lower(value), {"0", "1", "yes", "no", "on", "off"}))
        fail("'" + value + "' is not an additivity; expected 0, 1, yes, no, on or off");
      return;
    }
    std::vector<std::string> notes{"valid settings are: thres, fmt, app, add"};
    if (const auto near = did_you_mean(what, log_settings()); !near.empty())
      notes.push_back("did you mean '" + near + "'?");
    fail("unknown log setting '" + what + "'", std::move(notes));
  }

  void check_level(const std::string& level) {
    const auto& levels = log_levels();
    if (std::find(levels.begin(), levels.end(), lower(level)) != levels.end()) return;
    std::vector<std::string> notes{"valid levels are: " + join(levels)};
    if (const auto near = did_you_mean(level, levels); !near.empty()) notes.push_back("did you mean '" + near + "'?");
    fail("unknown log level '" + level + "'", std::move(notes));
  }

  // SimGrid 3.32 aborts when it first lays out a message with an unknown directive (src/xbt/xbt_log_layout_format.cpp);
  // %b and %B are in its help but not in its code.
  void check_format(const std::string& format) {
    const std::string directives = "%necpthPaiFlLMdrm";
    const std::vector<std::string> notes{
        "directives: %m message, %c category, %p priority, %h host, %a actor, %i actor id, %F file, %l location, "
        "%L line, %M function, %d or %r simulated time, %n newline, %e space, %% percent; an optional width and "
        ".precision of at most 3 digits each"};
    if (format.empty()) return fail("empty log format", notes);
    for (std::size_t i = 0; i < format.size(); ++i) {
      if (format[i] != '%') continue;
      std::size_t j = i + 1, width = 0, precision = 0;
      while (j < format.size() && std::isdigit(static_cast<unsigned char>(format[j]))) ++j, ++width;
      if (j < format.size() && format[j] == '.') {
        ++j;
        while (j < format.size() && std::isdigit(static_cast<unsigned char>(format[j]))) ++j, ++precision;
      }
      if (j >= format.size()) return fail("the log format ends inside a '%' directive", notes);
      if (directives.find(format[j]) == std::string::npos)
        return fail(fmt::format("unknown log format directive '%{}'", format[j]), notes);
      if (width > 3 || precision > 3) return fail("a log format width or precision of more than 3 digits", notes);
      i = j;
    }
  }

  void check_appender(const std::string& appender) {
    const std::vector<std::string> forms{
        "appenders: stdout, stderr, file:PATH, rollfile:SIZE:PATH (one file of at most SIZE bytes), "
        "splitfile:SIZE:PATH (files of SIZE bytes, '%' in PATH numbers them)"};
    if (appender == "stdout" || appender == "stderr") return;
    std::string path;
    if (appender.starts_with("file:")) {
      path = appender.substr(5);
    } else if (appender.starts_with("rollfile:") || appender.starts_with("splitfile:")) {
      const std::string rest = appender.substr(appender.find(':') + 1);
      const auto colon = rest.find(':');
      const std::string digits = colon == std::string::npos ? "" : rest.substr(0, colon);
      const auto size = std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })
                            ? parse_integer(digits)
                            : std::nullopt;
      if (!size || *size < 1) return fail("no size in bytes (a positive integer) before the log file's path", forms);
      path = rest.substr(colon + 1);
      if (appender.starts_with("splitfile:"))
        if (const auto mark = path.find('%'); mark != std::string::npos) path.replace(mark, 1, "0");
    } else {
      return fail("unknown log appender", forms);
    }
    if (path.empty()) return fail("no log file path", forms);
    check_log_file(path);
  }

  // SimGrid opens the file when the engine starts and aborts if it cannot ("Cannot open file"); an existing FIFO
  // would block it.
  void check_log_file(const std::string& path) {
    const auto slash = path.rfind('/');
    const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    struct stat st {};
    if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return fail("the log file's folder '" + shortened(folder) + "' does not exist");
    if (::access(folder.c_str(), W_OK | X_OK) != 0)
      return fail("the log file's folder '" + shortened(folder) + "' is not writable");
    if (::stat(path.c_str(), &st) == 0) {
      if (!S_ISREG(st.st_mode))
        return fail("the log file '" + shortened(path) + "' is not a regular file",
                    {"use app:stdout or app:stderr for a stream"});
      if (::access(path.c_str(), W_OK) != 0) return fail("the log file '" + shortened(path) + "' is not writable");
    }
  }

  std::string arg_;  // the argument being checked
  // key -> (its argument, its value), for the combinations and the duplicates
  std::map<std::string, std::pair<std::string, std::string>> cfg_;
};

}  // namespace

const std::vector<SimgridOption>& simgrid_allow_list() {
  static const std::vector<SimgridOption> table = build_allow_list();
  return table;
}

const std::string& simgrid_log_help() {
  static const std::string text =
      "--log=CATEGORY.thres:LEVEL    LEVEL: trace, debug, verbose, info, warning, error or critical\n"
      "--log=CATEGORY.fmt:FORMAT     %m message, %c category, %p priority, %h host, %a actor, %r time, %n, %e, "
      "%%\n"
      "--log=CATEGORY.app:APPENDER   stdout, stderr, file:PATH, rollfile:SIZE:PATH, splitfile:SIZE:PATH\n"
      "--log=CATEGORY.add:on|off     whether the category also logs through its parent's appender\n"
      "--log=no_loc                  no source locations in messages\n"
      "CATEGORY: root (every category), xbt_cfg, s4u_comm, ...; one setting per --simgrid\n";
  return text;
}

CheckedSimgridArgs check_simgrid_args(const std::vector<std::string>& raw) {
  Checker checker;
  for (const auto& arg : raw) checker.check(arg);
  checker.check_combinations();
  checker.errors.throw_if_any();
  checker.out.args = raw;
  return checker.out;
}

void check_simgrid_against_network_model(const CheckedSimgridArgs& checked, NetworkModel model) {
  if (model != NetworkModel::analytic) return;
  ErrorList errors;
  for (const auto& [key, value] : checked.timing)
    if (key == "network/model" || key == "network/crosstraffic" || key == "network/TCP-gamma")
      errors.add({{kCommandLine, 0, 0},
                  "--simgrid",
                  "'--cfg=" + shortened(key + ":" + value) + "' conflicts with platform.network_model: analytic",
                  {"analytic sets network/model:CM02, network/crosstraffic:0 and network/TCP-gamma:1e30 itself; use "
                   "network_model: flow to choose them"}});
  errors.throw_if_any();
}

}  // namespace dtsim::engine
