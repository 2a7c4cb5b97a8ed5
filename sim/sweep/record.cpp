#include "sim/sweep/record.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <stdexcept>

#include "sim/report/csv_writer.hpp"

namespace fs = std::filesystem;

namespace dtsim::sweep {

std::string run_id_of(const SweepRecord& sweep, const RecordedPoint& point) {
  return fmt::format("{}#{:04}", sweep.name, point.index);
}

void write_record(const fs::path& dir, const SweepRecord& sweep) {
  YAML::Emitter out;
  out << YAML::Comment("written by dtsim sweep: the sweep's points (dtsim sweep --resume and dtsim collect read it)");
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << sweep.name;
  out << YAML::Key << "scenario" << YAML::Value << sweep.scenario;
  out << YAML::Key << "arguments" << YAML::Value << YAML::Flow << sweep.arguments;
  out << YAML::Key << "backend" << YAML::Value << sweep.backend;
  out << YAML::Key << "param_keys" << YAML::Value << YAML::Flow << sweep.param_keys;
  out << YAML::Key << "points" << YAML::Value << YAML::BeginSeq;
  for (const auto& p : sweep.points) {
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "point" << YAML::Value << p.index;
    out << YAML::Key << "folder" << YAML::Value << p.folder;
    out << YAML::Key << "seed" << YAML::Value << p.seed;
    out << YAML::Key << "params" << YAML::Value << YAML::BeginMap;
    for (const auto& [key, cell] : p.params) out << YAML::Key << key << YAML::Value << cell;
    out << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  report::write_file_atomic((dir / "sweep.yaml").string(), std::string(out.c_str()) + "\n");
}

SweepRecord read_record(const fs::path& dir) {
  const std::string path = (dir / "sweep.yaml").string();
  std::error_code ec;
  if (!fs::exists(path, ec)) throw std::runtime_error(path + " does not exist: this is not a sweep's folder");
  try {
    const YAML::Node root = YAML::LoadFile(path);
    SweepRecord s;
    s.name = root["name"].as<std::string>();
    s.scenario = root["scenario"].as<std::string>();
    s.arguments = root["arguments"].as<std::vector<std::string>>();
    s.backend = root["backend"].as<std::string>();
    s.param_keys = root["param_keys"].as<std::vector<std::string>>();
    for (const auto& p : root["points"]) {
      RecordedPoint r;
      r.index = p["point"].as<std::int64_t>();
      r.folder = p["folder"].as<std::string>();
      r.seed = p["seed"].as<std::int64_t>();
      for (const auto& kv : p["params"]) r.params.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
      if (r.folder.empty() || r.folder.find('/') != std::string::npos || r.folder.starts_with("."))
        throw std::runtime_error(fmt::format("point {} has the folder '{}', which is not a name inside the sweep", r.index, r.folder));
      s.points.push_back(std::move(r));
    }
    return s;
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path + " is not a dtsim sweep record: " + e.what());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

std::string difference(const SweepRecord& earlier, const SweepRecord& now) {
  if (earlier.points.size() != now.points.size())
    return fmt::format("it has {} points, this sweep {}", earlier.points.size(), now.points.size());
  if (earlier.param_keys != now.param_keys) return "it sweeps other keys";
  for (std::size_t i = 0; i < now.points.size(); ++i) {
    const auto& a = earlier.points[i];
    const auto& b = now.points[i];
    if (a.folder != b.folder || a.seed != b.seed || a.params != b.params)
      return fmt::format("point {} is {} there and {} here", b.index, a.folder, b.folder);
  }
  return "";
}

}  // namespace dtsim::sweep
