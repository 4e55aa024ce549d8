// The one Status -> wire error table (server/wire_errors.h): every Status code, the hints, and
// the round trip through the client library's FinalStatus (client/error_policy.h).
#include "server/wire_errors.h"

#include <gtest/gtest.h>

#include <vector>

#include "client/error_policy.h"
#include "server/http_errors.h"

namespace ringkv::server {
namespace {

struct Row {
  Status status;
  kvpb::ErrorCode code;
  bool definite;
  uint32_t retry_after_ms;  // with 250 given
};

TEST(WireErrorsTest, EveryStatusCodeHasOneWireCode) {
  const std::vector<Row> rows = {
      {Status::OK(), kvpb::OK, true, 0},
      {Status::NotFound("no key"), kvpb::NOT_FOUND, true, 0},
      {Status::InvalidArgument("empty key"), kvpb::INVALID_ARGUMENT, true, 0},
      {Status(StatusCode::kAlreadyExists, "twice"), kvpb::INVALID_ARGUMENT, true, 0},
      {Status::FailedPrecondition("compare failed"), kvpb::CAS_FAILED, true, 0},
      {Status::PermissionDenied("user bob"), kvpb::PERMISSION_DENIED, true, 0},
      {Status::ResourceExhausted("too many requests"), kvpb::BUSY, true, 250},
      {Status::ResourceExhausted("NO_SPACE: disk full"), kvpb::NO_SPACE, true, 250},
      {Status::Unavailable("rules stale"), kvpb::UNAVAILABLE, true, 250},
      {Status::NotLeader("not the leader", 3), kvpb::NOT_LEADER, true, 250},
      {Status(StatusCode::kDeadlineExceeded, "read timed out"), kvpb::TIMEOUT, false, 0},
      {Status(StatusCode::kDeadlineExceeded, "put: outcome unknown"), kvpb::UNKNOWN_OUTCOME,
       false, 0},
      {Status(StatusCode::kAborted, "aborted"), kvpb::INTERNAL, false, 0},
      {Status(StatusCode::kCorruption, "bad block"), kvpb::INTERNAL, false, 0},
      {Status(StatusCode::kIOError, "disk"), kvpb::INTERNAL, false, 0},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.status.ToString());
    const kvpb::Error e = ErrorFromStatus(row.status, 250);
    EXPECT_EQ(e.code(), row.code);
    EXPECT_EQ(e.definite(), row.definite);
    EXPECT_EQ(e.retry_after_ms(), row.retry_after_ms);
    EXPECT_EQ(e.message(), row.status.message());
  }
}

TEST(WireErrorsTest, LeaderHintFromTheStatusOrItsMessage) {
  EXPECT_EQ(ErrorFromStatus(Status::NotLeader("not the leader", 3), 0).leader_hint(), 3u);
  const kvpb::Error named = ErrorFromStatus(
      Status::Unavailable("NOT_LEADER: x (leader n1) then NOT_LEADER: y (leader n2 at h:7002)"),
      0);
  EXPECT_EQ(named.leader_hint(), 2u);
  EXPECT_EQ(named.leader_address(), "h:7002");
  EXPECT_EQ(ErrorFromStatus(Status::Unavailable("no leader"), 0).leader_hint(), 0u);
}

// A wire error the client library turned into a Status answers as the same code again (the
// HTTP API answers a failed client call through this table).
TEST(WireErrorsTest, RoundTripThroughTheClientLibrary) {
  for (kvpb::ErrorCode code : {kvpb::INVALID_ARGUMENT, kvpb::NOT_FOUND, kvpb::CAS_FAILED,
                               kvpb::BUSY, kvpb::NO_SPACE, kvpb::PERMISSION_DENIED,
                               kvpb::UNAVAILABLE}) {
    kvpb::Error wire;
    wire.set_code(code);
    wire.set_definite(true);
    wire.set_message("m");
    SCOPED_TRACE(kvpb::ErrorCode_Name(code));
    EXPECT_EQ(ErrorFromStatus(client::FinalStatus(wire), 0).code(), code);
  }
}

// The HTTP status follows from the wire code, so the client port and the HTTP API agree: a
// failed compare is 409 CAS_FAILED on both, not 400.
TEST(WireErrorsTest, HttpAnswersFollowTheTable) {
  EXPECT_EQ(HttpErrorResponse(Status::FailedPrecondition("compare failed"), 0).status, 409);
  EXPECT_EQ(HttpErrorResponse(Status::PermissionDenied("user bob"), 0).status, 403);
  EXPECT_EQ(HttpErrorResponse(Status::Unavailable("rules stale"), 100).status, 503);
  EXPECT_EQ(HttpErrorResponse(Status(StatusCode::kIOError, "disk"), 0).status, 500);
}

}  // namespace
}  // namespace ringkv::server
