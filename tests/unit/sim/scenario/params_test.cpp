#include "sim/scenario/params.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>

using namespace dtsim;

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

// A Params view of the root of `yaml`, as if read from "test.yaml".
struct Doc {
  std::shared_ptr<ParamsContext> ctx;
  Params root;
  explicit Doc(const std::string& yaml) : ctx(make_ctx()), root(ctx, YAML::Load(yaml), "") {}
  static std::shared_ptr<ParamsContext> make_ctx() {
    auto ctx = std::make_shared<ParamsContext>();
    ctx->file = "test.yaml";
    return ctx;
  }
  const std::vector<Diagnostic>& errors() const { return ctx->errors.items(); }
  // Every diagnostic, formatted, one per line.
  std::string text() const {
    std::string out;
    for (const auto& d : errors()) out += format_diagnostic(d) + "\n";
    return out;
  }
  std::string resolved() const {
    YAML::Emitter e;
    e << YAML::Node(ctx->resolved);
    return e.c_str();
  }
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_SUITE("scenario") {
  TEST_CASE("Params: getters return given values and record them at the full key path") {
    Doc doc("a:\n  b:\n    name: x\n    n: 3\n    r: 0.25\n    on: true\n    t: 30ms\n");
    Params b = doc.root.child("a").child("b");

    const auto name = b.get_string("name", std::nullopt);
    const auto n = b.get_int("n", std::nullopt, 0, 10);
    const auto r = b.get_double("r", std::nullopt, 0, 1);
    const auto on = b.get_bool("on", std::nullopt);
    const auto t = b.get_quantity("t", UnitKind::time, std::nullopt);

    CHECK(doc.errors().empty());
    CHECK(name == "x");
    CHECK(n == 3);
    CHECK(r == 0.25);
    CHECK(on);
    CHECK(t == doctest::Approx(0.03));
    CHECK(doc.ctx->resolved["a"]["b"]["name"].Scalar() == "x");
    CHECK(doc.ctx->resolved["a"]["b"]["n"].Scalar() == "3");
    CHECK(doc.ctx->resolved["a"]["b"]["r"].Scalar() == "0.25");
    CHECK(doc.ctx->resolved["a"]["b"]["on"].Scalar() == "true");
    CHECK(doc.ctx->resolved["a"]["b"]["t"].Scalar() == "30ms");
  }

  TEST_CASE("Params: absent keys give their defaults, recorded as the default's text") {
    Doc doc("{}");
    Params p = doc.root.child("sub");

    const auto n = p.get_int("n", 10, 1, 100);
    const auto r = p.get_double("r", 0.01, 0, 1);
    const auto bw = p.get_quantity("bw", UnitKind::data_rate, "1Gbps");
    const auto hidden = p.get_int_list("hidden", std::vector<std::int64_t>{200}, 1, 1000);

    CHECK(doc.errors().empty());
    CHECK(n == 10);
    CHECK(r == 0.01);
    CHECK(bw == doctest::Approx(1.25e8));
    CHECK(hidden == std::vector<std::int64_t>{200});
    CHECK(doc.resolved() == "sub:\n  n: 10\n  r: 0.01\n  bw: 1Gbps\n  hidden: [200]");
  }

  TEST_CASE("Params: a missing required key is an error located at its mapping") {
    Doc doc("top:\n  other: 1\n");
    Params top = doc.root.child("top");

    top.get_int("count", std::nullopt, 1, 10);
    top.ignore("other");

    REQUIRE(doc.errors().size() == 1);
    CHECK(contains(doc.text(),
                   "test.yaml:2:3: error: top.count: missing required key; expected an integer from 1 to 10"));
  }

  TEST_CASE("Params: a required key below an absent mapping points at the nearest present one") {
    Doc doc("x: 1\nplatform:\n  topology: star\n");
    Params clients = doc.root.child("platform").child("clients");

    clients.get_int("count", std::nullopt, 1, 10);

    CHECK(contains(doc.text(), "test.yaml:3:3: error: platform.clients.count: missing required key"));
  }

  TEST_CASE("Params: unknown keys are reported at their position with did-you-mean and the valid keys") {
    Doc doc("rounds: 5\nclient_per_round: 3\n");

    doc.root.get_int("rounds", 1, 1, 10);
    doc.root.get_int("clients_per_round", 1, 1, 10);
    doc.root.finish();
    doc.root.finish();

    REQUIRE(doc.errors().size() == 1);
    CHECK(doc.text() ==
          "test.yaml:2:1: error: client_per_round: unknown key 'client_per_round'\n"
          "  note: did you mean 'clients_per_round'?\n"
          "  note: valid keys are: rounds, clients_per_round\n");
  }

  TEST_CASE("Params: integers reject fractions, exponents, words and out-of-range values, each located") {
    Doc doc("a: 2.5\nb: 1e3\nc: many\nd: 0\ne: 99999999999999999999\nf: +7\n");

    doc.root.get_int("a", 1, 1, 10);
    doc.root.get_int("b", 1, 1, 10000);
    doc.root.get_int("c", 1, 1, 10);
    doc.root.get_int("d", 1, 1, 10);
    doc.root.get_int("e", 1, 0, kMaxInt);
    const auto f = doc.root.get_int("f", 1, 1, 10);

    const auto text = doc.text();
    INFO(text);
    CHECK(doc.errors().size() == 5);
    CHECK(contains(text, "test.yaml:1:4: error: a: '2.5' is not an integer; expected an integer from 1 to 10"));
    CHECK(contains(text, "test.yaml:2:4: error: b: '1e3' is not an integer"));
    CHECK(contains(text, "test.yaml:3:4: error: c: 'many' is not an integer"));
    CHECK(contains(text, "test.yaml:4:4: error: d: '0' is out of range; expected an integer from 1 to 10"));
    CHECK(contains(text, "test.yaml:5:4: error: e: '99999999999999999999' is out of range; expected an integer >= 0"));
    CHECK(f == 7);
  }

  TEST_CASE("Params: reals reject NaN, infinity, words and out-of-range values") {
    Doc doc("a: .nan\nb: inf\nc: x\nd: 1.5\ne: 1e-3\n");

    doc.root.get_double("a", 0, 0, 1);
    doc.root.get_double("b", 0, 0, 1);
    doc.root.get_double("c", 0, 0, 1);
    doc.root.get_double("d", 0, 0, 1);
    const auto e = doc.root.get_double("e", 0, 0, 1);

    const auto text = doc.text();
    INFO(text);
    CHECK(doc.errors().size() == 4);
    CHECK(contains(text, "a: '.nan' is not a finite number; expected a number from 0 to 1"));
    CHECK(contains(text, "b: 'inf' is not a finite number"));
    CHECK(contains(text, "c: 'x' is not a finite number"));
    CHECK(contains(text, "d: '1.5' is out of range; expected a number from 0 to 1"));
    CHECK(e == 0.001);
  }

  TEST_CASE("Params: booleans are true or false only") {
    Doc doc("a: yes\nb: false\n");

    doc.root.get_bool("a", true);
    const auto b = doc.root.get_bool("b", true);

    CHECK(contains(doc.text(), "test.yaml:1:4: error: a: 'yes' is not a boolean; expected true or false"));
    CHECK(doc.errors().size() == 1);
    CHECK_FALSE(b);
  }

  TEST_CASE("Params: choices list the valid names and suggest the nearest") {
    Doc doc("topology: fat_tre\n");

    const auto t = doc.root.get_choice("topology", {"star", "fat_tree"}, "star");

    CHECK(t == "star");
    CHECK(doc.text() ==
          "test.yaml:1:11: error: topology: unknown value 'fat_tre'\n"
          "  note: valid values are: star, fat_tree\n"
          "  note: did you mean 'fat_tree'?\n");
  }

  TEST_CASE("Params: quantities need a unit and are > 0 unless zero is allowed") {
    Doc doc("speed: 5\nbw: 0Mbps\nlatency: 0ms\nslow: 5GF\n");

    doc.root.get_quantity("speed", UnitKind::flop_rate, "1Gf");
    doc.root.get_quantity("bw", UnitKind::data_rate, "1Gbps");
    const auto latency = doc.root.get_quantity("latency", UnitKind::time, "1ms", true);
    doc.root.get_quantity("slow", UnitKind::flop_rate, "1Gf");

    const auto text = doc.text();
    INFO(text);
    CHECK(doc.errors().size() == 3);
    CHECK(contains(text, "test.yaml:1:8: error: speed: '5' needs a unit"));
    CHECK(contains(text, "test.yaml:2:5: error: bw: '0Mbps' must be > 0"));
    CHECK(contains(text, "test.yaml:4:7: error: slow: unknown unit 'GF' in '5GF'"));
    CHECK(contains(text, "note: did you mean '5Gf'?"));
    CHECK(latency == 0);
  }

  TEST_CASE("Params: a value of the wrong YAML type is an error") {
    Doc doc("name: {a: 1}\nn: [1, 2]\nsub: 5\nhidden: 200\nempty:\n");

    doc.root.get_string("name", "x");
    doc.root.get_int("n", 1, 0, 10);
    doc.root.child("sub");
    doc.root.get_int_list("hidden", std::vector<std::int64_t>{}, 1, 10);
    doc.root.get_int("empty", 1, 0, 10);

    const auto text = doc.text();
    INFO(text);
    CHECK(doc.errors().size() == 5);
    CHECK(contains(text, "test.yaml:1:7: error: name: expected a string, got a mapping"));
    CHECK(contains(text, "test.yaml:2:4: error: n: expected an integer from 0 to 10, got a list"));
    CHECK(contains(text, "test.yaml:3:6: error: sub: expected a mapping, got '5'"));
    CHECK(contains(text, "test.yaml:4:9: error: hidden: expected a list of integers such as [200, 100]"));
    CHECK(contains(text, "test.yaml:5:1: error: empty: expected an integer from 0 to 10, got no value"));
  }

  TEST_CASE("Params: integer lists check each element at its own position") {
    Doc doc("hidden: [200, 0, 2.5]\nempty: []\n");

    const auto hidden = doc.root.get_int_list("hidden", std::nullopt, 1, 1000);
    const auto empty = doc.root.get_int_list("empty", std::nullopt, 1, 1000);

    const auto text = doc.text();
    INFO(text);
    CHECK(doc.errors().size() == 2);
    CHECK(contains(text, "test.yaml:1:15: error: hidden[1]: '0' is out of range; expected an integer from 1 to 1000"));
    CHECK(contains(text, "test.yaml:1:18: error: hidden[2]: '2.5' is not an integer"));
    CHECK(hidden == std::vector<std::int64_t>{200});
    CHECK(empty.empty());
  }

  TEST_CASE("Params: every error is collected, not only the first") {
    Doc doc("a: x\nb: y\nc: z\nd: 1\n");

    doc.root.get_int("a", 1, 0, 10);
    doc.root.get_double("b", 1, 0, 10);
    doc.root.get_bool("c", true);
    doc.root.finish();

    REQUIRE(doc.errors().size() == 4);
    CHECK(doc.errors()[0].key_path == "a");
    CHECK(doc.errors()[1].key_path == "b");
    CHECK(doc.errors()[2].key_path == "c");
    CHECK(doc.errors()[3].key_path == "d");
  }

  TEST_CASE("Params: a value set by --set is located on the command line and names the override") {
    Doc doc("training:\n  rounds: 0\n");
    doc.ctx->overrides.push_back({"seed", "--set seed=2", {"<command line>", 1, 1}});
    doc.ctx->overrides.push_back({"training", "--set training={rounds: 0}", {"<command line>", 1, 2}});
    doc.ctx->override_paths["training.rounds"] = 1;
    Params training = doc.root.child("training");

    training.get_int("rounds", 1, 1, 10);

    CHECK(doc.text() ==
          "<command line>:1:2: error: training.rounds: '0' is out of range; expected an integer from 1 to 10\n"
          "  note: set by --set training={rounds: 0}\n");
  }

  TEST_CASE("Params: a bare value is a constant distribution, recorded as written") {
    Doc doc("speed: 5Gf\n");

    const auto d = doc.root.get_distribution("speed", UnitKind::flop_rate, "1Gf", true);
    const auto latency = doc.root.get_distribution("latency", UnitKind::time, "20ms", false);

    CHECK(doc.errors().empty());
    CHECK(d.kind == Distribution::Kind::constant);
    CHECK(d.value == doctest::Approx(5e9));
    CHECK(latency.value == doctest::Approx(0.02));
    CHECK(doc.resolved() == "speed: 5Gf\nlatency: 20ms");
  }

  TEST_CASE("Params: every distribution kind reads its fields with units") {
    Doc doc(
        "u: {dist: uniform, min: 5Mbps, max: 50Mbps}\n"
        "n: {dist: normal, mean: 2Gf, stddev: 500Mf}\n"
        "l: {dist: lognormal, median: 5Gf, sigma: 0.6}\n"
        "c: {dist: choice, values: [1Gf, 2Gf], weights: [1, 3]}\n"
        "k: {dist: constant, value: 0ms}\n");

    const auto u = doc.root.get_distribution("u", UnitKind::data_rate, std::nullopt, true);
    const auto n = doc.root.get_distribution("n", UnitKind::flop_rate, std::nullopt, true);
    const auto l = doc.root.get_distribution("l", UnitKind::flop_rate, std::nullopt, true);
    const auto c = doc.root.get_distribution("c", UnitKind::flop_rate, std::nullopt, true);
    const auto k = doc.root.get_distribution("k", UnitKind::time, std::nullopt, false);

    CHECK(doc.text() == "");
    CHECK(u.kind == Distribution::Kind::uniform);
    CHECK(u.min == doctest::Approx(6.25e5));
    CHECK(u.max == doctest::Approx(6.25e6));
    CHECK(n.kind == Distribution::Kind::normal);
    CHECK(n.mean == doctest::Approx(2e9));
    CHECK(n.stddev == doctest::Approx(5e8));
    CHECK(l.kind == Distribution::Kind::lognormal);
    CHECK(l.median == doctest::Approx(5e9));
    CHECK(l.sigma == 0.6);
    CHECK(c.kind == Distribution::Kind::choice);
    CHECK(c.values == std::vector<double>{1e9, 2e9});
    CHECK(c.weights == std::vector<double>{1, 3});
    CHECK(k.kind == Distribution::Kind::constant);
    CHECK(k.value == 0);
    CHECK(doc.ctx->resolved["c"]["values"][1].Scalar() == "2Gf");
    CHECK(doc.ctx->resolved["u"]["dist"].Scalar() == "uniform");
  }

  TEST_CASE("Params: a distribution rejects unknown fields, a missing or unknown kind, and wrong types") {
    Doc doc(
        "a: {dist: uniform, min: 1Gf, max: 2Gf, mean: 1Gf}\n"
        "b: {min: 1Gf}\n"
        "c: {dist: gaussian, mean: 1Gf}\n"
        "d: [1Gf]\n");

    doc.root.get_distribution("a", UnitKind::flop_rate, std::nullopt, true);
    doc.root.get_distribution("b", UnitKind::flop_rate, std::nullopt, true);
    doc.root.get_distribution("c", UnitKind::flop_rate, std::nullopt, true);
    doc.root.get_distribution("d", UnitKind::flop_rate, std::nullopt, true);

    const auto text = doc.text();
    INFO(text);
    CHECK(doc.errors().size() == 4);
    CHECK(contains(text,
                   "test.yaml:1:40: error: a.mean: unknown key 'mean'\n  note: did you mean 'min'?\n"
                   "  note: valid keys are: dist, min, max\n"));
    CHECK(contains(text, "test.yaml:2:4: error: b.dist: missing required key"));
    CHECK(contains(text,
                   "test.yaml:3:11: error: c.dist: unknown value 'gaussian'\n"
                   "  note: valid values are: constant, uniform, normal, lognormal, choice"));
    CHECK(contains(text, "test.yaml:4:4: error: d: expected a distribution"));
  }

  TEST_CASE("Params: a distribution checks the relations between its fields") {
    Doc doc(
        "a: {dist: uniform, min: 50Gf, max: 5Gf}\n"
        "b: {dist: lognormal, median: 0Gf, sigma: -1}\n"
        "c: {dist: choice, values: []}\n"
        "d: {dist: choice, values: [1Gf, 2Gf], weights: [1]}\n"
        "e: {dist: choice, values: [1Gf, 2Gf], weights: [0, 0]}\n"
        "f: {dist: choice, values: [1Gf], weights: [-1]}\n"
        "g: {dist: normal, mean: 1Gf, stddev: -1Gf}\n");

    for (const char* key : {"a", "b", "c", "d", "e", "f", "g"})
      doc.root.get_distribution(key, UnitKind::flop_rate, std::nullopt, true);

    const auto text = doc.text();
    INFO(text);
    CHECK(doc.errors().size() == 8);
    CHECK(contains(text, "a.max: max '5Gf' is below min '50Gf'"));
    CHECK(contains(text, "b.median: '0Gf' must be > 0"));
    CHECK(contains(text, "b.sigma: '-1' must be >= 0"));
    CHECK(contains(text, "c.values: a choice needs at least one value"));
    CHECK(contains(text, "d.weights: 1 weights for 2 values"));
    CHECK(contains(text, "e.weights: the weights sum to 0"));
    CHECK(contains(text, "test.yaml:6:44: error: f.weights[0]: '-1' must be >= 0"));
    CHECK(contains(text, "g.stddev: '-1Gf' is negative"));
  }

  TEST_CASE("Params: a positive distribution rejects every drawable value <= 0; others accept 0") {
    Doc doc(
        "a: 0Gf\n"
        "b: {dist: uniform, min: 0Gf, max: 1Gf}\n"
        "c: {dist: normal, mean: 0Gf, stddev: 1Gf}\n"
        "d: {dist: choice, values: [1Gf, 0Gf]}\n"
        "latency: {dist: uniform, min: 0ms, max: 5ms}\n");

    for (const char* key : {"a", "b", "c", "d"})
      doc.root.get_distribution(key, UnitKind::flop_rate, std::nullopt, true);
    const auto latency = doc.root.get_distribution("latency", UnitKind::time, std::nullopt, false);

    const auto text = doc.text();
    INFO(text);
    CHECK(doc.errors().size() == 4);
    CHECK(contains(text, "test.yaml:1:4: error: a: '0Gf' must be > 0"));
    CHECK(contains(text, "b.min: '0Gf' must be > 0"));
    CHECK(contains(text, "c.mean: '0Gf' must be > 0"));
    CHECK(contains(text, "d.values[1]: '0Gf' must be > 0"));
    CHECK(latency.min == 0);
  }

  TEST_CASE("Params: unitless distributions take plain numbers") {
    Doc doc("a: {dist: choice, values: [1, 2, 5]}\nb: -3\nc: 2Gf\n");

    const auto a = doc.root.get_distribution("a", std::nullopt, std::nullopt, true);
    const auto b = doc.root.get_distribution("b", std::nullopt, std::nullopt, false);
    doc.root.get_distribution("c", std::nullopt, std::nullopt, false);

    CHECK(a.values == std::vector<double>{1, 2, 5});
    CHECK(b.value == -3);
    REQUIRE(doc.errors().size() == 1);
    CHECK(contains(doc.text(), "c: '2Gf' is not a finite number"));
  }

  TEST_CASE("Params: '+-' is no sign, and -0 reads as 0") {
    Doc doc("a: +-5\nb: +-1.5\nc: -0\nd: -0.0\n");

    doc.root.get_int("a", 1, -10, 10);
    doc.root.get_double("b", 0, -10, 10);
    const auto c = doc.root.get_int("c", 1, 0, 10);
    const auto d = doc.root.get_double("d", 1, 0, 10);

    const auto text = doc.text();
    INFO(text);
    CHECK(doc.errors().size() == 2);
    CHECK(contains(text, "a: '+-5' is not an integer"));
    CHECK(contains(text, "b: '+-1.5' is not a finite number"));
    CHECK(c == 0);
    CHECK(d == 0);
    CHECK_FALSE(std::signbit(d));
    CHECK(contains(doc.resolved(), "d: 0"));
  }

  TEST_CASE("Params: reals too large or too small for a double are out of range, not 'not a number'") {
    Doc doc("a: 1e400\nb: -1e400\nc: 1e-400\n");

    doc.root.get_double("a", 0, 0, 1e300);
    doc.root.get_double("b", 0, -1e300, 0);
    doc.root.get_double("c", 0, 0, 1);

    const auto text = doc.text();
    INFO(text);
    CHECK(doc.errors().size() == 3);
    CHECK(contains(text, "test.yaml:1:4: error: a: '1e400' is out of range; expected a number from 0 to 1e+300"));
    CHECK(contains(text, "b: '-1e400' is out of range"));
    CHECK(contains(text, "c: '1e-400' is out of range"));
  }

  TEST_CASE("Params: quantity limits apply to every explicit value of a distribution, with the reason") {
    const QuantityLimits limits{0.125, 100, "1bps", "800bps", "the solver fails below"};
    Doc doc(
        "a: 0.5bps\n"
        "b: {dist: uniform, min: 1bps, max: 1kbps}\n"
        "c: {dist: choice, values: [1bps, 0.1bps]}\n"
        "d: {dist: normal, mean: 0.5bps, stddev: 1Gbps}\n"
        "e: {dist: lognormal, median: 2bps, sigma: 1}\n"
        "f: 1bps\n"
        "g: 800bps\n");

    for (const char* key : {"a", "b", "c", "d", "e", "f", "g"})
      doc.root.get_distribution(key, UnitKind::data_rate, std::nullopt, true, &limits);
    const double f = doc.root.get_quantity("f", UnitKind::data_rate, std::nullopt, false, &limits);

    const auto text = doc.text();
    INFO(text);
    CHECK(doc.errors().size() == 4);
    CHECK(contains(text,
                   "test.yaml:1:4: error: a: '0.5bps' is below 1bps, the least accepted\n"
                   "  note: the solver fails below"));
    CHECK(contains(text, "b.max: '1kbps' is above 800bps, the most accepted"));
    CHECK(contains(text, "c.values[1]: '0.1bps' is below 1bps"));
    CHECK(contains(text, "d.mean: '0.5bps' is below 1bps"));
    CHECK_FALSE(contains(text, "d.stddev"));  // a spread is no drawable value
    CHECK(f == 0.125);
  }

  TEST_CASE("Params: a lognormal sigma above 10 is refused (its draws reach 0 or infinity)") {
    Doc doc("a: {dist: lognormal, median: 5Gf, sigma: 10}\nb: {dist: lognormal, median: 5Gf, sigma: 1e300}\n");

    const auto a = doc.root.get_distribution("a", UnitKind::flop_rate, std::nullopt, true);
    doc.root.get_distribution("b", UnitKind::flop_rate, std::nullopt, true);

    const auto text = doc.text();
    INFO(text);
    CHECK(a.sigma == 10);
    CHECK(doc.errors().size() == 1);
    CHECK(contains(text, "test.yaml:2:42: error: b.sigma: '1e300' is out of range; expected a number from 0 to 10"));
  }

  TEST_CASE("Params: spec-driven getters take default, range, unit and limits from the schema entry") {
    Doc doc("training: {rounds: 0, over_selection: 1.5}\nplatform: {server: {bandwidth: 0.5bps}}\n");
    Params training = doc.root.child("training");
    Params server = doc.root.child("platform").child("server");

    const auto rounds = training.get_int("rounds");
    const auto eval_every = training.get_int("eval_every");
    const auto over_selection = training.get_double("over_selection");
    const auto latency = server.get_quantity("latency");
    server.get_quantity("bandwidth");
    const bool deadline_given = training.has("deadline");
    const auto deadline = training.get_quantity("deadline");

    const auto text = doc.text();
    INFO(text);
    CHECK(rounds == 10);  // the default, after the error
    CHECK(eval_every == 1);
    CHECK(over_selection == 1.5);
    CHECK(latency == doctest::Approx(1e-3));
    CHECK_FALSE(deadline_given);
    CHECK(deadline == 0);
    CHECK(contains(text,
                   "test.yaml:1:20: error: training.rounds: '0' is out of range; expected an integer from 1 to "
                   "1000000000"));
    CHECK(
        contains(text, "test.yaml:2:32: error: platform.server.bandwidth: '0.5bps' is below 1bps, the least accepted"));
    CHECK(doc.errors().size() == 2);
    CHECK(doc.ctx->resolved["platform"]["server"]["latency"].Scalar() == "1ms");
    CHECK_FALSE(doc.ctx->resolved["training"]["deadline"]);
  }

  TEST_CASE("Params: applies() tells a key of the chosen variant from one of another") {
    Doc doc("workload: {partition: {name: shards}}\n");
    Params partition = doc.root.child("workload").child("partition");
    Params elsewhere = doc.root.child("output");

    partition.get_choice("name");

    CHECK(partition.applies("shards_per_client"));
    CHECK_FALSE(partition.applies("alpha"));
    CHECK(elsewhere.applies("every"));          // no condition
    CHECK(elsewhere.applies("not_in_schema"));  // nothing to tell
  }

  TEST_CASE("Params: finish() without the scenario schema reports every unread key as unknown") {
    Doc doc("dynamics: {crash: {probability: 0.1}}\n");
    Params dynamics = doc.root.child("dynamics");

    dynamics.finish();

    CHECK(doc.text() ==
          "test.yaml:1:12: error: dynamics.crash: unknown key 'crash'\n  note: this mapping takes no keys\n");
  }

  TEST_CASE("Params: finish() with the scenario schema refuses planned keys and keys of another variant") {
    Doc doc("platform: {workers: {count: 2}}\nworkload: {partition: {name: iid, alpha: 0.5}}\n");
    doc.ctx->use_schema = true;
    Params platform = doc.root.child("platform");
    Params partition = doc.root.child("workload").child("partition");

    partition.get_choice("name");
    platform.finish();
    partition.finish();

    CHECK(doc.text() ==
          "test.yaml:1:21: error: platform.workers: not implemented yet\n"
          "test.yaml:2:35: error: workload.partition.alpha: applies only when name is dirichlet\n"
          "  note: name is 'iid' here\n");
  }
}
