#include "common/coding.h"

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "common/ids.h"
#include "common/random.h"

namespace ringkv {
namespace {

TEST(CodingTest, BigEndianRoundTripAndOrder) {
  std::string a, b;
  PutFixed64BE(&a, 255);
  PutFixed64BE(&b, 256);
  EXPECT_LT(a, b);  // byte order is numeric order
  std::string_view in = a;
  uint64_t v = 0;
  ASSERT_TRUE(GetFixed64BE(&in, &v));
  EXPECT_EQ(v, 255u);
  EXPECT_TRUE(in.empty());
  EXPECT_FALSE(GetFixed64BE(&in, &v));
}

TEST(CodingTest, Fixed32) {
  std::string s;
  PutFixed32BE(&s, 0x01020304);
  EXPECT_EQ(s, std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(DecodeFixed32BE(s.data()), 0x01020304u);
}

TEST(Crc32cTest, StandardCheckValue) {
  EXPECT_EQ(crc32c::Value("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c::Value(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s = "hello, raft world; a longer string to cross 8-byte blocks";
  uint32_t part = crc32c::Value(s.data(), 10);
  EXPECT_EQ(crc32c::Extend(part, s.data() + 10, s.size() - 10), crc32c::Value(s));
}

TEST(IdsTest, StrongIdArithmetic) {
  Index i(5);
  EXPECT_EQ(i + 1, Index(6));
  EXPECT_EQ(Index(9) - i, 4u);
  EXPECT_LT(Index(1), Index(2));
}

TEST(RandomTest, DeterministicForSeed) {
  Random a(42), b(42);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Next(), b.Next());
  Random c(7);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(c.Uniform(10), 10u);
}

}  // namespace
}  // namespace ringkv
