// One registry template for every family of named components (policies, datasets, partitioners,
// models, platform builders, paradigms): an explicit list of {name, description, parameters, factory}
// (STYLE: static self-registration is dropped by the linker in static libraries, so each family keeps
// its list in one builtin.cpp). entries() feeds `dtsim list` and the contract tests, which loop over
// every entry.
//
// The factory's signature is the family's: policies take (Params&, const BuildContext&) — Params is
// the policy's own mapping of the scenario, which reports misspelt keys; components whose keys live in
// the schema table (sim/scenario/schema.cpp) take their resolved spec. sim/common is header-only and
// depends on nothing else of dtsim, so Params is only declared here; lookup() is a template so its body
// is compiled where Params is complete.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace dtsim {

// Defined in sim/scenario/config_error.cpp (every caller of lookup() links it, for Params).
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// One documented parameter of a component, for `dtsim list` and docs/scenario.md.
struct ParamDoc {
  std::string name;
  std::string default_value;  // as YAML text; "required" when there is none
  std::string description;    // with the unit and the range
};

template <class Signature>
class Registry;

template <class Product, class... Args>
class Registry<std::unique_ptr<Product>(Args...)> {
 public:
  struct Entry {
    std::string name;
    std::string description;  // one line; a policy names its paper
    std::vector<ParamDoc> params;
    std::function<std::unique_ptr<Product>(Args...)> make;
  };

  Registry(std::string family, std::vector<Entry> entries) : family_(std::move(family)), entries_(std::move(entries)) {}

  const std::string& family() const { return family_; }
  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.name);
    return out;
  }
  const Entry* find(const std::string& name) const {
    for (const auto& e : entries_)
      if (e.name == name) return &e;
    return nullptr;
  }
  // The entry of a name the schema already accepted; a miss is a defect (schema and registry disagree).
  const Entry& at(const std::string& name) const {
    if (const auto* e = find(name)) return *e;
    throw std::logic_error("no " + family_ + " named '" + name + "' is registered (registered: " + join(names()) + ")");
  }
  // The entry for a name the user wrote in `params` (a mapping whose "name" key is already read). On an
  // unknown name records a located error at "<params path>.name" ("unknown <family> 'x'", the valid
  // names, a did-you-mean) and returns nullptr.
  template <class P>
  const Entry* lookup(const std::string& name, P& params) const {
    if (const auto* e = find(name)) return e;
    std::vector<std::string> notes{"valid values are: " + join(names())};
    if (auto near = did_you_mean(name, names()); !near.empty()) notes.push_back("did you mean '" + near + "'?");
    params.error("name", "unknown " + family_ + " '" + name + "'", std::move(notes));
    return nullptr;
  }

 private:
  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }
  std::string family_;
  std::vector<Entry> entries_;
};

}  // namespace dtsim
