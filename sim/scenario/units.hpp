// Strict physical units. Every physical quantity in a scenario carries a unit; a bare number where a
// unit is required is an error. Values are returned in SI base units:
//   flop_rate  -> flops per second   ("5Gf", "1.5Tf", "100Mf", "2f"; also "5Gflops")
//   data_rate  -> bytes per second   ("20Mbps" bits, "1.25MBps" bytes, "1Gbps", "10kbps"; decimal prefixes,
//                                     and binary byte rates "1KiBps", "2MiBps", "1GiBps")
//   time       -> seconds            ("30ms", "5us", "10ns", "2s", "20m" or "20min", "2h", "1d")
//   data_size  -> bytes              ("10MB", "1.5GB", "512kB", "1KiB", "2MiB"; bytes only)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dtsim {

enum class UnitKind { flop_rate, data_rate, time, data_size };

// e.g. "a flop rate such as 5Gf or 1.5Tf"
std::string unit_expectation(UnitKind kind);

// Parses text as a quantity of `kind`: a decimal or scientific number (optional leading '+'), at most
// one space, then a unit, case-sensitive ("5Gf", "5 Gf", "1.5e3Mbps"). Returns nullopt and sets `why`
// on any error (missing unit, unknown unit, not a number, negative, NaN, infinite or out of range);
// `notes` then receives the valid units and a did-you-mean where one helps.
std::optional<double> parse_quantity(std::string_view text, UnitKind kind, std::string* why = nullptr,
                                     std::vector<std::string>* notes = nullptr);

}  // namespace dtsim
