// The scenario schema: every key path of DESIGN's v1 tree in one table, with its type, unit, default,
// range, help and status (built, or planned: rejected with "not implemented yet", never ignored).
//
// The loader (scenario.cpp) reads every key through this table (Params' spec-driven getters), so a
// default, a range or a unit is written once, here. `dtsim list` prints schema_text() and
// docs/scenario.md is schema_markdown(); both are rendered from the table and deterministic.
//
// Key paths are dotted ("platform.clients.speed"); a "*" segment stands for a name the user chooses
// (platform.host_classes.*.weight). The fields of a distribution ({dist: ..., min: ...}) are not keys of
// their own: Distribution (distribution.hpp) documents them.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/scenario/units.hpp"

namespace dtsim {

enum class KeyType {
  integer,       // plain integer text; no fraction, no exponent
  real,          // a finite number
  boolean,       // true | false
  string,        // free text
  path,          // a file or folder; relative paths resolve against the scenario's folder
  choice,        // one name out of `values`
  quantity,      // a number with a mandatory unit of `unit`
  distribution,  // a bare value (constant) or {dist: ...}; with `unit`, or unitless when unit is nullopt
  int_list,      // a list of integers, each within `range`
  mapping,       // a nested mapping of the keys below it
  any,           // anything; accepted and not read (the provenance block of run.yaml)
};

enum class KeyStatus { built, planned };

// How a key's absence reads.
enum class DefaultKind {
  value,     // `default_text`, YAML text as a user would write it ("1Gbps", "[200]")
  required,  // an error
  none,      // the feature is off ("absent = wait for all")
  computed,  // derived at load time; `default_text` says how ("the file's stem")
};

struct ChoiceValue {
  std::string name;
  KeyStatus status = KeyStatus::built;
  std::string help;
};

// The key applies only when the choice key at `key` (a full path) holds one of `values`.
struct Condition {
  std::string key;
  std::vector<std::string> values;
};

// A default that replaces `default_text` when `when` holds (partition.name is natural for synthetic).
struct ConditionalDefault {
  Condition when;
  std::string value;
};

// Accepted values, in SI units (an integer key's ends are integers). Ends are closed unless marked open.
// `min_text`/`max_text` are the ends as a user writes them ("1bps"); when set, a value beyond them reads
// "is below 1bps, the least accepted" with `reason` as a note (limits of what can be simulated).
struct Range {
  static constexpr double kInf = std::numeric_limits<double>::infinity();
  double min = -kInf;
  double max = kInf;
  bool min_open = false;
  bool max_open = false;
  std::string min_text, max_text;
  std::string reason;
};

// Valid but probably a mistake: a value below `below` or above `above` (SI units) gets a warning
// "'5m' is above 10s; <reason>". For distributions every explicit value is checked.
struct Suspicious {
  std::optional<double> below, above;
  std::string below_text, above_text;
  std::string reason;
};

struct KeySpec {
  std::string path;
  KeyType type = KeyType::mapping;
  std::optional<UnitKind> unit;  // quantity; distribution (nullopt = unitless)
  DefaultKind default_kind = DefaultKind::none;
  std::string default_text;
  std::vector<ConditionalDefault> default_when;
  Range range;
  std::string help;  // one line, with units
  KeyStatus status = KeyStatus::built;
  std::optional<Suspicious> suspicious;
  std::vector<ChoiceValue> values;  // choice: every v1 value, each with its status
  std::vector<Condition> when;      // all must hold for the key to apply
  // choice: how a value is named in "topology 'fat_tree' is not implemented yet" and in the note
  // "implemented topologies: star".
  std::string noun, nouns;
  // A planned key whose one value `only_built` is accepted already (dropout: 0); others are "not
  // implemented yet".
  std::optional<std::string> only_built;
  // A mapping whose further keys belong to a component (a policy's parameters, read by its factory).
  bool open = false;

  // The built values of a choice key, in table order.
  std::vector<std::string> built_values() const;
  const ChoiceValue* value(std::string_view name) const;
};

// Every key, parents before their children, in DESIGN's order.
const std::vector<KeySpec>& schema();

// The entry of `path` ("platform.host_classes.phone.weight" matches "platform.host_classes.*.weight"),
// or null.
const KeySpec* find_key(std::string_view path);

// The entries directly below `parent` ("" for the top level), in table order.
std::vector<const KeySpec*> schema_children(std::string_view parent);

// Every key, one per line, aligned: path, type (unit), default, range, status, help; the values of
// choice keys on their own lines below it. Planned keys and values are marked "planned".
std::string schema_text();

// A markdown reference of every key (a table per top-level section) with the built and planned values of
// choice keys, for docs/scenario.md.
std::string schema_markdown();

// "a time (s)", "a distribution of flop rates (flops/s)", "an integer", ... for messages and rendering.
std::string type_text(const KeySpec& key);
// "[1, 1000000000]", "(0, 1e+06]", "1bps..1d", "" when unbounded; SI units.
std::string range_text(const KeySpec& key);

}  // namespace dtsim
