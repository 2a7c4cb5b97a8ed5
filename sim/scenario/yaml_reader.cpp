#include "sim/scenario/yaml_reader.hpp"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include <cstdint>
#include <sstream>
#include <string_view>

#include "sim/scenario/config_error.hpp"

namespace dtsim {

namespace {

std::string size_text(std::size_t bytes) {
  if (bytes >= (std::size_t{1} << 20) && bytes % (std::size_t{1} << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (std::size_t{1} << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

YamlProblem at(const YAML::Mark& mark, std::string message, std::vector<std::string> notes = {}) {
  if (mark.is_null()) return {0, 0, "", std::move(message), std::move(notes)};
  return {mark.line + 1, mark.column + 1, "", std::move(message), std::move(notes)};
}

// YAML 1.2's printable set (c-printable), as code points.
bool printable(char32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0x7E) || cp == 0x85 ||
         (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// Thrown by the counter to stop the parser at the first limit crossed.
struct Stop {
  YamlProblem problem;
};

// Counts the nodes of each document with every alias expanded, its nesting depth and its scalars'
// lengths, from the parser's events, and follows the key path; throws Stop at the first limit crossed.
class Counter final : public YAML::EventHandler {
 public:
  explicit Counter(const YamlLimits& limits) : limits_(limits) {}

  void OnDocumentStart(const YAML::Mark& /*mark*/) override {
    anchor_names_.clear();
    anchor_sizes_.clear();
    open_.clear();
  }
  void OnDocumentEnd() override {}

  void OnAnchor(const YAML::Mark& /*mark*/, const std::string& name) override {
    // yaml-cpp numbers a document's anchors 1, 2, ... in the order of these calls.
    anchor_names_.push_back(name);
    anchor_sizes_.push_back(0);  // 0 = its node is not complete yet
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    begin_node();
    add(1, mark);
    complete(anchor, 1);
    end_node("");
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    begin_node();
    check_tag(mark, tag);
    if (value.size() > limits_.max_scalar_bytes)
      stop(mark, fmt::format("a value of {} is too long; at most {} are accepted", size_text(value.size()),
                             size_text(limits_.max_scalar_bytes)));
    add(1, mark);
    complete(anchor, 1);
    end_node(value);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    begin_node();
    const std::string name = anchor >= 1 && anchor <= anchor_names_.size() ? anchor_names_[anchor - 1] : "";
    const std::size_t size = anchor >= 1 && anchor <= anchor_sizes_.size() ? anchor_sizes_[anchor - 1] : 1;
    if (size == 0)
      stop(mark, "alias '*" + name + "' refers to a node that contains it (a cycle)",
           {"an alias may only repeat a node that is complete before it"});
    add(size, mark, &name);
    end_node("*" + name);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    open(mark, tag, anchor, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    open(mark, tag, anchor, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    std::size_t nodes = 0;  // this collection and everything in it so far, aliases expanded
    YAML::anchor_t anchor = YAML::NullAnchor;
    bool map = false;
    bool key_next = true;   // map: the next node is a key
    bool in_key = false;    // map: the node being read is a key
    std::string key;        // map: the key of the value being read
    std::size_t index = 0;  // list: the index of the item being read
  };

  // The key path of the node being read ("platform.clients[2].speed").
  std::string path() const {
    std::string out;
    for (const auto& o : open_) {
      if (o.map && o.in_key) break;  // the node is a key: its mapping's path locates it
      if (o.map)
        out += (out.empty() ? "" : ".") + o.key;
      else
        out += "[" + std::to_string(o.index) + "]";
    }
    return out;
  }

  [[noreturn]] void stop(const YAML::Mark& mark, std::string message, std::vector<std::string> notes = {}) {
    YamlProblem problem = at(mark, std::move(message), std::move(notes));
    problem.key_path = path();
    throw Stop{std::move(problem)};
  }

  // yaml-cpp gives an untagged node the non-specific tag "?" (plain scalars, collections) or "!" (quoted
  // scalars); anything else was written in the text ("!!float", "!mytag", "!!python/object:os.system"). The
  // loader reads every value by its key's type and would drop a tag in silence, so a tag is an error.
  void check_tag(const YAML::Mark& mark, const std::string& tag) {
    if (tag.empty() || tag == "?" || tag == "!") return;
    constexpr std::string_view kCore = "tag:yaml.org,2002:";
    const std::string shown = tag.starts_with(kCore) ? "!!" + tag.substr(kCore.size())
                              : tag.starts_with('!') ? tag
                                                     : "!<" + tag + ">";
    stop(mark, "YAML tag '" + shortened(shown) + "' is not accepted; a scenario holds plain values",
         {"remove the tag: each key's type says how its value is read (quote a value to keep it text)"});
  }

  void begin_node() {
    if (!open_.empty() && open_.back().map && open_.back().key_next) open_.back().in_key = true;
  }

  // `text`: the node's scalar text, which names the value that follows when the node is a key.
  void end_node(const std::string& text) {
    if (open_.empty()) return;
    Open& parent = open_.back();
    if (!parent.map) {
      ++parent.index;
    } else if (parent.in_key) {
      parent.key = text;
      parent.in_key = false;
      parent.key_next = false;
    } else {
      parent.key_next = true;
    }
  }

  // `alias` names the alias that brought `n` nodes, when one did.
  void add(std::size_t n, const YAML::Mark& mark, const std::string* alias = nullptr) {
    total_ += n;
    if (!open_.empty()) open_.back().nodes += n;
    if (total_ <= limits_.max_nodes) return;
    if (alias)
      stop(mark,
           fmt::format("document too large once aliases are expanded: alias '*{}' brings it past {} keys and values",
                       *alias, limits_.max_nodes),
           {"each alias stands for a whole copy of its anchor's node, so anchors that repeat anchors grow "
            "exponentially"});
    stop(mark, fmt::format("the document holds more than {} keys and values; a scenario needs a few hundred",
                           limits_.max_nodes));
  }

  void complete(YAML::anchor_t anchor, std::size_t nodes) {
    if (anchor >= 1 && anchor <= anchor_sizes_.size()) anchor_sizes_[anchor - 1] = nodes;
  }

  void open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, bool map) {
    begin_node();
    check_tag(mark, tag);
    if (static_cast<int>(open_.size()) >= limits_.max_depth)
      stop(mark,
           fmt::format("lists and mappings nest more than {} levels deep; a scenario needs a few", limits_.max_depth));
    add(1, mark);
    Open entry;
    entry.nodes = 1;
    entry.anchor = anchor;
    entry.map = map;
    open_.push_back(std::move(entry));
  }

  void close() {
    if (open_.empty()) return;
    const std::size_t nodes = open_.back().nodes;
    const YAML::anchor_t anchor = open_.back().anchor;
    open_.pop_back();
    if (!open_.empty()) open_.back().nodes += nodes;
    complete(anchor, nodes);
    end_node("");
  }

  const YamlLimits& limits_;
  std::size_t total_ = 0;  // over every document
  std::vector<Open> open_;
  std::vector<std::string> anchor_names_;
  std::vector<std::size_t> anchor_sizes_;
};

}  // namespace

std::optional<YamlProblem> check_yaml_text(std::string_view text, const YamlLimits& limits) {
  if (text.size() > limits.max_bytes)
    return YamlProblem{
        0,
        0,
        "",
        fmt::format("the scenario is {}; at most {} is accepted", size_text(text.size()), size_text(limits.max_bytes)),
        {}};
  int line = 1, column = 1;
  auto problem = [&](std::string message, std::vector<std::string> notes = {}) {
    return YamlProblem{line, column, "", std::move(message), std::move(notes)};
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 1;
    char32_t cp = lead;
    if (lead >= 0x80) {
      length = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
      bool valid = length != 0 && i + length <= text.size();
      cp = length == 2 ? lead & 0x1F : length == 3 ? lead & 0x0F : lead & 0x07;
      for (std::size_t k = 1; valid && k < length; ++k) {
        const auto next = static_cast<unsigned char>(text[i + k]);
        valid = (next & 0xC0) == 0x80;
        cp = (cp << 6) | (next & 0x3F);
      }
      const char32_t least = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
      if (!valid || cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        std::vector<std::string> notes;
        if (i == 0 && text.size() >= 2 && ((lead == 0xFF && text[1] == '\xFE') || (lead == 0xFE && text[1] == '\xFF')))
          notes.emplace_back("the file starts with a UTF-16 byte-order mark; save it as UTF-8");
        return problem(fmt::format("invalid UTF-8 (byte 0x{:02x}); a scenario must be UTF-8 text", lead),
                       std::move(notes));
      }
    }
    if (!printable(cp))
      return problem(fmt::format("control character U+{:04X}{} is not allowed in YAML text", static_cast<unsigned>(cp),
                                 cp == 0 ? " (NUL)" : ""),
                     {"is this a binary file?"});
    if (cp == '\n') {
      ++line;
      column = 1;
    } else {
      column += static_cast<int>(length);
    }
    i += length;
  }
  return std::nullopt;
}

YamlRead read_yaml(std::string_view text, const YamlLimits& limits) {
  YamlRead out;
  if ((out.problem = check_yaml_text(text, limits))) return out;
  const std::string copy(text);
  try {
    {
      std::istringstream in(copy);
      YAML::Parser parser(in);
      Counter counter(limits);
      while (parser.HandleNextDocument(counter)) {
      }
    }
    out.documents = YAML::LoadAll(copy);
  } catch (const Stop& stop) {
    out.documents.clear();
    out.problem = stop.problem;
  } catch (const YAML::Exception& e) {
    out.documents.clear();
    out.problem = at(e.mark, "invalid YAML: " + e.msg);
  }
  return out;
}

}  // namespace dtsim
