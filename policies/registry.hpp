// One registry template for every policy family: an explicit list of {name, description, parameters,
// factory} (static self-registration is dropped by the linker in static libraries). Lookups by name
// fail with the valid names and a did-you-mean; entries() feeds `dtsim list` and the contract tests.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/scenario/params.hpp"

namespace dtsim::policies {

struct ParamDoc {
  std::string name;
  std::string default_value;  // as YAML text; "required" when there is none
  std::string description;
};

template <class Policy>
struct RegistryEntry {
  std::string name;
  std::string description;  // one line, with the paper
  std::vector<ParamDoc> params;
  // Reads the policy's parameters through Params (which reports misspelt keys); errors are collected
  // in the Params context.
  std::function<std::unique_ptr<Policy>(Params&)> make;
};

template <class Policy>
class Registry {
 public:
  explicit Registry(std::string family, std::vector<RegistryEntry<Policy>> entries)
      : family_(std::move(family)), entries_(std::move(entries)) {}

  const std::string& family() const { return family_; }
  const std::vector<RegistryEntry<Policy>>& entries() const { return entries_; }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.name);
    return out;
  }
  const RegistryEntry<Policy>* find(const std::string& name) const {
    for (const auto& e : entries_)
      if (e.name == name) return &e;
    return nullptr;
  }
  // Builds the named policy from `params` (a mapping whose "name" key is already read). On an unknown
  // name records a located error at "<params path>.name" and returns nullptr; calls params.finish().
  std::unique_ptr<Policy> make(const std::string& name, Params& params) const {
    const auto* entry = find(name);
    if (!entry) {
      std::vector<std::string> notes{"valid values are: " + join(names())};
      if (auto near = did_you_mean(name, names()); !near.empty()) notes.push_back("did you mean '" + near + "'?");
      params.error("name", "unknown " + family_ + " policy '" + name + "'", std::move(notes));
      return nullptr;
    }
    auto policy = entry->make(params);
    params.finish();
    return policy;
  }

 private:
  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }
  std::string family_;
  std::vector<RegistryEntry<Policy>> entries_;
};

}  // namespace dtsim::policies
