// Params: a typed, checked view of one YAML mapping (DESIGN principle 5).
//
// Every getter (a) validates the value and records a located Diagnostic on error instead of
// throwing, so loading reports all errors at once; (b) marks the key as read; (c) writes the
// resolved value (the given text, or the default) into the resolved tree that becomes run.yaml.
// finish() reports every key present in the mapping that no getter asked for: with the scenario schema
// in use (ParamsContext::use_schema), a planned key is "not implemented yet", a built key of another
// variant "applies only when ...", and anything else an "unknown key" with a did-you-mean. Getters return
// a usable fallback (the default, or a zero value) after an error so loading can continue and find
// further errors.
//
// Two families of getters: the spec-driven ones (`get_int(key)`) take type, unit, default, range,
// suspicious range and status from the schema entry at `<this view's path>.<key>` (schema.hpp); the
// explicit ones (`get_int(key, def, min, max)`) take them as arguments, for parameters outside the
// schema (a policy's, read by its factory).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/distribution.hpp"
#include "sim/scenario/schema.hpp"
#include "sim/scenario/units.hpp"

namespace dtsim {

// One --set argument: errors about what it gave point at it.
struct OverrideOrigin {
  std::string key_path;  // "training.rounds"
  std::string arg;       // "--set training.rounds=0", quoted in a note of each such error
  Location where;        // "<command line>", line 1, column = 1-based index of the override
};

// Limits a physical quantity must keep beyond its sign (SI units), where values outside them cannot be
// simulated (e.g. SimGrid's solver fails on links slower than about 0.4 bps). Every explicit value is
// checked: a constant, a uniform's ends, a choice's values, a normal's mean, a lognormal's median.
// `min_text` and `max_text` are the limits as a user writes them ("1bps"); `reason` becomes a note.
struct QuantityLimits {
  double min = 0;
  double max = std::numeric_limits<double>::max();
  std::string min_text, max_text;
  std::string reason;
};

// State shared by every Params view of one scenario document.
struct ParamsContext {
  std::string file;                       // scenario path, for locations
  ErrorList errors;                       // everything found so far, errors and warnings apart
  YAML::Node resolved;                    // the resolved tree (map), written by getters
  std::vector<OverrideOrigin> overrides;  // one per --set argument, in order (column = index + 1)
  // The key paths the --set arguments gave (replaced, added or removed with `key=null`), each with the index
  // of its argument in `overrides`: a mapping given to --set is merged key by key, so one argument may give
  // several keys, and a later argument may take a key from an earlier one. Errors at a path or below it
  // point at its argument.
  std::map<std::string, std::size_t> override_paths;
  YAML::Node root;          // the document after --set, so report_at can locate any key path
  bool use_schema = false;  // check keys against the scenario schema (schema.hpp) in finish()
  bool strict = false;      // --strict: warnings are errors (finish_validation, load_scenario)
};

// Records a diagnostic about `key_path` ("workload.dataset.path", "workload.model.hidden[1]") found after
// loading (data files read, memory estimated), located like the loader's own: at the key's value, at the
// --set override that gave it, else at the nearest mapping above it that exists, else at the file.
void report_at(ParamsContext& ctx, Severity severity, const std::string& key_path, std::string message,
               std::vector<std::string> notes = {});

// How a node reads in a message: "a mapping", "a list", "'text'" or "no value".
std::string describe_node(const YAML::Node& node);

class Params {
 public:
  // A view of `node` (a map, or null/absent treated as an empty map) at `key_path` ("" for root).
  Params(std::shared_ptr<ParamsContext> ctx, YAML::Node node, std::string key_path);

  const std::string& key_path() const { return path_; }
  bool has(const std::string& key) const;
  // The keys of this mapping, in file order (for mappings whose keys the user names: host classes).
  std::vector<std::string> keys() const;
  Location location() const;                        // of this mapping
  Location location(const std::string& key) const;  // of key's value (falls back to the mapping)

  // Spec-driven getters: everything from the schema entry of `<key_path()>.<key>` (its default, range,
  // unit, limits, suspicious range, the status of its values). A key whose default is "none" reads as
  // absent: the getter records nothing and returns a zero value (check has() first). A planned value of
  // a choice, or a value other than `only_built`, is "not implemented yet".
  std::string get_string(const std::string& key);  // string and path keys
  std::string get_choice(const std::string& key);
  std::int64_t get_int(const std::string& key);
  double get_double(const std::string& key);
  bool get_bool(const std::string& key);
  double get_quantity(const std::string& key);
  std::vector<std::int64_t> get_int_list(const std::string& key);
  Distribution get_distribution(const std::string& key);
  // Whether `key` belongs to the variant chosen so far: every condition of its schema entry holds on the
  // values already resolved (workload.partition.alpha only when name is dirichlet). True without schema.
  bool applies(const std::string& key) const;

  // Explicit getters. `def` = nullopt means the key is required.
  std::string get_string(const std::string& key, std::optional<std::string> def);
  // A name from `valid`; unknown names list the valid ones and suggest the nearest.
  std::string get_choice(const std::string& key, const std::vector<std::string>& valid, std::optional<std::string> def);
  // Integers reject fractions ("2.5"), NaN, and values outside [min, max].
  std::int64_t get_int(const std::string& key, std::optional<std::int64_t> def, std::int64_t min, std::int64_t max);
  // Finite reals in [min, max].
  double get_double(const std::string& key, std::optional<double> def, double min, double max);
  bool get_bool(const std::string& key, std::optional<bool> def);
  // A physical quantity with a mandatory unit, > 0 unless allow_zero, within `limits` when given; def is
  // the default's text ("1Gbps").
  double get_quantity(const std::string& key, UnitKind kind, std::optional<std::string> def, bool allow_zero = false,
                      const QuantityLimits* limits = nullptr);
  // A list of integers, each in [min, max].
  std::vector<std::int64_t> get_int_list(const std::string& key, std::optional<std::vector<std::int64_t>> def,
                                         std::int64_t min, std::int64_t max);
  // A distribution (or a bare value = constant). unit = nullopt for unitless values. Every drawable
  // value must be > 0 when `positive` (speeds, bandwidths, ...), and its explicit values within `limits`
  // when given; a lognormal's sigma is at most 10. def is YAML text ("20ms", "{dist: ...}").
  Distribution get_distribution(const std::string& key, std::optional<UnitKind> unit, std::optional<std::string> def,
                                bool positive, const QuantityLimits* limits = nullptr);

  // A nested mapping. Absent -> an empty view (its getters then apply defaults); present but not
  // a map -> an error. The child is marked read.
  Params child(const std::string& key);

  // Marks a key as accepted and ignored (e.g. the provenance block of run.yaml).
  void ignore(const std::string& key);
  // Adds a located error about `key` (or this mapping when key is empty).
  void error(const std::string& key, const std::string& message, std::vector<std::string> notes = {});
  // Adds a located warning (suspicious but valid) about `key` (or this mapping when key is empty).
  void warn(const std::string& key, const std::string& message, std::vector<std::string> notes = {});

  // Reports every present key that no getter read (planned, of another variant, or unknown). Idempotent.
  void finish();

  ParamsContext& context() { return *ctx_; }

 private:
  std::shared_ptr<ParamsContext> ctx_;
  YAML::Node node_;
  std::string path_;
  std::vector<std::string> asked_;  // every key a getter asked for (present or not)
  bool finished_ = false;
  Location fallback_;  // where errors point when this mapping has no position (absent, or made by --set)
  // (implementation helpers live in params.cpp)
  friend struct ParamsAccess;
};

}  // namespace dtsim
