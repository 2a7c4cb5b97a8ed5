// dtsim validate: every error dtsim run would give before the simulation starts, from labels and sample
// counts only (no pixels, no features), creating nothing; errors found in the data come with the
// loader's, located and in file order; warnings for suspicious settings, errors under --strict.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "e2e_util.hpp"

using namespace e2e;

namespace {
// A Fashion-MNIST folder whose label files are the real ones and whose image files hold their header and
// no pixel: a load that reads pixels fails ("truncated"), one that reads labels only succeeds.
fs::path headers_only_fashion_mnist() {
  const auto dir = scratch("fmnist_headers_only");
  const fs::path debian = "/usr/share/datasets/fashion-mnist";
  for (const char* f : {"train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) fs::copy_file(debian / f, dir / f);
  // idx3 headers, big-endian: magic 2051, count (60000 / 10000), 28 rows, 28 columns.
  const std::string train = R"(\000\000\010\003\000\000\352\140\000\000\000\034\000\000\000\034)";
  const std::string test = R"(\000\000\010\003\000\000\047\020\000\000\000\034\000\000\000\034)";
  REQUIRE(std::system(("printf '" + train + "' | gzip -c > " + quote((dir / "train-images-idx3-ubyte.gz").string()))
                          .c_str()) == 0);
  REQUIRE(std::system(("printf '" + test + "' | gzip -c > " + quote((dir / "t10k-images-idx3-ubyte.gz").string()))
                          .c_str()) == 0);
  return dir;
}

fs::path write(const fs::path& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir / name) << text;
  return dir / name;
}

std::size_t at(const std::string& text, const std::string& needle) {
  const auto pos = text.find(needle);
  CHECK_MESSAGE(pos != std::string::npos, "expected in stderr: " << needle << "\n--- got:\n" << text);
  return pos;
}
}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("validate: reads labels but no pixel; run reads the pixels") {
    const auto data = headers_only_fashion_mnist();
    const auto dir = scratch("validate_no_pixels");
    const auto scenario = write(dir, "s.yaml",
                                "platform: {clients: {count: 20}}\n"
                                "workload:\n"
                                "  dataset: {name: fashion_mnist, path: " + data.string() + "}\n"
                                "  partition: {name: dirichlet, alpha: 0.5}\n"
                                "  model: {name: mlp, hidden: [16]}\n");
    const auto validated = run_dtsim({"validate", scenario.string()}, dir);
    INFO(validated.err);
    CHECK(validated.exit_code == 0);
    CHECK(validated.out.find("s.yaml: ok") != std::string::npos);
    const auto ran = run_dtsim({"run", scenario.string(), "--out", (dir / "out").string()}, dir);
    CHECK(ran.exit_code == 2);
    CHECK(ran.err.find("s.yaml:3:") != std::string::npos);  // located at the dataset's line
    CHECK(ran.err.find("truncated") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "out"));
    // validate wrote nothing beside the scenario
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
    CHECK(entries == 1);
  }

  TEST_CASE("validate: errors found in the data come with the loader's, located, in file order") {
    const auto dir = scratch("validate_order");
    const auto scenario = write(dir, "s.yaml",
                                "platform:\n"
                                "  clients: {count: 20, latency: 20}\n"                          // line 2: no unit
                                "workload:\n"
                                "  dataset: {name: fashion_mnist, path: /nonexistent/fmnist}\n"  // line 4: missing
                                "  model: {name: logistic}\n"
                                "training: {rounds: 0}\n");                                      // line 6: range
    const auto r = run_dtsim({"validate", scenario.string()}, dir);
    CHECK(r.exit_code == 2);
    const auto first = at(r.err, "s.yaml:2:");
    const auto second = at(r.err, "s.yaml:4:");
    const auto third = at(r.err, "s.yaml:6:");
    CHECK(first < second);
    CHECK(second < third);
    CHECK(r.err.find("/nonexistent/fmnist") != std::string::npos);
    CHECK(r.err.find("dtsim: 3 errors") != std::string::npos);
  }

  TEST_CASE("validate: more clients than samples is an error at platform.clients.count") {
    const auto dir = scratch("validate_clients");
    const auto scenario = write(dir, "s.yaml",
                                "platform:\n"
                                "  clients: {count: 50}\n"
                                "workload:\n"
                                "  dataset: {name: fashion_mnist, max_train: 30, max_test: 10}\n"
                                "  model: {name: logistic}\n"
                                "training: {clients_per_round: 5}\n");
    const auto r = run_dtsim({"validate", scenario.string()}, dir);
    CHECK(r.exit_code == 2);
    at(r.err, "s.yaml:2:20: error: platform.clients.count: there are 50 clients but only 30 training samples");
  }

  TEST_CASE("validate: settings only the data reveal as suspicious warn, located, and fail under --strict") {
    const auto dir = scratch("validate_warnings");
    const auto scenario = write(dir, "s.yaml",
                                "platform: {clients: {count: 20}}\n"
                                "workload:\n"
                                "  dataset: {name: fashion_mnist, max_train: 400, max_test: 10}\n"
                                "  partition: {name: shards, shards_per_client: 30}\n"
                                "  model: {name: logistic}\n"
                                "  local: {batch_size: 64}\n");
    const auto r = run_dtsim({"validate", scenario.string()}, dir);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    at(r.err, "s.yaml:4:48: warning: workload.partition.shards_per_client: shards_per_client 30 is above samples");
    at(r.err, "s.yaml:6:23: warning: workload.local.batch_size: batch_size 64 is above the data of 20 of 20 clients");
    const auto strict = run_dtsim({"validate", scenario.string(), "--strict"}, dir);
    CHECK(strict.exit_code == 2);
    at(strict.err, "s.yaml:6:23: error: workload.local.batch_size");
  }
}
