// A fresh, empty folder for one sweep unit test, under the system temp dir.
#pragma once

#include <filesystem>
#include <string>

inline std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "dtsim_sweep_unit" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
