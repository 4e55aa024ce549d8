// PeekRequestHeader reads the request id and the operation of every request type without
// parsing the message, agrees with a full parse, and refuses truncated or garbled bytes.
#include "server/request_header.h"

#include <gtest/gtest.h>

#include "proto/kv.pb.h"

namespace ringkv::server {
namespace {

TEST(RequestHeaderTest, ReadsIdAndOpOfEveryType) {
  std::vector<kvpb::Request> reqs(15);
  reqs[0].mutable_get()->set_key("k");
  reqs[1].mutable_put()->set_key("k");
  reqs[1].mutable_put()->set_value(std::string(100000, 'v'));
  reqs[2].mutable_delete_()->set_key("k");
  reqs[3].mutable_cas()->set_key("k");
  reqs[4].mutable_append()->set_key("k");
  reqs[5].mutable_scan()->set_limit(3);
  reqs[6].mutable_status()->set_with_digests(true);
  reqs[7].mutable_admin()->set_snapshot(true);
  reqs[8].mutable_txn()->add_success()->mutable_put()->set_value(std::string(100000, 'v'));
  reqs[9].mutable_lease_grant()->set_ttl_ms(5000);
  reqs[10].mutable_lease_revoke()->set_lease_id(1);
  reqs[11].mutable_lease_keep_alive()->set_lease_id(1);
  reqs[12].mutable_lease_ttl()->set_keys(true);
  reqs[13].mutable_watch()->set_key("k");
  reqs[14].mutable_watch_cancel()->set_watch_id(9);
  for (size_t i = 0; i < reqs.size(); ++i) {
    kvpb::Request& r = reqs[i];
    r.set_request_id(1000 + i);
    r.set_group_id(7);
    r.set_client_id(99);
    r.set_sequence(5);
    r.set_timeout_ms(250);
    auto h = PeekRequestHeader(r.SerializeAsString());
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(h->request_id, 1000 + i);
    EXPECT_EQ(h->timeout_ms, 250u);
    EXPECT_EQ(h->op_field, static_cast<int>(r.op_case())) << r.ShortDebugString().substr(0, 80);
    EXPECT_EQ(h->is_control(), r.has_status() || r.has_admin() || r.has_watch_cancel());
  }
}

TEST(RequestHeaderTest, EmptyAndOpLessRequests) {
  auto empty = PeekRequestHeader("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->request_id, 0u);
  EXPECT_EQ(empty->op_field, 0);
  kvpb::Request r;
  r.set_request_id(3);
  auto h = PeekRequestHeader(r.SerializeAsString());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->request_id, 3u);
  EXPECT_EQ(h->op_field, 0);
}

TEST(RequestHeaderTest, RefusesTruncatedAndGarbledBytes) {
  kvpb::Request r;
  r.set_request_id(42);
  r.mutable_put()->set_key("key");
  r.mutable_put()->set_value(std::string(1000, 'x'));
  const std::string bytes = r.SerializeAsString();
  // Cut inside the put's value: the length runs past the end.
  EXPECT_FALSE(PeekRequestHeader(std::string_view(bytes).substr(0, bytes.size() - 10)).ok());
  // Wire type 7 does not exist.
  EXPECT_FALSE(PeekRequestHeader(std::string("\x0f\x01", 2)).ok());
  // A zero tag.
  EXPECT_FALSE(PeekRequestHeader(std::string("\x00\x01", 2)).ok());
}

}  // namespace
}  // namespace ringkv::server
