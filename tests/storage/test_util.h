// Test helpers for storage tests: a temporary directory removed on destruction.
#ifndef RINGKV_TESTS_STORAGE_TEST_UTIL_H_
#define RINGKV_TESTS_STORAGE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace ringkv::storage::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ringkv-storage-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ringkv::storage::testing

#endif  // RINGKV_TESTS_STORAGE_TEST_UTIL_H_
