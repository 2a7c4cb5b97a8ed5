// dtsim's allow-list of SimGrid options (`dtsim run --simgrid ARG`), checked before SimGrid's engine exists.
//
// SimGrid 3.32 checks little of its own command line: several of its option callbacks abort the process on
// values its registry accepts (network/model:Bogus, maxmin/precision:1e300, contexts/factory:Raw), others
// crash or hang it later (contexts/stack-size:1 segfaults, surf/precision:0 never ends), unknown keys make
// the run fail after its output folder exists, and bare arguments (--help) end the process with exit 0.
// So dtsim passes on only the options in this table, each with a type and a range measured with SimGrid
// 3.32 on dtsim's own platforms (the measurements are listed in simgrid_options.cpp), plus `--log=` settings
// whose syntax is checked here. Checking needs no SimGrid call.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace dtsim::engine {

// One option dtsim passes on as `--cfg=KEY:VALUE`.
struct SimgridOption {
  std::string key;              // SimGrid's name, "surf/precision"
  std::string type;             // "real", "integer", "boolean" or "choice"
  std::string range;            // as a user reads it: "1e-12 to 0.1 (s)", "raw | ucontext | boost | thread"
  bool changes_timing = false;  // a value other than the default may change simulated times (run.yaml records it)
  std::string help;             // one line
  std::string default_value;    // SimGrid's default, as text ("1e-09"; "set by network/model" when it depends)
  // What the checker accepts: real and integer values within [min, max]; choice values exactly as listed
  // (case-sensitive, as SimGrid compares them); booleans as SimGrid spells them (1 0 yes no on off true false).
  double min = 0;
  double max = 0;
  std::vector<std::string> choices;
  std::string limit_reason;  // a note on an out-of-range value: what SimGrid 3.32 does beyond the range
};

// Every option on the allow-list, sorted by key.
const std::vector<SimgridOption>& simgrid_allow_list();

// The accepted `--log=` forms, one per line, for `dtsim list`.
const std::string& simgrid_log_help();

struct CheckedSimgridArgs {
  std::vector<std::string> args;                            // to pass to SimGrid, as given
  std::vector<std::pair<std::string, std::string>> timing;  // key, value of every timing-changing --cfg (run.yaml)
};

// Checks every argument of `raw` (each one --simgrid value): `--cfg=KEY:VALUE` with KEY on the allow-list and
// VALUE of its type and within its range (one setting per argument, each key at most once), or
// `--log=CATEGORY.thres:LEVEL` | `CATEGORY.fmt:FORMAT` | `CATEGORY.app:APPENDER` | `CATEGORY.add:BOOL` |
// `no_loc`; combinations SimGrid 3.32 aborts on or silently ignores are refused too. An `.app:` file appender
// is checked against the file system (its folder must exist and be writable; an existing file must be a
// regular one). Throws ConfigError listing every bad argument, each a Diagnostic located at
// {"<command line>", 0, 0} with key_path "--simgrid" and notes (the valid keys or values, a did-you-mean,
// the range and why). Returns the arguments unchanged, and the timing-changing --cfg settings in order.
CheckedSimgridArgs check_simgrid_args(const std::vector<std::string>& raw);

// The --cfg keys that `platform.network_model: analytic` sets itself (network/model, network/crosstraffic,
// network/TCP-gamma, via configure_network_model after the engine is created): with analytic they would be
// overridden silently, so giving one is an error. Throws ConfigError (located like check_simgrid_args) listing
// them; does nothing under `flow`.
void check_simgrid_against_network_model(const CheckedSimgridArgs& checked, NetworkModel model);

}  // namespace dtsim::engine
