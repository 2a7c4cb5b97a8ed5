// Params: a typed, checked view of one YAML mapping (DESIGN principle 5).
//
// Every getter (a) validates the value and records a located Diagnostic on error instead of
// throwing, so loading reports all errors at once; (b) marks the key as read; (c) writes the
// resolved value (the given text, or the default) into the resolved tree that becomes run.yaml.
// finish() reports every key present in the mapping that no getter asked for ("unknown key", with a
// did-you-mean among the keys that were asked for). Getters return a usable fallback (the default,
// or a zero value) after an error so loading can continue and find further errors.
//
// Factories (policies, models, datasets) read their parameters through Params, then call finish().
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/distribution.hpp"
#include "sim/scenario/schema.hpp"
#include "sim/scenario/units.hpp"

namespace dtsim {

// A value set on the command line: errors about it (or anything below its key path) point here.
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
  std::string file;        // scenario path, for locations
  ErrorList errors;        // everything found so far
  YAML::Node resolved;     // the resolved tree (map), written by getters
  std::vector<OverrideOrigin> overrides;
  bool strict = false;
};
// TEMP shim until the schema work lands.
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
  Location location() const;                      // of this mapping
  Location location(const std::string& key) const;  // of key's value (falls back to the mapping)

  // Scalars. `def` = nullopt means the key is required.
  std::string get_string(const std::string& key, std::optional<std::string> def);
  // A name from `valid`; unknown names list the valid ones and suggest the nearest.
  std::string get_choice(const std::string& key, const std::vector<std::string>& valid,
                         std::optional<std::string> def);
  // Integers reject fractions ("2.5"), NaN, and values outside [min, max].
  std::int64_t get_int(const std::string& key, std::optional<std::int64_t> def, std::int64_t min,
                       std::int64_t max);
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

  // A key of the v1 schema whose feature is not built yet: an error "not implemented yet" if present.
  void not_implemented(const std::string& key, const std::string& what = "");
  // Marks a key as accepted and ignored (e.g. the provenance block of run.yaml).
  void ignore(const std::string& key);
  // Adds a located error about `key` (or this mapping when key is empty).
  void error(const std::string& key, const std::string& message, std::vector<std::string> notes = {});

  // Reports every present key that no getter read. Idempotent.
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
