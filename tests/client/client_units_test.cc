// Unit tests of the client's pure pieces: the retry policy table (error_policy.h), request /
// response conversion (convert.h), the router's leader cache and rotation (router.h), session
// lanes (lane_pool.h) and backoff (backoff.h). One binary to keep link time down.
#include <gtest/gtest.h>

#include <set>

#include "client/backoff.h"
#include "client/convert.h"
#include "client/error_policy.h"
#include "client/lane_pool.h"
#include "client/router.h"
#include "testutil/status_matchers.h"

namespace ringkv::client {
namespace {

using std::chrono::milliseconds;

kvpb::Response WithError(kvpb::ErrorCode code, bool definite, std::string leader_address = "") {
  kvpb::Response r;
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_definite(definite);
  r.mutable_error()->set_leader_address(leader_address);
  return r;
}

TEST(ErrorPolicyTest, ClassifiesEveryCode) {
  EXPECT_EQ(Classify(kvpb::Response()), Action::kDone);
  EXPECT_EQ(Classify(WithError(kvpb::OK, true)), Action::kDone);
  EXPECT_EQ(Classify(WithError(kvpb::NOT_FOUND, true)), Action::kDone);
  EXPECT_EQ(Classify(WithError(kvpb::CAS_FAILED, true)), Action::kDone);
  EXPECT_EQ(Classify(WithError(kvpb::NOT_LEADER, true, "h:1")), Action::kRedirect);
  EXPECT_EQ(Classify(WithError(kvpb::NOT_LEADER, true)), Action::kBackoffRotate);
  EXPECT_EQ(Classify(WithError(kvpb::NO_LEADER, true)), Action::kBackoffRotate);
  EXPECT_EQ(Classify(WithError(kvpb::WRONG_SHARD, true)), Action::kBackoffRotate);
  EXPECT_EQ(Classify(WithError(kvpb::BUSY, true)), Action::kBackoffSame);
  EXPECT_EQ(Classify(WithError(kvpb::UNAVAILABLE, true)), Action::kBackoffRotate);
  EXPECT_EQ(Classify(WithError(kvpb::UNAVAILABLE, false)), Action::kRetryUnknown);
  EXPECT_EQ(Classify(WithError(kvpb::TIMEOUT, false)), Action::kRetryUnknown);
  EXPECT_EQ(Classify(WithError(kvpb::UNKNOWN_OUTCOME, false)), Action::kRetryUnknown);
  EXPECT_EQ(Classify(WithError(kvpb::INTERNAL, false)), Action::kRetryUnknown);
  EXPECT_EQ(Classify(WithError(kvpb::INVALID_ARGUMENT, true)), Action::kFail);
  EXPECT_EQ(Classify(WithError(static_cast<kvpb::ErrorCode>(99), false)), Action::kRetryUnknown);
}

TEST(ErrorPolicyTest, FinalStatusAndDescription) {
  kvpb::Error e;
  e.set_code(kvpb::INVALID_ARGUMENT);
  e.set_message("value of 2000000 bytes over the 1048576 limit");
  EXPECT_EQ(FinalStatus(e).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FinalStatus(e).message(),
            "INVALID_ARGUMENT: value of 2000000 bytes over the 1048576 limit");
  e.set_code(kvpb::NOT_LEADER);
  e.set_message("");
  e.set_leader_hint(3);
  e.set_leader_address("127.0.0.1:7003");
  EXPECT_EQ(DescribeError(e), "NOT_LEADER (leader n3 at 127.0.0.1:7003)");
}

TEST(ConvertTest, CasRequestCarriesExactlyOneCondition) {
  EXPECT_EQ(MakeCas("k", Expect::Value("v"), "n").cas().expect_case(),
            kvpb::CasRequest::kExpectedValue);
  const auto by_version = MakeCas("k", Expect::Version(0), "n");
  EXPECT_EQ(by_version.cas().expect_case(), kvpb::CasRequest::kExpectedVersion);
  EXPECT_EQ(by_version.cas().expected_version(), 0u);
  EXPECT_EQ(MakeCas("k", Expect::Absent(), "n").cas().expect_case(),
            kvpb::CasRequest::kExpectAbsent);
}

TEST(ConvertTest, ResponsesToResults) {
  kvpb::Response get;
  get.mutable_get()->set_found(true);
  get.mutable_get()->mutable_kv()->set_value("v");
  get.mutable_get()->mutable_kv()->set_version(9);
  auto g = ToGet(get);
  ASSERT_OK(g);
  ASSERT_TRUE(g->has_value());
  EXPECT_EQ((*g)->version, 9u);
  auto nf = ToGet(WithError(kvpb::NOT_FOUND, true));
  ASSERT_OK(nf);
  EXPECT_FALSE(nf->has_value());

  auto cas_failed = WithError(kvpb::CAS_FAILED, true);
  cas_failed.mutable_cas()->set_found(true);
  cas_failed.mutable_cas()->mutable_current()->set_value("cur");
  cas_failed.mutable_cas()->mutable_current()->set_version(4);
  auto c = ToCas(cas_failed);
  ASSERT_OK(c);
  EXPECT_FALSE(c->succeeded);
  ASSERT_TRUE(c->current.has_value());
  EXPECT_EQ(c->current->value, "cur");
  EXPECT_EQ(c->current->version, 4u);

  kvpb::Response cas_absent;  // compare failed without an error code, key absent
  cas_absent.mutable_cas()->set_succeeded(false);
  auto ca = ToCas(cas_absent);
  ASSERT_OK(ca);
  EXPECT_FALSE(ca->succeeded);
  EXPECT_FALSE(ca->current.has_value());

  // A put answer without a put result is a protocol error, not a success.
  EXPECT_EQ(ToPut(kvpb::Response()).status().code(), StatusCode::kUnavailable);
}

TEST(RouterTest, LeaderCacheAndRotation) {
  Router r({"a:1", "b:2"});
  EXPECT_EQ(r.GroupFor("any"), GroupId(0));
  EXPECT_EQ(r.LeaderFor(GroupId(0)), "");
  EXPECT_EQ(r.NextEndpoint(""), "a:1");
  EXPECT_EQ(r.NextEndpoint("a:1"), "b:2");
  EXPECT_EQ(r.NextEndpoint("b:2"), "a:1");
  r.SetLeader(GroupId(0), "c:3");  // learned from a hint: joins the rotation
  EXPECT_EQ(r.LeaderFor(GroupId(0)), "c:3");
  EXPECT_EQ(r.NextEndpoint("b:2"), "c:3");
  EXPECT_EQ(r.endpoint_count(), 3u);
  r.ForgetLeader(GroupId(0), "a:1");  // stale failure: keeps the newer hint
  EXPECT_EQ(r.LeaderFor(GroupId(0)), "c:3");
  r.ForgetLeader(GroupId(0), "c:3");
  EXPECT_EQ(r.LeaderFor(GroupId(0)), "");
}

TEST(LanePoolTest, SequencesAdvancePerLaneAndLanesAreReused) {
  LanePool pool(42);
  Session a = pool.Acquire();
  Session b = pool.Acquire();
  EXPECT_NE(a.client_id, 0u);
  EXPECT_NE(a.client_id, b.client_id);
  EXPECT_EQ(a.sequence, 1u);
  EXPECT_EQ(pool.in_use(), 2u);
  pool.Release(a);
  Session a2 = pool.Acquire();
  EXPECT_EQ(a2.client_id, a.client_id);
  EXPECT_EQ(a2.sequence, 2u);
  pool.Release(a2);
  pool.Release(b);
  EXPECT_EQ(pool.lane_count(), 2u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BackoffTest, DoublesWithinJitterUpToCapAndHonoursFloor) {
  Backoff b(milliseconds(10), milliseconds(80), 7);
  const int64_t caps[] = {10, 20, 40, 80, 80, 80};
  for (int64_t cap : caps) {
    const auto d = b.Next().count();
    EXPECT_GE(d, cap / 2);
    EXPECT_LE(d, cap);
  }
  EXPECT_EQ(b.Next(milliseconds(500)).count(), 500);
}

}  // namespace
}  // namespace ringkv::client
