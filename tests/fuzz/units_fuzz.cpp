// libFuzzer target: parse_quantity (every unit kind), parse_override and did_you_mean on arbitrary text.
// Expected: nullopt with a reason, or ConfigError. Anything else (another exception, a sanitizer report,
// a timeout, a negative/NaN/infinite quantity, a failure without a reason) is a bug.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/units.hpp"

namespace {

void require(bool ok, const char* what, std::string_view text) {
  if (ok) return;
  std::fprintf(stderr, "units_fuzz: %s for input '%.*s'\n", what, static_cast<int>(text.size()), text.data());
  std::abort();
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
  return 0;
}
