// storage/rocks_crc32c.h: RocksDB's CRC-32C is ringkv's hardware one, which gives the
// library's own results bit for bit, so files stay readable both ways.
#include "storage/rocks_crc32c.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "storage/engine.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace rocksdb::crc32c {
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);
}  // namespace rocksdb::crc32c

namespace ringkv::storage {
namespace {

using ExtendFn = uint32_t (*)(uint32_t, const char*, size_t);
constexpr const char* kExtendSymbol = "_ZN7rocksdb6crc32c6ExtendEjPKcm";

// Debian's RocksDB's own (table-driven) definition, from its shared library, loaded beside the
// static copy this test links (RTLD_LOCAL: its symbols stay its own). Null when it is missing.
ExtendFn LibraryExtend() {
  for (const char* name : {"librocksdb.so.7.8", "librocksdb.so"}) {
    if (void* lib = ::dlopen(name, RTLD_NOW | RTLD_LOCAL)) {
      return reinterpret_cast<ExtendFn>(::dlsym(lib, kExtendSymbol));
    }
  }
  return nullptr;
}

TEST(RocksCrc32cTest, TheBuildReplacedIt) {
  // CMake made the weak archive here (its configure log says so); where it cannot,
  // RocksDB keeps its own CRC and this test has nothing to check.
  if (!RocksCrc32cIsOurs()) GTEST_SKIP() << "built without the weak librocksdb archive";
  EXPECT_EQ(rocksdb::crc32c::Extend(0, "123456789", 9), 0xe3069283u);
}

TEST(RocksCrc32cTest, OursGivesTheLibrarysResults) {
  // RocksDB's and LevelDB's test vectors first, then random data of every length to 300 and
  // some long ones, continued from random earlier values (Extend's contract).
  const std::string zeros(32, '\0'), ones(32, '\xff');
  std::string up, down;
  for (int i = 0; i < 32; ++i) {
    up.push_back(static_cast<char>(i));
    down.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(rocksdb::crc32c::Extend(0, zeros.data(), zeros.size()), 0x8a9136aau);
  EXPECT_EQ(rocksdb::crc32c::Extend(0, ones.data(), ones.size()), 0x62a8ab43u);
  EXPECT_EQ(rocksdb::crc32c::Extend(0, up.data(), up.size()), 0x46dd794eu);
  EXPECT_EQ(rocksdb::crc32c::Extend(0, down.data(), down.size()), 0x113fdb5cu);
  EXPECT_EQ(rocksdb::crc32c::Extend(0, "123456789", 9), 0xe3069283u);

  ExtendFn library = LibraryExtend();
  if (library == nullptr) GTEST_SKIP() << "librocksdb.so not found to compare with";
  ASSERT_NE(reinterpret_cast<void*>(library), reinterpret_cast<void*>(&rocksdb::crc32c::Extend));
  std::mt19937_64 rng(7);
  std::string data(1 << 17, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t n = 0; n < 300; ++n) {
    const auto init = static_cast<uint32_t>(rng());
    const size_t at = rng() % 64;
    ASSERT_EQ(rocksdb::crc32c::Extend(init, data.data() + at, n), library(init, data.data() + at, n))
        << "length " << n << " at offset " << at;
  }
  for (size_t n : {size_t{4096}, size_t{65536} + 3, data.size() - 1}) {
    ASSERT_EQ(rocksdb::crc32c::Extend(1, data.data() + 1, n), library(1, data.data() + 1, n));
  }
}

TEST(RocksCrc32cTest, BlobValuesWrittenAndReadBackThroughIt) {
  // Blob records carry a CRC-32C of key and value, checked on every read: a value of 64 KiB
  // written, flushed into a blob file, then read back after a reopen.
  testing::TempDir dir;
  std::string value(65536, 'v');
  for (size_t i = 0; i < value.size(); i += 97) value[i] = static_cast<char>(i);
  {
    auto e = Engine::Open(EngineOptions{.path = dir.path(), .data_blob_min_bytes = 4096});
    ASSERT_OK(e);
    WriteBatch b;
    b.Put(Cf::kData, "big", value);
    ASSERT_OK((*e)->Write(b, /*sync=*/true));
    ASSERT_OK((*e)->FlushUnlogged(/*wait=*/true));
  }
  auto e = Engine::Open(EngineOptions{.path = dir.path(), .data_blob_min_bytes = 4096});
  ASSERT_OK(e);
  auto got = (*e)->Get(Cf::kData, "big");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, value);  // Get checks the record's envelope and returns its payload
}

}  // namespace
}  // namespace ringkv::storage
