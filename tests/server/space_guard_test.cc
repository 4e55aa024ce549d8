#include "server/space_guard.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ringkv::server {
namespace {

TEST(SpaceGuardTest, QuotaRaisesAndHysteresisClears) {
  SpaceGuardOptions o;
  o.quota_bytes = 1000;
  o.min_free_bytes = 0;
  o.low_watermark = 0.9;
  std::string why;
  EXPECT_FALSE(NoSpaceDue(o, {999, 1 << 30, 1000}, false, &why));
  EXPECT_TRUE(NoSpaceDue(o, {1000, 1 << 30, 1000}, false, &why));
  EXPECT_NE(why.find("--storage_quota_bytes=1000"), std::string::npos) << why;
  // Still raised between the low watermark and the quota, cleared below it.
  EXPECT_TRUE(NoSpaceDue(o, {950, 1 << 30, 1000}, true, &why));
  EXPECT_FALSE(NoSpaceDue(o, {899, 1 << 30, 1000}, true, &why));
}

TEST(SpaceGuardTest, FreeFloorRaisesAndHysteresisClears) {
  SpaceGuardOptions o;
  o.min_free_bytes = 900;
  o.low_watermark = 0.9;
  std::string why;
  EXPECT_TRUE(NoSpaceDue(o, {0, 899, 0}, false, &why));
  EXPECT_NE(why.find("--min_free_disk_bytes=900"), std::string::npos) << why;
  EXPECT_TRUE(NoSpaceDue(o, {0, 950, 0}, true, &why));    // under 900 / 0.9 = 1000
  EXPECT_FALSE(NoSpaceDue(o, {0, 1000, 0}, true, &why));
  EXPECT_FALSE(NoSpaceDue(o, {0, 950, 0}, false, &why));  // never raised: stays clear
}

TEST(SpaceGuardTest, MeasuresTheDirectoryAndDisarms) {
  const std::string dir = testing::TempDir() + "/space_guard_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/sub");
  std::ofstream(dir + "/a") << std::string(3000, 'x');
  std::ofstream(dir + "/sub/b") << std::string(2000, 'y');
  EXPECT_EQ(DirectoryBytes(dir), 5000u);
  EXPECT_GT(FreeBytes(dir), 0u);

  int changes = 0;
  SpaceGuardOptions o;
  o.data_dir = dir;
  o.quota_bytes = 4000;
  o.min_free_bytes = 0;
  o.on_change = [&](bool, const std::string&) { ++changes; };
  SpaceGuard g(o);
  g.CheckNow();
  EXPECT_TRUE(g.nospace());
  EXPECT_EQ(g.Alarms(), std::vector<std::string>{"NOSPACE"});
  EXPECT_EQ(g.usage().used_bytes, 5000u);
  g.Disarm();
  EXPECT_FALSE(g.nospace());
  g.CheckNow();  // still over the quota: raised again
  EXPECT_TRUE(g.nospace());
  std::filesystem::remove(dir + "/a");
  g.CheckNow();
  EXPECT_FALSE(g.nospace());
  EXPECT_EQ(changes, 4);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ringkv::server
