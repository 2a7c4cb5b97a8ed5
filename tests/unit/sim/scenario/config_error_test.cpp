#include "sim/scenario/config_error.hpp"

#include <doctest/doctest.h>

using namespace dtsim;

TEST_SUITE("scenario") {
  TEST_CASE("format_diagnostic: writes the GCC form with key path and one line per note") {
    const Diagnostic d{{"a.yaml", 7, 12}, "platform.clients.speed", "'5' needs a unit", {"valid units are: Gf", "x"}};

    const std::string text = format_diagnostic(d);

    CHECK(text ==
          "a.yaml:7:12: error: platform.clients.speed: '5' needs a unit\n  note: valid units are: Gf\n  note: x");
  }

  TEST_CASE("format_diagnostic: omits an unknown line and column and an empty key path") {
    const Diagnostic no_position{{"a.yaml", 0, 0}, "", "cannot read scenario file", {}};
    const Diagnostic no_column{{"a.yaml", 3, 0}, "seed", "bad", {}};

    CHECK(format_diagnostic(no_position) == "a.yaml: error: cannot read scenario file");
    CHECK(format_diagnostic(no_column) == "a.yaml:3: error: seed: bad");
  }

  TEST_CASE("ErrorList: throws nothing when empty and one ConfigError holding every diagnostic otherwise") {
    ErrorList empty;
    ErrorList two;
    two.add({{"f", 1, 1}, "a", "first", {}});
    two.add({{"f", 2, 1}, "b", "second", {}});

    CHECK_NOTHROW(empty.throw_if_any());
    try {
      two.throw_if_any();
      FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
      CHECK(e.diagnostics().size() == 2);
      CHECK(std::string(e.what()) == "f:1:1: error: a: first\nf:2:1: error: b: second");
    }
  }

  TEST_CASE("ConfigError: a bare message becomes one diagnostic without a position") {
    const ConfigError e("--set x: expected KEY=VALUE");

    CHECK(e.diagnostics().size() == 1);
    CHECK(std::string(e.what()) == "error: --set x: expected KEY=VALUE");
  }

  TEST_CASE("did_you_mean: suggests the nearest candidate, ignoring case") {
    const std::vector<std::string> keys{"platform", "workload", "training", "policies"};

    CHECK(did_you_mean("platfrom", keys) == "platform");
    CHECK(did_you_mean("TRAINING", keys) == "training");
    CHECK(did_you_mean("polices", keys) == "policies");
  }

  TEST_CASE("did_you_mean: suggests nothing beyond max(2, length/3) edits") {
    const std::vector<std::string> names{"fedavg", "fedprox"};

    CHECK(did_you_mean("fedav", names) == "fedavg");  // 1 edit
    CHECK(did_you_mean("krum", names).empty());       // 6 edits
    CHECK(did_you_mean("", names).empty());
    CHECK(did_you_mean("ab", {"xy"}) == "xy");  // 2 edits are allowed even for short words
    CHECK(did_you_mean("abc", {"xyz"}).empty());
  }

  TEST_CASE("ErrorList: keeps the first 100 diagnostics and counts the rest, which what() mentions") {
    ErrorList many;
    for (int i = 0; i < 150; ++i) many.add({{"f", i + 1, 1}, "k", "bad " + std::to_string(i), {}});

    CHECK(many.items().size() == ErrorList::kMaxKept);
    CHECK(many.omitted() == 50);
    try {
      many.throw_if_any();
      FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
      CHECK(e.diagnostics().size() == 100);
      CHECK(e.diagnostics().back().message == "bad 99");
      CHECK(e.omitted() == 50);
      CHECK(std::string(e.what()).ends_with("f:100:1: error: k: bad 99\n... and 50 more errors"));
    }
  }

  TEST_CASE("did_you_mean: a word far longer than every candidate costs no quadratic work and suggests nothing") {
    const std::string long_word(1 << 20, 'x');

    CHECK(did_you_mean(long_word, {"platform", "workload"}).empty());
    CHECK(did_you_mean("platform" + std::string(2, 'x'), {"platform"}) == "platform");
  }

  TEST_CASE("format_diagnostic: a warning reads 'warning:' where an error reads 'error:'") {
    Diagnostic d{{"a.yaml", 2, 5}, "workload.local.lr", "'2' is above 1", {"x"}, Severity::warning};
    const Diagnostic bare{{"", 0, 0}, "", "odd", {}, Severity::warning};

    CHECK(format_diagnostic(d) == "a.yaml:2:5: warning: workload.local.lr: '2' is above 1\n  note: x");
    CHECK(format_diagnostic(bare) == "warning: odd");
  }

  TEST_CASE("ErrorList: keeps warnings apart; throw_if_any throws only errors unless strict") {
    ErrorList only_warnings;
    only_warnings.add({{"f", 3, 1}, "b", "suspicious", {}, Severity::warning});
    only_warnings.add({{"f", 1, 1}, "a", "odd", {}, Severity::warning});
    ErrorList mixed = only_warnings;
    mixed.add({{"f", 2, 1}, "c", "bad", {}});

    CHECK(only_warnings.empty());
    CHECK_NOTHROW(only_warnings.throw_if_any());
    REQUIRE(only_warnings.warnings().size() == 2);
    CHECK(only_warnings.warnings()[0].key_path == "a");  // in file order
    try {
      mixed.throw_if_any();
      FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == "f:2:1: error: c: bad");
      CHECK(e.warnings().size() == 2);
    }
    try {
      only_warnings.throw_if_any(true);
      FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
      REQUIRE(e.diagnostics().size() == 2);
      CHECK(e.diagnostics()[0].severity == Severity::error);
      CHECK(std::string(e.what()) ==
            "f:1:1: error: a: odd\n  note: a warning, made an error by --strict\n"
            "f:3:1: error: b: suspicious\n  note: a warning, made an error by --strict");
    }
  }

  TEST_CASE("ErrorList: warnings have their own cap and never crowd out errors") {
    ErrorList list;
    for (int i = 0; i < 150; ++i)
      list.add({{"f", i + 1, 1}, "w", "warning " + std::to_string(i), {}, Severity::warning});
    list.add({{"f", 1, 1}, "e", "the error", {}});

    CHECK(list.items().size() == 1);
    CHECK(list.omitted() == 0);
    CHECK(list.warnings().size() == ErrorList::kMaxKept);
    CHECK(list.omitted_warnings() == 50);
  }

  TEST_CASE("in_file_order: sorts by file in order of first appearance, line and column, stably; command line last") {
    const std::vector<Diagnostic> found{{{"<command line>", 1, 2}, "k", "set 2", {}},
                                        {{"b.yaml", 5, 1}, "k", "b5", {}},
                                        {{"a.yaml", 9, 3}, "k", "a9", {}},
                                        {{"b.yaml", 2, 7}, "k", "b2", {}},
                                        {{"<command line>", 1, 1}, "k", "set 1", {}},
                                        {{"b.yaml", 2, 7}, "k", "b2 again", {}},
                                        {{"a.yaml", 0, 0}, "k", "a", {}}};

    const auto sorted = in_file_order(found);

    std::vector<std::string> messages;
    for (const auto& d : sorted) messages.push_back(d.message);
    CHECK(messages == std::vector<std::string>{"b2", "b2 again", "b5", "a", "a9", "set 1", "set 2"});
  }

  TEST_CASE("escape_control: terminal escapes, C1 and bidi controls and invalid UTF-8 become visible escapes") {
    CHECK(escape_control("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m");
    CHECK(escape_control("a\tb\r\nc\x7f") == "a\\x09b\\x0d\\x0ac\\x7f");
    CHECK(escape_control(std::string("nul\0end", 7)) == "nul\\x00end");
    CHECK(escape_control("\xc2\x9b"
                         "2J") == "\\u009b2J");                            // C1 CSI
    CHECK(escape_control("left\xe2\x80\xaeright") == "left\\u202eright");  // RIGHT-TO-LEFT OVERRIDE
    CHECK(escape_control("bad\xff\xc3") == "bad\\xff\\xc3");               // invalid and truncated UTF-8
    CHECK(escape_control("caf\xc3\xa9 \xf0\x9f\x9a\x80 C:\\path") == "caf\xc3\xa9 \xf0\x9f\x9a\x80 C:\\path");
  }

  TEST_CASE("format_diagnostic: control characters in every field are escaped, its own layout is kept") {
    const Diagnostic d{{"x\x1b.yaml", 1, 2}, "k\x1b", "'\x1b[2J' is bad", {"n\x1b"}};

    const std::string text = format_diagnostic(d);

    CHECK(text == "x\\x1b.yaml:1:2: error: k\\x1b: '\\x1b[2J' is bad\n  note: n\\x1b");
    CHECK(std::string(ConfigError({d}).what()).find('\x1b') == std::string::npos);
  }

  TEST_CASE("shortened: long text is cut at a character boundary and says its length") {
    const std::string long_text = std::string(99, 'a') + "\xc3\xa9" + std::string(100, 'b');

    CHECK(shortened("short") == "short");
    CHECK(shortened(long_text) == std::string(99, 'a') + "... (201 bytes)");
  }
}
