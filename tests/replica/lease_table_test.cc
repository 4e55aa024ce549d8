// Leases: granted and revoked through the log (revoking deletes the attached keys, recorded as
// changes), reloaded from storage, and expired only by the leader's clock, never early after a
// leader change.
#include "replica/lease_table.h"

#include <gtest/gtest.h>

#include "kv_fixture.h"

namespace ringkv::replica {
namespace {

using std::chrono::milliseconds;

class LeaseTableTest : public KvFixture {
 protected:
  uint64_t Grant(uint64_t index, uint64_t ttl_ms) {
    kvpb::Command c;
    c.mutable_lease_grant()->set_ttl_ms(ttl_ms);
    kvpb::Response r = ApplyOne(c, index);
    EXPECT_TRUE(r.has_lease_grant()) << r.DebugString();
    return r.lease_grant().lease_id();
  }
};

TEST_F(LeaseTableTest, RevokeDeletesAttachedKeys) {
  const uint64_t id = Grant(10, 5000);
  EXPECT_EQ(id, MakeLeaseId(GroupId(1), Index(10)));
  EXPECT_EQ(LeaseGroup(id), GroupId(1));
  ApplyOne(PutCmd("a", "1", id), 11);
  ApplyOne(PutCmd("b", "2", id), 12);
  ApplyOne(PutCmd("b", "3"), 13);  // a put without the lease detaches b
  EXPECT_EQ(leases_->Keys(id), std::vector<std::string>{"a"});

  // The table as another replica (or a restart) loads it.
  LeaseTable reloaded(engine_.get(), GroupId(1));
  ASSERT_OK(reloaded.Load());
  EXPECT_EQ(reloaded.TtlMs(id), 5000u);
  EXPECT_EQ(reloaded.Keys(id), std::vector<std::string>{"a"});

  kvpb::Command revoke;
  revoke.mutable_lease_revoke()->set_lease_id(id);
  kvpb::Response r = ApplyOne(revoke, 14);
  EXPECT_EQ(r.lease_revoke().deleted_keys(), 1u);
  EXPECT_EQ(Value("a"), "<absent>");
  EXPECT_EQ(Value("b"), "3");
  EXPECT_FALSE(leases_->Exists(id));
  ASSERT_EQ(last_changes_.size(), 1u);
  EXPECT_EQ(last_changes_[0].events[0].type(), kvpb::WatchEvent::DELETE);
  EXPECT_EQ(last_changes_[0].events[0].prev_version(), 11u);

  // Gone from storage too, and a second revoke finds nothing.
  LeaseTable after(engine_.get(), GroupId(1));
  ASSERT_OK(after.Load());
  EXPECT_FALSE(after.Exists(id));
  EXPECT_EQ(ApplyOne(revoke, 15).error().code(), kvpb::NOT_FOUND);
  EXPECT_EQ(ApplyOne(PutCmd("c", "x", id), 16).error().code(), kvpb::NOT_FOUND);
  EXPECT_EQ(Value("c"), "<absent>");
}

// With permissions enforced, the node that takes a revoke scopes it to the user's read-write
// prefixes; revoking deletes the attached keys, so a key outside them refuses the whole revoke,
// decided at apply (a key attached after the user asked is covered too).
TEST_F(LeaseTableTest, ScopedRevokeNeedsWritePermissionOnEveryAttachedKey) {
  const uint64_t id = Grant(10, 5000);
  ApplyOne(PutCmd("app/lock", "me", id), 11);
  ApplyOne(PutCmd("other/secret", "s", id), 12);  // attached by someone else
  kvpb::Command revoke;
  revoke.mutable_lease_revoke()->set_lease_id(id);
  revoke.mutable_lease_revoke()->set_scoped(true);
  revoke.mutable_lease_revoke()->add_writable_prefixes("app/");
  revoke.mutable_lease_revoke()->set_scoped_for("user alice");
  kvpb::Response denied = ApplyOne(revoke, 13);
  EXPECT_EQ(denied.error().code(), kvpb::PERMISSION_DENIED) << denied.DebugString();
  EXPECT_TRUE(denied.error().definite());
  EXPECT_NE(denied.error().message().find("user alice"), std::string::npos);
  EXPECT_NE(denied.error().message().find("other/secret"), std::string::npos);
  EXPECT_TRUE(leases_->Exists(id));  // nothing revoked, nothing deleted
  EXPECT_EQ(Value("app/lock"), "me");
  EXPECT_EQ(Value("other/secret"), "s");

  ApplyOne(PutCmd("other/secret", "s2"), 14);  // its owner detaches it
  kvpb::Response ok = ApplyOne(revoke, 15);
  ASSERT_TRUE(ok.has_lease_revoke()) << ok.DebugString();
  EXPECT_EQ(ok.lease_revoke().deleted_keys(), 1u);
  EXPECT_EQ(Value("app/lock"), "<absent>");
  EXPECT_EQ(Value("other/secret"), "s2");
  EXPECT_FALSE(leases_->Exists(id));

  // No prefixes at all: only a lease without keys may be revoked.
  const uint64_t empty = Grant(16, 5000);
  kvpb::Command nothing;
  nothing.mutable_lease_revoke()->set_lease_id(empty);
  nothing.mutable_lease_revoke()->set_scoped(true);
  EXPECT_TRUE(ApplyOne(nothing, 17).has_lease_revoke());
}

TEST_F(LeaseTableTest, ExpiryIsTheLeadersClock) {
  const uint64_t id = Grant(10, 1000);
  const auto t0 = LeaseTable::Clock::time_point() + std::chrono::hours(1);
  EXPECT_TRUE(leases_->TakeExpired(t0 + std::chrono::hours(1), milliseconds(300)).empty())
      << "a follower never expires a lease";
  // A new leader restarts every lease at its TTL plus an election timeout.
  leases_->Promote(t0, milliseconds(300));
  EXPECT_TRUE(leases_->TakeExpired(t0 + milliseconds(1299), milliseconds(300)).empty());
  EXPECT_EQ(leases_->Remaining(id, t0 + milliseconds(300)), milliseconds(1000));
  // A keep-alive restarts the TTL from now.
  EXPECT_EQ(leases_->Refresh(id, t0 + milliseconds(1200)), 1000u);
  EXPECT_TRUE(leases_->TakeExpired(t0 + milliseconds(2199), milliseconds(300)).empty());
  EXPECT_EQ(leases_->TakeExpired(t0 + milliseconds(2200), milliseconds(300)),
            std::vector<uint64_t>{id});
  // Proposed once; again only after the retry interval (a lost revoke).
  EXPECT_TRUE(leases_->TakeExpired(t0 + milliseconds(2300), milliseconds(300)).empty());
  EXPECT_EQ(leases_->TakeExpired(t0 + milliseconds(2500), milliseconds(300)),
            std::vector<uint64_t>{id});
  leases_->Demote();
  EXPECT_EQ(leases_->Refresh(id, t0), std::nullopt);
  EXPECT_EQ(leases_->Remaining(id, t0), std::nullopt);
}

}  // namespace
}  // namespace ringkv::replica
