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
}
