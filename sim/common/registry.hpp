// One registry template for every family of named components (policies, datasets, partitioners,
// models, platform builders, paradigms): an explicit list of {name, description, parameters, factory}
// (STYLE: static self-registration is dropped by the linker in static libraries, so each family keeps
// its list in one builtin.cpp). A lookup that fails records "unknown <family> '<name>'" with the valid
// names and a did-you-mean; entries() feeds `dtsim list` and the contract tests, which loop over
// every entry.
//
// Factories take (Params&, const Context&): Params is the component's own mapping of the scenario
// (it reports misspelt keys), Context what the rest of the run already knows (a BuildContext for
// policies). sim/common is header-only and depends on nothing else of dtsim, so Params is only
// declared here; make() is a template so its body is compiled where Params is complete.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dtsim {

class Params;
// Defined in sim/scenario/config_error.cpp (every caller of make() links it, for Params).
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// One documented parameter of a component, for `dtsim list` and docs/scenario.md.
struct ParamDoc {
  std::string name;
  std::string default_value;  // as YAML text; "required" when there is none
  std::string description;    // with the unit and the range
};

template <class Product, class Context>
struct RegistryEntry {
  std::string name;
  std::string description;  // one line; a policy names its paper
  std::vector<ParamDoc> params;
  std::function<std::unique_ptr<Product>(Params&, const Context&)> make;
};

template <class Product, class Context>
class Registry {
 public:
  using Entry = RegistryEntry<Product, Context>;

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

  // Builds the named component from `params` (its mapping, whose "name" key is already read). On an
  // unknown name records a located error at "<params path>.name" and returns nullptr. Does not call
  // params.finish(): the caller does, once every reader of the mapping has run.
  template <class P>
  std::unique_ptr<Product> make(const std::string& name, P& params, const Context& context) const {
    const auto* entry = find(name);
    if (!entry) {
      std::vector<std::string> notes{"valid values are: " + join(names())};
      if (auto near = did_you_mean(name, names()); !near.empty()) notes.push_back("did you mean '" + near + "'?");
      params.error("name", "unknown " + family_ + " '" + name + "'", std::move(notes));
      return nullptr;
    }
    return entry->make(params, context);
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
