// Unit tests of the client's pure pieces: the retry policy table (error_policy.h), request /
// response conversion (convert.h), the router's leader cache and rotation (router.h), write
// sessions (session_pool.h) and backoff (backoff.h). One binary to keep link time down.
#include <gtest/gtest.h>

#include <set>

#include "client/backoff.h"
#include "client/convert.h"
#include "client/error_policy.h"
#include "client/router.h"
#include "client/session_pool.h"
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
  EXPECT_EQ(Classify(WithError(kvpb::SESSION_EXPIRED, false)), Action::kSessionExpired);
  EXPECT_EQ(Classify(WithError(kvpb::PERMISSION_DENIED, true)), Action::kFail);
  EXPECT_EQ(Classify(WithError(static_cast<kvpb::ErrorCode>(99), false)), Action::kRetryUnknown);
}

TEST(ErrorPolicyTest, FinalStatusAndDescription) {
  kvpb::Error e;
  e.set_code(kvpb::INVALID_ARGUMENT);
  e.set_message("value of 2000000 bytes over the 1048576 limit");
  EXPECT_EQ(FinalStatus(e).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FinalStatus(e).message(),
            "INVALID_ARGUMENT: value of 2000000 bytes over the 1048576 limit");
  e.set_code(kvpb::PERMISSION_DENIED);
  EXPECT_EQ(FinalStatus(e).code(), StatusCode::kPermissionDenied);
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

// Deterministic sources for SessionPool tests: ids 101, 102, ...; a settable clock.
struct TestSources {
  uint64_t next_id = 101;
  uint64_t now = 5000;
  SessionPool::Sources Get() {
    return {[this] { return next_id++; }, [this] { return now; }};
  }
};

TEST(SessionPoolTest, ManyWritesInFlightShareOneSessionAndTrackTheFirstIncomplete) {
  TestSources src;
  SessionPool pool(256, src.Get());
  WriteSession a = pool.Acquire(), b = pool.Acquire(), c = pool.Acquire();
  EXPECT_EQ(a.client_id, 101u);
  EXPECT_EQ(b.client_id, a.client_id);
  EXPECT_EQ(c.client_id, a.client_id);
  EXPECT_EQ(a.sequence, 1u);
  EXPECT_EQ(b.sequence, 2u);
  EXPECT_EQ(c.sequence, 3u);
  EXPECT_EQ(pool.StartedMs(a.client_id), 5000u);
  EXPECT_EQ(pool.FirstIncomplete(a.client_id), 1u);
  pool.Complete(b);  // out of order: 1 is still awaited
  EXPECT_EQ(pool.FirstIncomplete(a.client_id), 1u);
  pool.Complete(a);
  EXPECT_EQ(pool.FirstIncomplete(a.client_id), 3u);
  pool.Complete(c);
  EXPECT_EQ(pool.FirstIncomplete(a.client_id), 4u);  // nothing awaited: the next sequence
  EXPECT_EQ(pool.Acquire().sequence, 4u);
  EXPECT_EQ(pool.session_count(), 1u);
}

TEST(SessionPoolTest, ASlowWriteHoldsBackOnlyItsOwnSession) {
  // The span (next sequence - first incomplete) of a session stays below max_span, so the
  // servers never keep more than max_span answers for it.
  TestSources src;
  SessionPool pool(4, src.Get());
  std::vector<WriteSession> first;
  for (int i = 0; i < 4; ++i) first.push_back(pool.Acquire());
  const WriteSession other = pool.Acquire();
  EXPECT_NE(other.client_id, first[0].client_id);
  EXPECT_EQ(other.sequence, 1u);
  // 2..4 finish, 1 is slow: the first session's span is still 4 (1..4 awaited or above 1).
  for (int i = 1; i < 4; ++i) pool.Complete(first[static_cast<size_t>(i)]);
  const WriteSession next = pool.Acquire();
  EXPECT_EQ(next.client_id, other.client_id);
  pool.Complete(first[0]);  // now the first session has room again
  pool.Complete(other);
  pool.Complete(next);
  EXPECT_EQ(pool.in_flight(), 0u);
  EXPECT_EQ(pool.session_count(), 2u);
}

TEST(SessionPoolTest, ExpiredSessionTakesNoNewWritesAndLaterSessionsStartAfterTheHorizon) {
  TestSources src;
  SessionPool pool(256, src.Get());
  const WriteSession a = pool.Acquire();
  pool.Expire(a.client_id, /*expired_through_ms=*/9000);  // a server's clock ran ahead
  const WriteSession b = pool.Acquire();
  EXPECT_NE(b.client_id, a.client_id);
  EXPECT_EQ(pool.StartedMs(b.client_id), 9001u);  // not 5000: that would be refused again
  EXPECT_EQ(pool.session_count(), 2u);
  pool.Complete(a);  // the expired session goes once idle
  EXPECT_EQ(pool.session_count(), 1u);
  src.now = 20000;
  pool.Expire(b.client_id, 100);  // an older horizon does not lower the floor
  pool.Complete(b);
  EXPECT_EQ(pool.StartedMs(pool.Acquire().client_id), 20000u);
}

TEST(SessionPoolTest, DefaultIdsAreRandomNotSeeded) {
  // kvbench ran twice with the same --seed reused the first run's sessions: its writes were
  // answered "stale session sequence" or, worse, with the first run's cached answers.
  SessionPool a, b;
  EXPECT_NE(a.Acquire().client_id, b.Acquire().client_id);
}

TEST(BackoffTest, DoublesWithinJitterUpToCapAndHonoursFloor) {
  Backoff b(milliseconds(10), milliseconds(80), 7);
  const int64_t caps[] = {10, 20, 40, 80, 80, 80};
  for (int64_t cap : caps) {
    const auto d = b.Next().count();
    EXPECT_GE(d, cap / 2);
    EXPECT_LE(d, cap);
  }
  // A server's retry_after is a floor, jittered up to 1.5x so shed clients spread out.
  std::set<int64_t> seen;
  for (int i = 0; i < 50; ++i) {
    const auto d = b.Next(milliseconds(500)).count();
    EXPECT_GE(d, 500);
    EXPECT_LE(d, 750);
    seen.insert(d);
  }
  EXPECT_GT(seen.size(), 10u) << "retry_after is not jittered";
}

}  // namespace
}  // namespace ringkv::client
