// The free-space check before the engine opens: what it counts, and the error that names the
// data directory and the space needed. (The real full disk is integ_full_disk_test.)
#include "storage/open_space.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/engine.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

void WriteFile(const std::filesystem::path& p, size_t bytes) {
  std::ofstream out(p, std::ios::binary);
  out << std::string(bytes, 'x');
}

TEST(OpenSpaceTest, CountsWriteAheadLogsAndTheNewLogsPreallocation) {
  testing::TempDir dir;
  EngineOptions o{.path = dir.path() + "/node"};  // does not exist yet: a new node
  o.raft_write_buffer_size = 8 << 20;
  o.data_write_buffer_size = 10 << 20;
  OpenSpace fresh;
  ASSERT_OK(SpaceToOpen(o, &fresh));
  EXPECT_EQ(fresh.wal_bytes, 0u);
  EXPECT_EQ(fresh.needed_bytes, (10u << 20) + (1u << 20) + (16u << 20));
  EXPECT_GT(fresh.free_bytes, 0u);

  std::filesystem::create_directories(o.path + "/db");
  WriteFile(o.path + "/db/000004.log", 1000);
  WriteFile(o.path + "/db/000009.log", 2000);
  WriteFile(o.path + "/db/LOG", 5000);  // RocksDB's info log: nothing to replay
  WriteFile(o.path + "/db/000010.sst", 7000);
  OpenSpace existing;
  ASSERT_OK(SpaceToOpen(o, &existing));
  EXPECT_EQ(existing.wal_bytes, 3000u);
  EXPECT_EQ(existing.needed_bytes, fresh.needed_bytes + 3000 + 300);
}

TEST(OpenSpaceTest, RefusalNamesTheDataDirAndTheSpaceNeeded) {
  testing::TempDir dir;
  EngineOptions o{.path = dir.path()};
  // A memtable no disk has room to preallocate a log for.
  o.data_write_buffer_size = size_t{1} << 62;
  Status s = CheckSpaceToOpen(o);
  ASSERT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("not enough free disk space to open the data directory " + o.path),
            std::string_view::npos)
      << s;
  EXPECT_NE(s.message().find("opening needs"), std::string_view::npos) << s;
  EXPECT_NE(s.message().find("Free at least"), std::string_view::npos) << s;
  // Engine::Open refuses before RocksDB touches the directory.
  auto e = Engine::Open(o);
  EXPECT_EQ(e.status().code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(std::filesystem::exists(o.path + "/db"));
  // The default sizes fit on the test machine's disk.
  EXPECT_OK(CheckSpaceToOpen(EngineOptions{.path = dir.path()}));
}

}  // namespace
}  // namespace ringkv::storage
