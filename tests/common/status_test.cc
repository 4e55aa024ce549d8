#include "common/status.h"

#include <gtest/gtest.h>

#include <string>

#include "common/result.h"
#include "common/status_macros.h"
#include "testutil/status_matchers.h"

namespace ringkv {
namespace {

TEST(StatusTest, OkHasNoMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = Status::Corruption("bad crc in record 7");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.ToString(), "Corruption: bad crc in record 7");
}

TEST(StatusTest, NotLeaderCarriesHint) {
  Status s = Status::NotLeader("not the leader of group 3", 2);
  EXPECT_TRUE(s.IsNotLeader());
  EXPECT_EQ(s.leader_hint(), 2u);
  EXPECT_EQ(s.ToString(), "NotLeader: not the leader of group 3 (leader hint: 2)");
}

TEST(StatusTest, CopiesCompareEqual) {
  Status a = Status::IOError("disk");
  Status b = a;
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == Status::OK());
}

Result<int> Half(int v) {
  if (v % 2 != 0) return Status::InvalidArgument("odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  ASSIGN_OR_RETURN(int h, Half(v));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int v) {
  RETURN_IF_ERROR(Half(v).status());
  return Status::OK();
}

TEST(ResultTest, ValueAndErrorPropagate) {
  ASSERT_OK(Quarter(8));
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_OK(CheckEven(4));
  EXPECT_FALSE(CheckEven(3).ok());
}

TEST(ResultDeathTest, OkStatusWithoutValueAborts) {
  EXPECT_DEATH({ Result<int> r(Status::OK()); (void)r; }, "without a value");
}

}  // namespace
}  // namespace ringkv
