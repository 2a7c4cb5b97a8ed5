// Every tests/bad_input/<case>.yaml must make `dtsim run` and `dtsim validate` exit 2, print each line
// of <case>.expected (as a substring of stderr), and create no output folder.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "e2e_util.hpp"

using namespace e2e;

TEST_SUITE("e2e") {
  TEST_CASE("bad input: every malformed scenario exits 2 with its located message and writes nothing") {
    const auto dir = source_dir() / "tests" / "bad_input";
    std::vector<fs::path> cases;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".yaml") cases.push_back(entry.path());
    std::sort(cases.begin(), cases.end());
    REQUIRE(cases.size() >= 10);
    for (const auto& yaml : cases) {
      const auto name = yaml.filename().string();
      CAPTURE(name);
      const auto expected_path = fs::path(yaml).replace_extension(".expected");
      REQUIRE_MESSAGE(fs::exists(expected_path), "missing " << expected_path.filename());
      const auto out = scratch("bad_input_out");
      const auto target = out / "results";
      const auto ran = run_dtsim({"run", name, "--out", target.string()}, dir);
      const auto validated = run_dtsim({"validate", name}, dir);
      CHECK(ran.exit_code == 2);
      CHECK(validated.exit_code == 2);
      CHECK_FALSE(fs::exists(target));
      std::stringstream expected(slurp(expected_path));
      std::string line;
      int lines = 0;
      while (std::getline(expected, line)) {
        if (line.empty()) continue;
        ++lines;
        CHECK_MESSAGE(ran.err.find(line) != std::string::npos, "expected in stderr: " << line << "\n--- got:\n"
                                                                                      << ran.err);
        CHECK_MESSAGE(validated.err.find(line) != std::string::npos, "validate: expected: " << line);
      }
      CHECK(lines > 0);
    }
  }

  TEST_CASE("bad input: bad command-line arguments exit 2") {
    const auto quickstart = (source_dir() / "scenarios" / "quickstart.yaml").string();
    const auto out = scratch("bad_args") / "r";
    CHECK(run_dtsim({"run"}).exit_code == 2);
    CHECK(run_dtsim({"frobnicate"}).exit_code == 2);
    CHECK(run_dtsim({"run", quickstart, "--backend", "tpu"}).exit_code == 2);
    CHECK(run_dtsim({"run", quickstart, "--out", out.string(), "--set", "training.rounds"}).exit_code == 2);
    CHECK(run_dtsim({"run", quickstart, "--out", out.string(), "--mem-limit", "12"}).exit_code == 2);
    auto missing = run_dtsim({"run", "/nonexistent/scenario.yaml", "--out", out.string()});
    CHECK(missing.exit_code == 2);
    CHECK(missing.err.find("/nonexistent/scenario.yaml") != std::string::npos);
    auto over = run_dtsim({"run", quickstart, "--out", out.string(), "--set", "training.rounds=0"});
    CHECK(over.exit_code == 2);
    CHECK(over.err.find("training.rounds") != std::string::npos);
    auto mem = run_dtsim({"run", quickstart, "--out", out.string(), "--mem-limit", "10MB"});
    CHECK(mem.exit_code == 2);
    CHECK(mem.err.find("memory") != std::string::npos);
    CHECK_FALSE(fs::exists(out));
  }

  TEST_CASE("bad input: hostile --simgrid and --out values exit 2 before anything is loaded or written") {
    const auto quickstart = (source_dir() / "scenarios" / "quickstart.yaml").string();
    const auto dir = scratch("hostile_args");
    std::ofstream(dir / "a_file") << "x";
    const auto out = dir / "r";
    const std::vector<std::pair<std::string, std::string>> simgrid{
        {"--cfg=network/model:Bogus", "unknown value 'Bogus'"},
        {"--cfg=maxmin/precision:1e300", "not on dtsim's allow-list"},
        {"--cfg=contexts/stack-size:1", "out of range"},
        {"--cfg=bogus:1", "unknown SimGrid option 'bogus'"},
        {"--help", "not an argument dtsim passes to SimGrid"},
        {"unknown", "not an argument dtsim passes to SimGrid"},
        {"--cfg=host/model:ptask_L07", "not on dtsim's allow-list"},
        {"--log=root.thres:loud", "--log"},
    };
    for (const auto& [arg, message] : simgrid) {
      CAPTURE(arg);
      const auto r = run_dtsim({"run", quickstart, "--out", out.string(), "--simgrid=" + arg});
      CHECK(r.exit_code == 2);
      CHECK_MESSAGE(r.err.find(message) != std::string::npos, r.err);
      CHECK_FALSE(fs::exists(out));
    }
    for (const auto& bad : {(dir / "a_file").string(), (dir / "a_file" / "below").string(), std::string("/dev/null")}) {
      CAPTURE(bad);
      const auto r = run_dtsim({"run", quickstart, "--out", bad});
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("--out") != std::string::npos);
    }
    // A valid timing option is recorded in run.yaml.
    const auto ok = run_dtsim({"run", quickstart, "--out", out.string(), "--quiet", "--set", "training.rounds=1",
                               "--simgrid=--cfg=network/crosstraffic:0"});
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(slurp(out / "run.yaml").find("--cfg=network/crosstraffic:0") != std::string::npos);
  }

  TEST_CASE("bad input: a scenario over 4 MiB, or an endless device, exits 2 without being read whole") {
    const auto dir = scratch("huge_file");
    const auto huge = dir / "huge.yaml";
    {
      std::ofstream out(huge, std::ios::binary);
      out << "platform: {clients: {count: 20}}\nworkload: {dataset: {name: synthetic}, model: {name: logistic}}\n";
      const std::string comment = "# " + std::string(1022, 'x') + "\n";
      for (int i = 0; i < 5 * 1024; ++i) out << comment;  // 5 MiB of comments
    }
    const auto target = dir / "results";

    for (const auto& path : {huge.string(), std::string("/dev/zero")}) {
      CAPTURE(path);
      const auto ran = run_dtsim({"run", path, "--out", target.string()});
      const auto validated = run_dtsim({"validate", path});

      CHECK(ran.exit_code == 2);
      CHECK(validated.exit_code == 2);
      CHECK(ran.err.find(path + ": error: the scenario file is larger than 4 MiB") != std::string::npos);
      CHECK_FALSE(fs::exists(target));
    }
  }

  TEST_CASE("bad input: an alias bomb or deep nesting given with --set exits 2, located on the command line") {
    const auto quickstart = (source_dir() / "scenarios" / "quickstart.yaml").string();
    const auto out = scratch("hostile_set") / "r";
    std::string bomb = "output.x={a: &a [x, x, x, x, x, x, x, x, x, x]";
    for (int i = 1; i <= 9; ++i) {
      const std::string prev = i == 1 ? "a" : "b" + std::to_string(i - 1);
      bomb += ", b" + std::to_string(i) + ": &b" + std::to_string(i) + " [";
      for (int j = 0; j < 10; ++j) bomb += (j ? ", *" : "*") + prev;
      bomb += "]";
    }
    bomb += "}";

    const auto bombed = run_dtsim({"run", quickstart, "--out", out.string(), "--set", bomb});
    const auto deep =
        run_dtsim({"run", quickstart, "--out", out.string(), "--set", "output=" + std::string(5000, '[')});

    CHECK(bombed.exit_code == 2);
    CHECK(bombed.err.find("<command line>:1:1: error: output.x.b4[7]: --set output.x=") != std::string::npos);
    CHECK(bombed.err.find("document too large once aliases are expanded") != std::string::npos);
    CHECK(deep.exit_code == 2);
    CHECK(deep.err.find("lists and mappings nest more than 64 levels deep") != std::string::npos);
    CHECK_FALSE(fs::exists(out));
  }

  TEST_CASE("bad input: --backend cuda without a usable CUDA device is an argument error") {
    const auto quickstart = (source_dir() / "scenarios" / "quickstart.yaml").string();
    const auto out = scratch("cuda_arg") / "r";
    auto r = run_dtsim({"run", quickstart, "--out", out.string(), "--backend", "cuda", "--set", "training.rounds=1"});
    if (r.exit_code == 0) {
      MESSAGE("a CUDA device is present: the cuda backend ran");
    } else {
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("CUDA") != std::string::npos);
      CHECK_FALSE(fs::exists(out));
    }
  }
}
