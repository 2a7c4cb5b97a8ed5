#include "sim/scenario/units.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace dtsim;

namespace {

// The error message and notes of a text that must fail to parse.
struct Failure {
  std::string why;
  std::vector<std::string> notes;
};
Failure failure(std::string_view text, UnitKind kind) {
  Failure f;
  const auto v = parse_quantity(text, kind, &f.why, &f.notes);
  REQUIRE_MESSAGE(!v.has_value(), text);
  return f;
}

std::string all_notes(const Failure& f) {
  std::string out;
  for (const auto& n : f.notes) out += n + "\n";
  return out;
}

}  // namespace

TEST_SUITE("scenario") {
  TEST_CASE("parse_quantity: flop rates scale by decimal prefixes, in short and flops spellings") {
    CHECK(*parse_quantity("2f", UnitKind::flop_rate) == 2.0);
    CHECK(*parse_quantity("3kf", UnitKind::flop_rate) == doctest::Approx(3e3));
    CHECK(*parse_quantity("100Mf", UnitKind::flop_rate) == doctest::Approx(1e8));
    CHECK(*parse_quantity("5Gf", UnitKind::flop_rate) == doctest::Approx(5e9));
    CHECK(*parse_quantity("1.5Tf", UnitKind::flop_rate) == doctest::Approx(1.5e12));
    CHECK(*parse_quantity("2Pf", UnitKind::flop_rate) == doctest::Approx(2e15));
    CHECK(*parse_quantity("5Gflops", UnitKind::flop_rate) == doctest::Approx(5e9));
    CHECK(*parse_quantity("7flops", UnitKind::flop_rate) == 7.0);
  }

  TEST_CASE("parse_quantity: data rates in bits are divided by 8, bytes and binary bytes are not") {
    CHECK(*parse_quantity("8bps", UnitKind::data_rate) == 1.0);
    CHECK(*parse_quantity("10kbps", UnitKind::data_rate) == doctest::Approx(1250));
    CHECK(*parse_quantity("20Mbps", UnitKind::data_rate) == doctest::Approx(2.5e6));
    CHECK(*parse_quantity("1Gbps", UnitKind::data_rate) == doctest::Approx(1.25e8));
    CHECK(*parse_quantity("1Tbps", UnitKind::data_rate) == doctest::Approx(1.25e11));
    CHECK(*parse_quantity("3Bps", UnitKind::data_rate) == 3.0);
    CHECK(*parse_quantity("2kBps", UnitKind::data_rate) == doctest::Approx(2e3));
    CHECK(*parse_quantity("1.25MBps", UnitKind::data_rate) == doctest::Approx(1.25e6));
    CHECK(*parse_quantity("10GBps", UnitKind::data_rate) == doctest::Approx(1e10));
    CHECK(*parse_quantity("1TBps", UnitKind::data_rate) == doctest::Approx(1e12));
    CHECK(*parse_quantity("1KiBps", UnitKind::data_rate) == 1024.0);
    CHECK(*parse_quantity("2MiBps", UnitKind::data_rate) == 2.0 * 1024 * 1024);
    CHECK(*parse_quantity("1GiBps", UnitKind::data_rate) == 1024.0 * 1024 * 1024);
  }

  TEST_CASE("parse_quantity: times convert to seconds, with m and min both minutes") {
    CHECK(*parse_quantity("10ns", UnitKind::time) == doctest::Approx(1e-8));
    CHECK(*parse_quantity("5us", UnitKind::time) == doctest::Approx(5e-6));
    CHECK(*parse_quantity("30ms", UnitKind::time) == doctest::Approx(0.03));
    CHECK(*parse_quantity("2s", UnitKind::time) == 2.0);
    CHECK(*parse_quantity("20m", UnitKind::time) == 1200.0);
    CHECK(*parse_quantity("20min", UnitKind::time) == 1200.0);
    CHECK(*parse_quantity("2h", UnitKind::time) == 7200.0);
    CHECK(*parse_quantity("1d", UnitKind::time) == 86400.0);
    CHECK(*parse_quantity("0ms", UnitKind::time) == 0.0);
  }

  TEST_CASE("parse_quantity: data sizes take decimal and binary byte prefixes") {
    CHECK(*parse_quantity("7B", UnitKind::data_size) == 7.0);
    CHECK(*parse_quantity("512kB", UnitKind::data_size) == doctest::Approx(5.12e5));
    CHECK(*parse_quantity("10MB", UnitKind::data_size) == doctest::Approx(1e7));
    CHECK(*parse_quantity("1.5GB", UnitKind::data_size) == doctest::Approx(1.5e9));
    CHECK(*parse_quantity("2TB", UnitKind::data_size) == doctest::Approx(2e12));
    CHECK(*parse_quantity("1KiB", UnitKind::data_size) == 1024.0);
    CHECK(*parse_quantity("2MiB", UnitKind::data_size) == 2.0 * 1024 * 1024);
    CHECK(*parse_quantity("1GiB", UnitKind::data_size) == 1024.0 * 1024 * 1024);
  }

  TEST_CASE("parse_quantity: accepts scientific notation, a leading plus and one space before the unit") {
    CHECK(*parse_quantity("1.5e3Mf", UnitKind::flop_rate) == doctest::Approx(1.5e9));
    CHECK(*parse_quantity("2E-3s", UnitKind::time) == doctest::Approx(2e-3));
    CHECK(*parse_quantity("+5Gf", UnitKind::flop_rate) == doctest::Approx(5e9));
    CHECK(*parse_quantity("5 Gf", UnitKind::flop_rate) == doctest::Approx(5e9));
    CHECK(*parse_quantity(".5s", UnitKind::time) == 0.5);
  }

  TEST_CASE("parse_quantity: a bare number is rejected with a request for a unit and examples") {
    const auto f = failure("5", UnitKind::flop_rate);

    CHECK(f.why.find("'5' needs a unit") != std::string::npos);
    CHECK(f.why.find("5Gf") != std::string::npos);
    CHECK(all_notes(f).find("valid units are: f, kf, Mf, Gf") != std::string::npos);
  }

  TEST_CASE("parse_quantity: an unknown unit lists the valid units and suggests the nearest") {
    const auto f = failure("5GF", UnitKind::flop_rate);
    const auto g = failure("20Mbs", UnitKind::data_rate);

    CHECK(f.why.find("unknown unit 'GF' in '5GF'") != std::string::npos);
    CHECK(all_notes(f).find("did you mean '5Gf'?") != std::string::npos);
    CHECK(all_notes(g).find("did you mean '20Mbps'?") != std::string::npos);
    CHECK(all_notes(g).find("KiBps") != std::string::npos);
  }

  TEST_CASE("parse_quantity: a unit of another kind is unknown") {
    CHECK(failure("5ms", UnitKind::flop_rate).why.find("unknown unit 'ms'") != std::string::npos);
    CHECK(failure("5Gf", UnitKind::time).why.find("unknown unit 'Gf'") != std::string::npos);
    CHECK(failure("5b", UnitKind::data_size).why.find("unknown unit 'b'") != std::string::npos);
  }

  TEST_CASE("parse_quantity: negative, NaN, infinite, overflowing and empty values are rejected") {
    CHECK(failure("-5Mbps", UnitKind::data_rate).why.find("'-5Mbps' is negative") != std::string::npos);
    CHECK(failure("nanGf", UnitKind::flop_rate).why.find("NaN") != std::string::npos);
    CHECK(failure(".nan", UnitKind::flop_rate).why.find("NaN") != std::string::npos);
    CHECK(failure("infGf", UnitKind::flop_rate).why.find("infinite") != std::string::npos);
    CHECK(failure("-.inf", UnitKind::time).why.find("infinite") != std::string::npos);
    CHECK(failure("1e400s", UnitKind::time).why.find("out of range") != std::string::npos);
    CHECK(failure("1e308Pf", UnitKind::flop_rate).why.find("out of range") != std::string::npos);
    CHECK(failure("", UnitKind::time).why.find("empty") != std::string::npos);
    CHECK(failure("1e-400Gf", UnitKind::flop_rate).why.find("out of range") != std::string::npos);
    CHECK(failure(".nanGf", UnitKind::flop_rate).why.find("NaN") != std::string::npos);
    CHECK(failure("+-5Gf", UnitKind::flop_rate).why.find("not a number followed by a unit") != std::string::npos);
  }

  TEST_CASE("parse_quantity: -0 is zero, never negative zero") {
    const auto v = parse_quantity("-0ms", UnitKind::time);

    REQUIRE(v);
    CHECK(*v == 0);
    CHECK_FALSE(std::signbit(*v));
  }

  TEST_CASE("parse_quantity: malformed text is rejected, and every error states the expected form") {
    for (const char* text : {"Gf", "abc", "5  Gf", "5 G f", " 5Gf", "5Gf ", "1,5Gf", "0x10Gf", "--5Gf"}) {
      const auto f = failure(text, UnitKind::flop_rate);
      CHECK_MESSAGE(f.why.find("expected a flop rate such as 5Gf or 1.5Tf") != std::string::npos, text);
    }
  }

  TEST_CASE("unit_expectation: names the kind and gives examples") {
    CHECK(unit_expectation(UnitKind::flop_rate) == "a flop rate such as 5Gf or 1.5Tf");
    CHECK(unit_expectation(UnitKind::data_rate).find("20Mbps") != std::string::npos);
    CHECK(unit_expectation(UnitKind::time).find("30ms") != std::string::npos);
    CHECK(unit_expectation(UnitKind::data_size).find("10MB") != std::string::npos);
  }
}
