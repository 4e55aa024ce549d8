#include "server/health.h"

#include <gtest/gtest.h>

#include "server/http_errors.h"

namespace ringkv::server {
namespace {

ReadinessInputs Healthy() {
  ReadinessInputs in;
  in.status_answered = true;
  in.status.set_node_id(1);
  for (uint64_t g = 1; g <= 3; ++g) {
    auto* gs = in.status.add_groups();
    gs->set_group_id(g);
    gs->set_leader(2);
    gs->add_voters(1);
    gs->add_voters(2);
  }
  in.gossip_joined = true;
  in.gossip_detail = "2 other live members";
  return in;
}

TEST(HealthTest, AllPassIsOkAndVerboseListsEveryCheck) {
  auto checks = RunReadinessChecks(Healthy());
  HealthReport r = FormatHealth(checks, false, {}, "readyz");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.body, "ok\n");
  r = FormatHealth(checks, true, {}, "readyz");
  EXPECT_EQ(r.body,
            "[+]loop ok\n[+]storage ok\n[+]gossip ok\n[+]leaders ok\n[+]alarms ok\n"
            "[+]shutdown ok\nreadyz check passed\n");
}

TEST(HealthTest, LeaderlessShardFailsButCatchingUpReplicaDoesNot) {
  ReadinessInputs in = Healthy();
  in.status.mutable_groups(1)->set_leader(0);
  auto* empty = in.status.add_groups();  // an empty replica waiting for its snapshot
  empty->set_group_id(9);
  HealthReport r = FormatHealth(RunReadinessChecks(in), false, {}, "readyz");
  EXPECT_EQ(r.http_status, 503);
  EXPECT_NE(r.body.find("[-]leaders failed: 1 of 4 local shards have no leader: 2"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("readyz check failed"), std::string::npos);
  // Excluding the failing check makes it pass.
  EXPECT_EQ(FormatHealth(RunReadinessChecks(in), false, {"leaders"}, "readyz").http_status, 200);
}

TEST(HealthTest, AlarmStorageShutdownAndLoopFail) {
  ReadinessInputs in = Healthy();
  in.alarms = {"NOSPACE"};
  in.storage_error = "probe write failed: IO error";
  in.draining = true;
  HealthReport r = FormatHealth(RunReadinessChecks(in), false, {}, "readyz");
  EXPECT_EQ(r.http_status, 503);
  EXPECT_NE(r.body.find("[-]alarms failed: NOSPACE"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("[-]storage failed: probe write failed"), std::string::npos);
  EXPECT_NE(r.body.find("[-]shutdown failed"), std::string::npos);
  ReadinessInputs stuck = Healthy();
  stuck.status_answered = false;
  r = FormatHealth(RunReadinessChecks(stuck), false, {}, "readyz");
  EXPECT_NE(r.body.find("[-]loop failed"), std::string::npos);
}

TEST(HealthTest, UnknownExcludeIsAnError) {
  HealthReport r = FormatHealth(RunReadinessChecks(Healthy()), false, {"laeders"}, "readyz");
  EXPECT_EQ(r.http_status, 400);
  EXPECT_NE(r.body.find("unknown check 'laeders'"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::server

namespace ringkv::server {
namespace {

TEST(HttpErrorsTest, OverloadIs429WithRetryAfterAndFullDisk507) {
  kvpb::Error busy;
  busy.set_code(kvpb::BUSY);
  busy.set_definite(true);
  busy.set_retry_after_ms(1500);
  busy.set_message("too many requests");
  http::HttpResponse r = HttpErrorResponse(busy);
  EXPECT_EQ(r.status, 429);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  EXPECT_EQ(r.headers[0].second, "2");
  EXPECT_NE(r.body.find("\"code\":\"BUSY\""), std::string::npos) << r.body;
  kvpb::Error full;
  full.set_code(kvpb::NO_SPACE);
  EXPECT_EQ(HttpErrorResponse(full).status, 507);
  EXPECT_EQ(HttpErrorResponse(full).headers[0].second, "1");
  EXPECT_EQ(HttpStatusFor(kvpb::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatusFor(kvpb::UNKNOWN_OUTCOME), 504);
  EXPECT_EQ(HttpStatusFor(kvpb::CAS_FAILED), 409);
  EXPECT_EQ(HttpStatusFor(kvpb::PERMISSION_DENIED), 403);
  kvpb::Error hint;
  hint.set_code(kvpb::NOT_LEADER);
  hint.set_leader_hint(2);
  EXPECT_NE(HttpErrorResponse(hint).body.find("\"leader\":2"), std::string::npos);
}

TEST(HttpErrorsTest, ClientStatusesMapThroughTheSameTable) {
  // What the client library returns for a call the HTTP/JSON API made.
  http::HttpResponse busy = HttpErrorResponse(
      Status::ResourceExhausted("put rejected: cluster overloaded (3 attempts)"), 2500);
  EXPECT_EQ(busy.status, 429);
  ASSERT_EQ(busy.headers.size(), 1u);
  EXPECT_EQ(busy.headers[0], std::make_pair(std::string("Retry-After"), std::string("3")));
  EXPECT_EQ(HttpErrorResponse(Status::ResourceExhausted("NO_SPACE: disk full"), 0).status, 507);
  EXPECT_EQ(HttpErrorResponse(Status::NotFound("NOT_FOUND: no lease"), 0).status, 404);
  EXPECT_EQ(HttpErrorResponse(Status::FailedPrecondition("CAS_FAILED"), 0).status, 409);
  EXPECT_EQ(HttpErrorResponse(Status::PermissionDenied("user bob"), 0).status, 403);
  EXPECT_EQ(HttpErrorResponse(Status::InvalidArgument("INVALID_ARGUMENT: empty key"), 0).status,
            400);
  EXPECT_EQ(HttpErrorResponse(Status::InvalidArgument("INVALID_ARGUMENT: value of 2000000 bytes "
                                                      "exceeds --max_value_bytes=1048576"),
                              0)
                .status,
            413);
  http::HttpResponse unknown = HttpErrorResponse(
      Status::DeadlineExceeded("put: outcome unknown, the write may or may not have been applied"),
      0);
  EXPECT_EQ(unknown.status, 504);
  EXPECT_NE(unknown.body.find("\"definite\":false"), std::string::npos) << unknown.body;
  EXPECT_NE(unknown.body.find("UNKNOWN_OUTCOME"), std::string::npos) << unknown.body;
  // The leader the client heard of last is the hint of a 503.
  http::HttpResponse unavailable = HttpErrorResponse(
      Status::Unavailable("get failed: cluster unavailable (2 attempts; last error: NOT_LEADER: "
                          "x (leader n1 at 127.0.0.1:1) then NOT_LEADER: y (leader n3 at "
                          "127.0.0.1:7003))"),
      700);
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.headers[0].second, "1");
  EXPECT_NE(unavailable.body.find("\"leader\":3"), std::string::npos) << unavailable.body;
  EXPECT_NE(unavailable.body.find("127.0.0.1:7003"), std::string::npos) << unavailable.body;
}

}  // namespace
}  // namespace ringkv::server
