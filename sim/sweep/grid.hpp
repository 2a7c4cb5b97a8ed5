// The points of a sweep (dtsim sweep --grid / --zip / --seeds): parsed from the command line and expanded
// in a stable order. Pure functions: no files, no processes, no SimGrid.
//
//   --grid KEY=VALUES           one axis: VALUES is a YAML flow sequence (`[[200], [64, 32]]`,
//                               `[{name: fedavg}, {name: fedprox, mu: 0.01}]`) or a plain `v1,v2,v3` list
//                               of scalars (each read as YAML, as --set reads a value);
//   --zip K1=VALUES,K2=VALUES   one axis whose keys advance together (lists of one length); in the plain
//                               form a token holding '=' starts the next key;
//   --seeds A-B (or A)          the innermost axis: `seed` = A, A+1, ..., B.
// Points are the product of the axes in command-line order, the first slowest and the seeds fastest
// (so a configuration's seeds are neighbours), numbered from 0.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace dtsim::sweep {

struct Axis {
  std::string origin;                           // the argument as given ("--grid 'a=[1,2]'"), for messages
  std::vector<std::string> keys;                // one for --grid; the zipped keys for --zip
  std::vector<std::vector<YAML::Node>> values;  // values[step][k]: the value of keys[k] at this step
};

// Throw ConfigError naming the argument ("--grid 'a=[1,2': ...").
Axis parse_grid(const std::string& arg);
Axis parse_zip(const std::string& arg);
std::vector<std::int64_t> parse_seeds(const std::string& arg);

struct Point {
  std::int64_t index = 0;
  std::vector<std::string> origins;                        // per param: "--grid" or "--zip", for messages
  std::string folder;                                      // "0003-fedprox_0.01-s2", unique in the sweep
  std::vector<std::pair<std::string, YAML::Node>> params;  // the swept keys (--grid, --zip) in axis order
  std::optional<std::int64_t> seed;                        // from --seeds
};

// Every point, in order. Throws ConfigError when a key is swept twice, when --seeds is given and `seed`
// is also swept, when a key is also given by `set_keys` (--set), or when there is nothing to sweep.
std::vector<Point> expand(const std::vector<Axis>& axes, const std::vector<std::int64_t>& seeds,
                          const std::vector<std::string>& set_keys = {});

// The swept keys, in axis order (runs.csv's param.<key> columns).
std::vector<std::string> swept_keys(const std::vector<Axis>& axes);

// The --set overrides that make `point` from the scenario: each swept key's value, the seed, and the
// `sweep` key ({point, params}) that gives the run its run_id and param columns.
std::vector<Override> point_overrides(const Point& point);

// The folder name's tail for a value: its scalars joined by '_', outside [A-Za-z0-9.+-] replaced by '_'
// ("{name: fedprox, mu: 0.01}" -> "fedprox_0.01"), at most 24 bytes.
std::string short_value(const YAML::Node& value);

}  // namespace dtsim::sweep
