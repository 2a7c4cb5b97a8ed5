#include "sim/scenario/yaml_reader.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace dtsim;

namespace {

// "[[[...]]]" nested `depth` deep.
std::string flow_nesting(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// A block mapping nested `depth` deep: "k0:\n k1:\n  k2: ...".
std::string block_nesting(int depth) {
  std::string text;
  for (int i = 0; i < depth; ++i)
    text += std::string(static_cast<std::size_t>(i), ' ') + "k" + std::to_string(i) + ":\n";
  return text + std::string(static_cast<std::size_t>(depth), ' ') + "leaf\n";
}

// "Billion laughs": each anchor lists `fanout` aliases of the one before, `levels` deep.
std::string alias_bomb(int levels, int fanout) {
  std::string text = "a0: &a0 [x]\n";
  for (int i = 1; i <= levels; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < fanout; ++j) text += (j ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  return text;
}

}  // namespace

TEST_SUITE("scenario") {
  TEST_CASE("read_yaml: a plain document parses into one mapping") {
    const auto read = read_yaml("a: 1\nb: [1, 2]\n");

    REQUIRE_FALSE(read.problem);
    REQUIRE(read.documents.size() == 1);
    CHECK(read.documents[0]["b"].size() == 2);
  }

  TEST_CASE("read_yaml: nesting up to the limit parses, one level more is refused where it starts") {
    const auto at_limit = read_yaml("a: " + flow_nesting(63));  // + the root mapping = 64 levels
    const auto over = read_yaml("a: " + flow_nesting(64));

    CHECK_FALSE(at_limit.problem);
    REQUIRE(over.problem);
    CHECK(over.problem->line == 1);
    CHECK(over.problem->column == 4 + 63);  // the 64th '[' (the root mapping is level 1)
    CHECK(over.problem->message == "lists and mappings nest more than 64 levels deep; a scenario needs a few");
  }

  TEST_CASE("read_yaml: 100000 nested brackets or 2000 nested block mappings do not overflow the stack") {
    const auto flow = read_yaml(flow_nesting(100'000));
    std::string dashes;
    for (int i = 0; i < 100'000; ++i) dashes += "- ";
    const auto sequences = read_yaml(dashes + "x\n");
    const auto block = read_yaml(block_nesting(2000));

    REQUIRE(flow.problem);
    CHECK(flow.problem->column == 65);
    REQUIRE(sequences.problem);
    REQUIRE(block.problem);
    CHECK(block.problem->line == 65);
    CHECK(block.problem->message.find("nest more than 64 levels") != std::string::npos);
  }

  TEST_CASE("read_yaml: an alias bomb is refused at the alias that crosses the node limit") {
    const auto read = read_yaml(alias_bomb(9, 10));  // 10^9 nodes once expanded, 200 bytes of text

    REQUIRE(read.problem);
    // Expanded sizes: a0 2, a1 21, a2 211, a3 2111, a4 21111 nodes; 23464 before a5's list, whose fourth
    // alias brings the total to 107908.
    CHECK(read.problem->line == 6);
    CHECK(read.problem->column == 25);
    CHECK(read.problem->key_path == "a5[3]");
    CHECK(read.problem->message.find("document too large once aliases are expanded: alias '*a4'") == 0);
    CHECK(read.problem->notes.size() == 1);
  }

  TEST_CASE("read_yaml: small anchors and aliases still work, and expand to shared copies") {
    const auto read = read_yaml("base: &b {speed: 5Gf, latency: 20ms}\nfast: *b\nlist: [*b, *b]\n");

    REQUIRE_FALSE(read.problem);
    const YAML::Node& root = read.documents.at(0);
    CHECK(root["fast"]["speed"].Scalar() == "5Gf");
    CHECK(root["list"][1]["latency"].Scalar() == "20ms");
  }

  TEST_CASE("read_yaml: a node limit counts expanded aliases, so a bomb one below it is accepted") {
    YamlLimits limits;
    limits.max_nodes = 125;  // root, k1, a1's list and its 10 items, k2, k2's list and 10 copies of a1's 11 nodes
    const std::string text =
        "k1: &a1 [x, x, x, x, x, x, x, x, x, x]\nk2: [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\n";

    const auto fits = read_yaml(text, limits);
    limits.max_nodes -= 1;
    const auto over = read_yaml(text, limits);

    CHECK_FALSE(fits.problem);
    REQUIRE(over.problem);
    CHECK(over.problem->line == 2);
    CHECK(over.problem->column == 51);  // the last '*a1'
  }

  TEST_CASE("read_yaml: an alias inside its own anchor's node (a cycle) is refused") {
    const auto map = read_yaml("platform: &p {clients: *p}\n");
    const auto list = read_yaml("a: &l [1, [2, *l]]\n");

    REQUIRE(map.problem);
    CHECK(map.problem->message == "alias '*p' refers to a node that contains it (a cycle)");
    CHECK(map.problem->column == 24);
    REQUIRE(list.problem);
    CHECK(list.problem->message.find("alias '*l'") == 0);
  }

  TEST_CASE("read_yaml: a scalar over the length limit is refused at its start") {
    const auto read = read_yaml("a: ok\nname: " + std::string(5000, 'x') + "\n");

    REQUIRE(read.problem);
    CHECK(read.problem->line == 2);
    CHECK(read.problem->column == 7);
    CHECK(read.problem->message == "a value of 5000 bytes is too long; at most 4 KiB are accepted");
    CHECK(read.problem->key_path == "name");
  }

  TEST_CASE("read_yaml: more than max_nodes keys, even without aliases, are refused") {
    std::string text = "[";
    for (int i = 0; i < 100'001; ++i) text += "1,";
    text += "1]";

    const auto read = read_yaml(text);

    REQUIRE(read.problem);
    CHECK(read.problem->message.find("holds more than 100000 keys and values") != std::string::npos);
  }

  TEST_CASE("check_yaml_text: size, NUL and other control characters, invalid UTF-8, UTF-16") {
    YamlLimits small;
    small.max_bytes = 16;

    const auto big = check_yaml_text(std::string(17, 'a'), small);
    const auto nul = check_yaml_text(std::string("a: 1\nb: x\0y\n", 12));
    const auto eot = check_yaml_text("a: \x04\n");
    const auto del = check_yaml_text("a: \x7f\n");
    const auto bad = check_yaml_text("a: caf\xc3\n");
    const auto overlong = check_yaml_text("a: \xc0\xaf\n");
    const auto surrogate = check_yaml_text("a: \xed\xa0\x80\n");
    const auto utf16 =
        check_yaml_text(std::string("\xff\xfe"
                                    "a\0:\0",
                                    6));

    REQUIRE(big);
    CHECK(big->line == 0);
    CHECK(big->message == "the scenario is 17 bytes; at most 16 bytes is accepted");
    REQUIRE(nul);
    CHECK(nul->line == 2);
    CHECK(nul->column == 5);
    CHECK(nul->message == "control character U+0000 (NUL) is not allowed in YAML text");
    REQUIRE(eot);
    CHECK(eot->message == "control character U+0004 is not allowed in YAML text");
    CHECK(del);
    REQUIRE(bad);
    CHECK(bad->column == 7);
    CHECK(bad->message == "invalid UTF-8 (byte 0xc3); a scenario must be UTF-8 text");
    CHECK(overlong);
    CHECK(surrogate);
    REQUIRE(utf16);
    CHECK(utf16->notes.at(0).find("UTF-16") != std::string::npos);
  }

  TEST_CASE("check_yaml_text: UTF-8 text with tabs, CRLF, accents and emoji passes") {
    CHECK_FALSE(check_yaml_text("\xef\xbb\xbfname: caf\xc3\xa9 \xf0\x9f\x9a\x80\r\nseed:\t1\n"));
  }

  TEST_CASE("read_yaml: yaml-cpp's own errors come back located, never thrown") {
    const auto read = read_yaml("a: [1, 2\nb: 3\n");
    const auto undefined = read_yaml("a: *nowhere\n");

    REQUIRE(read.problem);
    CHECK(read.problem->message.find("invalid YAML: ") == 0);
    CHECK(read.problem->line == 2);
    REQUIRE(undefined.problem);
    CHECK(undefined.problem->message.find("invalid YAML: the referenced anchor is not defined") == 0);
  }

  TEST_CASE("read_yaml: any explicit tag is refused where it stands, with its key path") {
    struct Case {
      const char* text;
      const char* tag;
      int line, column;
      const char* path;
    };
    for (const Case& c :
         {Case{"a: !mytag x\n", "'!mytag'", 1, 4, "a"},
          Case{"a: !!python/object:os.system x\n", "'!!python/object:os.system'", 1, 4, "a"},
          Case{"a: 1\nb: !!float 2\n", "'!!float'", 2, 4, "b"}, Case{"a: !!str 5\n", "'!!str'", 1, 4, "a"},
          Case{"a: !t\nb: 1\n", "'!t'", 1, 4, "a"}, Case{"a: [1, !t 2]\n", "'!t'", 1, 8, "a[1]"},
          Case{"a: {b: !t [1]}\n", "'!t'", 1, 8, "a.b"}, Case{"!t {a: 1}\n", "'!t'", 1, 1, ""},
          Case{"a: !<tag:yaml.org,2002:int> 1\n", "'!!int'", 1, 4, "a"},
          Case{"%TAG ! tag:example.com,2000:\n---\na: !foo x\n", "'!<tag:example.com,2000:foo>'", 3, 4, "a"}}) {
      CAPTURE(c.text);

      const auto read = read_yaml(c.text);

      REQUIRE(read.problem);
      CHECK(read.documents.empty());
      CHECK(read.problem->message ==
            std::string("YAML tag ") + c.tag + " is not accepted; a scenario holds plain values");
      CHECK(read.problem->line == c.line);
      CHECK(read.problem->column == c.column);
      CHECK(read.problem->key_path == c.path);
      CHECK_FALSE(read.problem->notes.empty());
    }
  }

  TEST_CASE("read_yaml: quoted values, the non-specific tag '!' and anchors are not tags") {
    const auto read = read_yaml("a: \"x\"\nb: 'y'\nc: ! z\nd: &k [1]\ne: *k\n");

    REQUIRE_FALSE(read.problem);
    CHECK(read.documents[0]["c"].Scalar() == "z");
  }
}
