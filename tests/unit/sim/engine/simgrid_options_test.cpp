// The --simgrid allow-list: every argument SimGrid 3.32 aborts, crashes or hangs on, or silently ignores, is
// refused before its engine exists; the options on the list pass unchanged; the timing-changing ones are
// reported for run.yaml.
#include "sim/engine/simgrid_options.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

using namespace dtsim;
using namespace dtsim::engine;

namespace {

// The diagnostics check_simgrid_args throws for `args` (empty when it accepts them).
std::vector<Diagnostic> refusals(const std::vector<std::string>& args) {
  try {
    check_simgrid_args(args);
  } catch (const ConfigError& e) {
    return e.diagnostics();
  }
  return {};
}

// The whole text of a single refusal: message and notes.
std::string refusal_text(const std::string& arg) {
  const auto ds = refusals({arg});
  REQUIRE_MESSAGE(ds.size() == 1, arg);
  return format_diagnostic(ds[0]);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("simgrid options: every argument of the finding is refused, each located on the command line") {
    const std::vector<std::string> findings{
        "--cfg=network/model:Bogus",     // SIGABRT: "Model 'Bogus' is invalid"
        "--cfg=maxmin/precision:1e300",  // SIGABRT: "The Impossible Did Happen"
        "--cfg=contexts/stack-size:1",   // SIGSEGV
        "--cfg=bogus:1",                 // exit 1 with a failed runs.csv
        "--help",                        // exit 0, no results
        "unknown",                       // ignored
        "--cfg=host/model:ptask_L07",    // every timing changes, silently
    };

    const auto ds = refusals(findings);

    REQUIRE(ds.size() == findings.size());
    for (std::size_t i = 0; i < ds.size(); ++i) {
      CAPTURE(findings[i]);
      CHECK(ds[i].where.file == kCommandLine);
      CHECK(ds[i].where.line == 0);
      CHECK(ds[i].where.column == 0);
      CHECK(ds[i].key_path == "--simgrid");
      CHECK(ds[i].severity == Severity::error);
      CHECK(contains(ds[i].message, "'" + findings[i] + "'"));
      CHECK_FALSE(ds[i].notes.empty());
    }
  }

  TEST_CASE("simgrid options: the messages name the valid values, a near key and SimGrid's behaviour") {
    const auto model = refusal_text("--cfg=network/model:lv08");
    const auto key = refusal_text("--cfg=surf/precison:1e-3");
    const auto range = refusal_text("--cfg=contexts/stack-size:1");
    const auto refused = refusal_text("--cfg=maxmin/precision:1e-3");
    const auto bare = refusal_text("--help");

    CHECK(contains(model, "'--cfg=network/model:lv08': unknown value 'lv08' for network/model"));
    CHECK(contains(model, "valid values are: LV08, CM02, SMPI, IB"));
    CHECK(contains(model, "did you mean 'LV08'?"));
    CHECK(contains(key, "unknown SimGrid option 'surf/precison'"));
    CHECK(contains(key, "did you mean 'surf/precision'?"));
    CHECK(contains(key, "dtsim accepts: contexts/factory"));
    CHECK(contains(range,
                   "'--cfg=contexts/stack-size:1': '1' is out of range; contexts/stack-size takes an integer from 256 "
                   "to 65536 (KiB)"));
    CHECK(contains(range, "crashes"));
    CHECK(contains(refused, "not on dtsim's allow-list"));
    CHECK(contains(refused, "use surf/precision"));
    CHECK(contains(bare, "'--help': not an argument dtsim passes to SimGrid"));
    CHECK(contains(bare, "dtsim list"));
  }

  TEST_CASE("simgrid options: values SimGrid 3.32 aborts, crashes or hangs on are out of range or refused") {
    for (const char* arg : {
             "--cfg=surf/precision:0",
             "--cfg=surf/precision:-1",
             "--cfg=surf/precision:nan",
             "--cfg=surf/precision:inf",
             "--cfg=surf/precision:1",
             "--cfg=surf/precision:1e-13",
             "--cfg=surf/precision:abc",
             "--cfg=surf/precision:",
             "--cfg=surf/precision:0x1p-10",
             "--cfg=contexts/stack-size:0",
             "--cfg=contexts/stack-size:-1",
             "--cfg=contexts/stack-size:128",
             "--cfg=contexts/stack-size:65537",
             "--cfg=contexts/stack-size:1.5",
             "--cfg=contexts/stack-size:0x100",
             "--cfg=contexts/guard-size:-1",
             "--cfg=contexts/guard-size:1025",
             "--cfg=contexts/factory:Raw",
             "--cfg=contexts/factory:bogus",
             "--cfg=network/model:Constant",
             "--cfg=network/model:ns-3",
             "--cfg=network/crosstraffic:2",
             "--cfg=network/crosstraffic:YES",
             "--cfg=network/TCP-gamma:-1",
             "--cfg=network/latency-factor:-1",
             "--cfg=network/latency-factor:1e4",
             "--cfg=network/bandwidth-factor:0",
             "--cfg=network/bandwidth-factor:-1",
             "--cfg=network/weight-S:-1",
             "--cfg=network/weight-S:40000",
             "--cfg=network/optim:TI",
             "--cfg=network/optim:lazy",
             "--cfg=cpu/optim:lazy",
             "--cfg=network/maxmin-selective-update:0",
             "--cfg=cpu/maxmin-selective-update:0",
             "--cfg=contexts/nthreads:4",
             "--cfg=network/solver:bmf",
         }) {
      CAPTURE(arg);
      CHECK(refusals({arg}).size() == 1);
    }
  }

  TEST_CASE("simgrid options: malformed --cfg and --log syntax and bare arguments are refused") {
    for (const char* arg : {
             "--cfg=",
             "--cfg=surf/precision",
             "--cfg=surf/precision=1e-3",
             "--cfg",
             "--cfg surf/precision:1e-3",
             "--cfg=surf/precision:1e-3,contexts/stack-size:1",
             "--cfg=surf/precision:1e-3 contexts/stack-size:1",
             "--log=",
             "--log=root",
             "--log=root:info",
             "--log=root.thres",
             "--log=root.thres=info",
             "--log=root.thres:bogus",
             "--log=root.thres:none",
             "--log=root.bogus:info",
             "--log=.thres:info",
             "--log=ro-ot.thres:info",
             "--log=root.thres:info xbt_cfg.thres:critical",
             "--log='root.thres:info'",
             "--log=root.fmt:",
             "--log=root.fmt:%Q",
             "--log=root.fmt:%b",
             "--log=root.fmt:%m%",
             "--log=root.fmt:%-5m",
             "--log=root.fmt:%99999m",
             "--log=root.app:bogus",
             "--log=root.app:file:",
             "--log=root.app:rollfile:x:/tmp/l",
             "--log=root.app:rollfile:0:/tmp/l",
             "--log=root.app:splitfile:/tmp/l",
             "--log=root.app:file:/nonexistent-dtsim-folder/x.log",
             "--log=root.app:file:/dev/null",
             "--log=root.add:maybe",
             "--help",
             "--help-cfg",
             "--version",
             "-h",
             "",
             "root.thres:info",
             "--cfg=contexts/factory:thread\x1b[31m",
             "--log=root.fmt:[%1l:p\xff\xff\xff\xff" "tcL07",  // units_fuzz: bytes that are not UTF-8 in a format
             "--log=root.fmt:%m\x7f",
         }) {
      CAPTURE(arg);
      CHECK(refusals({arg}).size() == 1);
    }
  }

  TEST_CASE("simgrid options: every bad argument is listed, not only the first") {
    const auto ds = refusals({"--cfg=surf/precision:0", "--cfg=contexts/factory:thread", "--help", "--log=root"});

    REQUIRE(ds.size() == 3);
    CHECK(contains(ds[0].message, "surf/precision:0"));
    CHECK(contains(ds[1].message, "--help"));
    CHECK(contains(ds[2].message, "--log=root"));
  }

  TEST_CASE("simgrid options: valid settings pass unchanged; only the timing-changing ones are reported") {
    const std::vector<std::string> args{"--cfg=contexts/factory:thread",
                                        "--cfg=surf/precision:1e-3",
                                        "--cfg=contexts/stack-size:256",
                                        "--cfg=contexts/guard-size:0",
                                        "--cfg=network/model:CM02",
                                        "--cfg=network/crosstraffic:0",
                                        "--cfg=network/TCP-gamma:1e30",
                                        "--cfg=network/latency-factor:1",
                                        "--cfg=network/bandwidth-factor:1",
                                        "--cfg=network/weight-S:0",
                                        "--cfg=network/optim:Full",
                                        "--cfg=network/maxmin-selective-update:0",
                                        "--cfg=cpu/optim:Full",
                                        "--cfg=cpu/maxmin-selective-update:no",
                                        "--log=root.thres:info",
                                        "--log=xbt_cfg.threshold:CRITICAL",
                                        "--log=root.fmt:[%10.3r]%e[%c/%p]%e%m%n",
                                        "--log=root.app:stderr",
                                        "--log=s4u_comm.add:off",
                                        "--log=no_loc"};

    const auto checked = check_simgrid_args(args);

    CHECK(checked.args == args);
    const std::vector<std::pair<std::string, std::string>> timing{
        {"surf/precision", "1e-3"},    {"network/model", "CM02"},       {"network/crosstraffic", "0"},
        {"network/TCP-gamma", "1e30"}, {"network/latency-factor", "1"}, {"network/bandwidth-factor", "1"},
        {"network/weight-S", "0"},     {"network/optim", "Full"},       {"cpu/optim", "Full"}};
    CHECK(checked.timing == timing);
  }

  TEST_CASE("simgrid options: the ends of every numeric range pass, just beyond them is refused") {
    for (const auto& o : simgrid_allow_list()) {
      if (o.type != "real" && o.type != "integer") continue;
      CAPTURE(o.key);
      const auto text = [&o](double v) {
        return o.type == "integer" ? fmt::format("{}", static_cast<long long>(v)) : fmt::format("{}", v);
      };
      const double step = o.type == "integer" ? 1 : 0;
      CHECK(refusals({"--cfg=" + o.key + ":" + text(o.min)}).empty());
      CHECK(refusals({"--cfg=" + o.key + ":" + text(o.max)}).empty());
      CHECK(refusals({"--cfg=" + o.key + ":" + text(step ? o.min - step : std::nextafter(o.min, -1e300))}).size() == 1);
      CHECK(refusals({"--cfg=" + o.key + ":" + text(step ? o.max + step : o.max * 2 + 1)}).size() == 1);
    }
  }

  TEST_CASE("simgrid options: every entry is documented, choices and booleans accept their listed values") {
    const auto& list = simgrid_allow_list();
    CHECK(std::is_sorted(list.begin(), list.end(), [](auto& a, auto& b) { return a.key < b.key; }));
    for (const char* key :
         {"surf/precision", "contexts/stack-size", "contexts/guard-size", "contexts/factory", "network/model",
          "network/crosstraffic", "network/TCP-gamma", "network/latency-factor", "network/bandwidth-factor",
          "network/weight-S", "cpu/optim", "network/optim", "network/maxmin-selective-update"})
      CHECK_MESSAGE(std::any_of(list.begin(), list.end(), [&](auto& o) { return o.key == key; }), key);
    for (const auto& o : list) {
      CAPTURE(o.key);
      CHECK_FALSE(o.help.empty());
      CHECK_FALSE(o.range.empty());
      CHECK_FALSE(o.default_value.empty());
      for (const auto& c : o.choices) CHECK(refusals({"--cfg=" + o.key + ":" + c}).empty());
      if (o.type == "boolean")
        for (const char* v : {"1", "yes", "on", "true"}) CHECK(refusals({"--cfg=" + o.key + ":" + v}).empty());
    }
    CHECK(simgrid_log_help().find("thres") != std::string::npos);
  }

  TEST_CASE("simgrid options: a key given twice is refused, naming the first") {
    const auto ds = refusals({"--cfg=surf/precision:1e-3", "--cfg=surf/precision:1e-2"});

    REQUIRE(ds.size() == 1);
    CHECK(contains(ds[0].message, "surf/precision is set twice"));
    CHECK(contains(ds[0].notes[0], "--cfg=surf/precision:1e-3"));
  }

  TEST_CASE("simgrid options: settings that SimGrid 3.32 ignores together are refused") {
    CHECK(refusals({"--cfg=network/model:SMPI", "--cfg=network/bandwidth-factor:0.5"}).size() == 1);
    CHECK(refusals({"--cfg=network/model:SMPI", "--cfg=network/latency-factor:2"}).size() == 1);
    CHECK(refusals({"--cfg=network/model:IB", "--cfg=network/weight-S:100"}).size() == 1);
    CHECK(refusals({"--cfg=network/model:SMPI", "--cfg=network/weight-S:100"}).empty());
    CHECK(refusals({"--cfg=network/optim:Lazy", "--cfg=network/maxmin-selective-update:0"}).size() == 1);
    CHECK(refusals({"--cfg=network/maxmin-selective-update:1"}).empty());
    CHECK(refusals({"--cfg=cpu/optim:TI", "--cfg=cpu/maxmin-selective-update:0"}).empty());
  }

  TEST_CASE("simgrid options: a file appender needs a writable folder and no FIFO at its path") {
    namespace fs = std::filesystem;
    const auto dir = fs::temp_directory_path() / "dtsim_simgrid_options_test";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto fifo = dir / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::ofstream(dir / "existing.log") << "old";

    CHECK(refusals({"--log=root.app:file:" + (dir / "new.log").string()}).empty());
    CHECK(refusals({"--log=root.app:file:" + (dir / "existing.log").string()}).empty());
    CHECK(refusals({"--log=root.app:splitfile:1000:" + (dir / "part%.log").string()}).empty());
    CHECK(refusals({"--log=root.app:rollfile:1000:" + (dir / "roll.log").string()}).empty());
    CHECK(refusals({"--log=root.app:file:" + fifo.string()}).size() == 1);
    CHECK(refusals({"--log=root.app:file:" + (dir / "missing" / "x.log").string()}).size() == 1);
    CHECK(refusals({"--log=root.app:file:" + dir.string()}).size() == 1);
    CHECK_FALSE(fs::exists(dir / "new.log"));  // checking creates nothing
    fs::remove_all(dir);
  }

  TEST_CASE("simgrid options: a control character in an argument reaches the message escaped") {
    const auto text = refusal_text("--cfg=contexts/factory:\x1b[31mred");

    CHECK(contains(text, "\\x1b[31mred"));
    CHECK_FALSE(contains(text, "\x1b"));
  }

  TEST_CASE("simgrid options: analytic refuses the settings it makes itself; flow takes them") {
    const auto checked =
        check_simgrid_args({"--cfg=network/model:CM02", "--cfg=network/crosstraffic:1", "--cfg=network/TCP-gamma:1000",
                            "--cfg=network/latency-factor:2", "--cfg=surf/precision:1e-6"});

    CHECK_NOTHROW(check_simgrid_against_network_model(checked, NetworkModel::flow));
    try {
      check_simgrid_against_network_model(checked, NetworkModel::analytic);
      FAIL("analytic accepted network/model");
    } catch (const ConfigError& e) {
      REQUIRE(e.diagnostics().size() == 3);
      CHECK(contains(e.diagnostics()[0].message, "network/model:CM02' conflicts with platform.network_model"));
      CHECK(contains(e.diagnostics()[2].message, "network/TCP-gamma"));
    }
  }
}
