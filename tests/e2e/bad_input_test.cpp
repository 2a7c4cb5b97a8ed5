// Every tests/bad_input/<case>.yaml must make `dtsim run` and `dtsim validate` exit 2, print each line
// of <case>.expected (as a substring of stderr), and create no output folder.
#include <doctest/doctest.h>

#include <algorithm>

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
        CHECK_MESSAGE(ran.err.find(line) != std::string::npos, "expected in stderr: " << line << "\n--- got:\n" << ran.err);
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
