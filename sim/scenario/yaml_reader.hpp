// Reading untrusted YAML text within fixed limits, so that no scenario can crash or hang the loader
// (DESIGN principle 5).
//
// yaml-cpp 0.7 builds an alias as a second reference to its anchor's node, so a few hundred bytes can
// hold a graph that any tree walk expands exponentially ("billion laughs"), or a cycle (`&a [*a]`) that
// a walk never leaves; its parser also recurses once per nesting level. read_yaml() therefore
//   1. checks the raw text: its size, that it is UTF-8, and that it holds no control characters;
//   2. parses it once into events only, counting the nodes with every alias expanded, the nesting
//      depth and each scalar's length, and stops the parser at the first limit crossed (so it never
//      recurses deeper than max_depth + 1 levels) or at an alias to a node that contains it;
//   3. only then builds the node tree (YAML::LoadAll), which is now small, shallow and acyclic.
// Every problem is located (1-based line and column, in bytes, as yaml-cpp counts them).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dtsim {

struct YamlLimits {
  std::size_t max_bytes = std::size_t{4} << 20;  // 4 MiB: a scenario is a few kB
  int max_depth = 64;                            // nested lists and mappings; a scenario uses about 5
  std::size_t max_nodes = 100'000;               // keys and values, every alias expanded
  std::size_t max_scalar_bytes = 4096;           // PATH_MAX; no value in a scenario needs more
};

struct YamlProblem {
  int line = 0;          // 1-based; 0 when the problem concerns the whole text
  int column = 0;        // 1-based; 0 when unknown
  std::string key_path;  // where in the tree ("platform.clients.speed"), when known
  std::string message;
  std::vector<std::string> notes;
};

// The parsed documents of `text`, or the first problem found (then `documents` is empty).
struct YamlRead {
  std::vector<YAML::Node> documents;
  std::optional<YamlProblem> problem;
};

// Never throws for any input text (yaml-cpp's own errors come back as a problem "invalid YAML: ...").
YamlRead read_yaml(std::string_view text, const YamlLimits& limits = {});

// Step 1 alone: the size, encoding and control-character checks of the raw text.
std::optional<YamlProblem> check_yaml_text(std::string_view text, const YamlLimits& limits = {});

}  // namespace dtsim
