// Strict physical units. Every physical quantity in a scenario carries a unit; a bare number where a
// unit is required is an error. Values are returned in SI base units:
//   flop_rate  -> flops per second   ("5Gf", "1.5Tf", "100Mf", "2f"; also "5Gflops")
//   data_rate  -> bytes per second   ("20Mbps" bits, "1.25MBps" bytes, "1Gbps", "10kbps"; decimal prefixes)
//   time       -> seconds            ("30ms", "5us", "10ns", "2s", "20m" or "20min", "2h", "1d")
//   data_size  -> bytes              ("10MB", "1.5GB", "512kB", "1KiB", "2MiB", "8b" bits? no: "B" only)
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dtsim {

enum class UnitKind { flop_rate, data_rate, time, data_size };

// e.g. "a flop rate such as 5Gf or 1.5Tf"
std::string unit_expectation(UnitKind kind);

// Parses text as a quantity of `kind`. Returns nullopt and sets `why` on any error (missing unit,
// unknown unit, not a number, negative, NaN or infinite).
std::optional<double> parse_quantity(std::string_view text, UnitKind kind, std::string* why = nullptr);

}  // namespace dtsim
