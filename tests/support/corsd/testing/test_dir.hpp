#pragma once
// Test support: a directory of the running test's own, so that tests run in
// parallel (ctest -j) never write the same file.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace corsd::testing {

// own_test_dir()
//
// Returns an empty directory named after the running test, under `root`.
inline std::string own_test_dir(const std::string& root) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir =
      std::filesystem::path(root) / (std::string(info->test_suite_name()) + "." + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace corsd::testing
