// libFuzzer target: parse_quantity (every unit kind), parse_override, did_you_mean, escape_control and the
// --simgrid checker (each line one argument) on arbitrary text.
// Expected: nullopt with a reason, or ConfigError. Anything else (another exception, a sanitizer report,
// a timeout, a negative/NaN/infinite quantity, a failure without a reason, a control character left in an
// escaped text or a message, an accepted --simgrid argument that SimGrid would split or misread) is a bug.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sim/engine/simgrid_options.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/units.hpp"

namespace {

void require(bool ok, const char* what, std::string_view text) {
  if (ok) return;
  std::fprintf(stderr, "units_fuzz: %s for input '%.*s'\n", what, static_cast<int>(text.size()), text.data());
  std::abort();
}

// True when escape_control would change nothing in `text`, apart from the newlines `newlines_allowed` permits.
bool printable(std::string_view text, bool newlines_allowed) {
  for (std::size_t start = 0;;) {
    const std::size_t end = newlines_allowed ? text.find('\n', start) : std::string_view::npos;
    const std::string_view line = text.substr(start, end == std::string_view::npos ? end : end - start);
    if (dtsim::escape_control(line) != line) return false;
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dtsim;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const UnitKind kind : {UnitKind::flop_rate, UnitKind::data_rate, UnitKind::time, UnitKind::data_size}) {
    std::string why;
    std::vector<std::string> notes;
    const auto value = parse_quantity(text, kind, &why, &notes);
    if (value) {
      require(std::isfinite(*value) && *value >= 0, "a quantity that is negative, NaN or infinite", text);
      require(!std::signbit(*value), "a quantity of -0", text);
    } else {
      require(!why.empty(), "a rejected quantity without a reason", text);
    }
    require(parse_quantity(text, kind).has_value() == value.has_value(), "a result that depends on `why`", text);
  }
  try {
    const Override o = parse_override(std::string(text));
    require(!o.key_path.empty(), "an override with an empty key", text);
  } catch (const ConfigError&) {
  }
  (void)did_you_mean(std::string(text), {"flop_rate", "Gbps", "clients_per_round", ""});

  const std::string escaped = escape_control(text);
  require(printable(escaped, false), "escape_control left a control character or invalid UTF-8", text);
  require(escape_control(escaped) == escaped, "escape_control is not idempotent", text);
  const std::string cut = shortened(text);
  require(cut == text || (cut.size() <= 140 && text.starts_with(cut.substr(0, cut.find("... (")))),
          "shortened is not a short prefix", text);

  std::vector<std::string> args;
  for (std::size_t start = 0; start <= text.size() && args.size() < 8;) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    args.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  try {
    const auto checked = engine::check_simgrid_args(args);
    require(checked.args == args, "check_simgrid_args changed its arguments", text);
    for (const auto& a : checked.args) {
      require(a.starts_with("--cfg=") || a.starts_with("--log="),
              "an accepted argument that is neither --cfg nor --log", text);
      require(a.find_first_of(" \t\r\n") == std::string::npos && printable(a, false),
              "an accepted argument with a space or a control character", text);
    }
    for (const auto& setting : checked.timing) {
      const auto& list = engine::simgrid_allow_list();
      require(std::any_of(list.begin(), list.end(),
                          [&setting](const auto& o) { return o.key == setting.first && o.changes_timing; }),
              "a reported timing key that is not a timing key of the allow-list", text);
    }
  } catch (const ConfigError& e) {
    require(!e.diagnostics().empty(), "a refusal without a diagnostic", text);
    require(printable(e.what(), true), "a message with a control character", text);
  }
  return 0;
}
