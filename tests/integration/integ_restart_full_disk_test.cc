// A node restarted on a full disk (issue 10; a disk that fills while the node runs is
// integ_disk_full_test, issue 14): one node's data dir is a small tmpfs; the node is
// stopped, the file system filled, and the node started again. It must exit non-zero at once
// with an error naming the data directory and the free space it needs (RocksDB used to abort
// on an assertion, `sync_without_flush_called_`, on every restart). Once space is freed it
// starts, rejoins and has the data written before.
//
// Needs root (mount); skipped otherwise.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

constexpr int kNode = 3;

// Mounts a tmpfs of `bytes` at `dir` for its lifetime (lazy unmount, so a process still
// holding files cannot make it fail).
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, uint64_t bytes) : dir_(dir) {
    std::filesystem::create_directories(dir);
    const std::string opts = "size=" + std::to_string(bytes);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  const std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes `path` until the file system is full; returns the bytes written.
uint64_t FillUp(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::string chunk(64 << 10, 'f');
  uint64_t written = 0;
  while (true) {
    const size_t n = std::fwrite(chunk.data(), 1, chunk.size(), f);
    written += n;
    if (n < chunk.size()) break;
  }
  // Single bytes into the last partial block.
  while (std::fputc('f', f) != EOF) ++written;
  std::fclose(f);
  return written;
}

TEST(RestartFullDiskTest, RestartOnAFullDiskExitsNamingTheDataDirAndTheSpaceNeeded) {
  // The NOSPACE alarm (issue 14, integ_disk_full_test) would stop writes on this small disk
  // from the start; here only the restart matters.
  TestClusterOptions o;
  o.extra_flags = {"--min_free_disk_bytes=0"};
  TestCluster cluster(o);
  // Declared after the cluster: unmounted first, after the node on it was killed below.
  TmpfsMount disk(cluster.data_dir(kNode), uint64_t{192} << 20);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs (needs root): " << disk.error();
  ASSERT_OK(cluster.StartAll());
  ASSERT_TRUE(cluster.WaitForLeader().ok());
  client::CallOptions co;
  co.timeout = std::chrono::seconds(10);
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(cluster.client().Put("k" + std::to_string(i), std::string(1000, 'v'), co));
  }
  ASSERT_EQ(cluster.Stop(kNode), std::optional<int>(0));

  const std::string filler = cluster.data_dir(kNode) + "/filler";
  ASSERT_GT(FillUp(filler), 0u);
  ASSERT_OK(cluster.Start(kNode));
  ASSERT_TRUE(WaitUntil([&] { return !cluster.Running(kNode); }, std::chrono::seconds(30)))
      << "kvd kept running on a full disk";
  const std::string log = cluster.process(kNode).ReadLog();
  EXPECT_EQ(log.find("Assertion"), std::string::npos) << log;
  EXPECT_NE(log.find("not enough free disk space to open the data directory " +
                     cluster.data_dir(kNode)),
            std::string::npos)
      << cluster.process(kNode).LogTail(10);
  EXPECT_NE(log.find("opening needs"), std::string::npos) << cluster.process(kNode).LogTail(10);
  EXPECT_EQ(cluster.process(kNode).ExitCode(), std::optional<int>(1));
  EXPECT_NE(log.find("kvd: cannot start"), std::string::npos) << cluster.process(kNode).LogTail(3);

  // With space again the node starts and serves what was written before.
  std::filesystem::remove(filler);
  ASSERT_OK(cluster.Start(kNode));
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto kv = cluster.LocalGet(kNode, "k19");
        return kv.ok() && kv->has_value();
      },
      std::chrono::seconds(30)))
      << cluster.process(kNode).LogTail(20);
  cluster.Kill(kNode);
}

}  // namespace
}  // namespace ringkv::integration
