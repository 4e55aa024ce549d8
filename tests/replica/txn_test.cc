// Transactions: etcd's compare semantics, the branch taken, operations seeing earlier ones,
// all-or-nothing with unknown leases, the changes recorded for watchers, and the checks made
// before a transaction is proposed.
#include "replica/txn.h"

#include <gtest/gtest.h>

#include "kv_fixture.h"

namespace ringkv::replica {
namespace {

kvpb::Compare Cmp(const std::string& key, kvpb::Compare::Target t, kvpb::Compare::Op op) {
  kvpb::Compare c;
  c.set_key(key);
  c.set_target(t);
  c.set_op(op);
  return c;
}

class TxnTest : public KvFixture {};

TEST_F(TxnTest, CompareSemantics) {
  storage::VersionedValue v{"b", Index(10), 0};
  auto value = [](const std::string& want, kvpb::Compare::Op op) {
    kvpb::Compare c = Cmp("k", kvpb::Compare::VALUE, op);
    c.set_value(want);
    return c;
  };
  EXPECT_TRUE(CompareHolds(value("b", kvpb::Compare::EQUAL), v));
  EXPECT_TRUE(CompareHolds(value("a", kvpb::Compare::GREATER), v));
  EXPECT_TRUE(CompareHolds(value("c", kvpb::Compare::LESS), v));
  EXPECT_TRUE(CompareHolds(value("x", kvpb::Compare::NOT_EQUAL), v));
  // As etcd: a value comparison with an absent key fails, even NOT_EQUAL.
  EXPECT_FALSE(CompareHolds(value("x", kvpb::Compare::NOT_EQUAL), std::nullopt));

  kvpb::Compare absent = Cmp("k", kvpb::Compare::VERSION, kvpb::Compare::EQUAL);
  absent.set_version(0);
  EXPECT_TRUE(CompareHolds(absent, std::nullopt));
  EXPECT_FALSE(CompareHolds(absent, v));
  kvpb::Compare newer = Cmp("k", kvpb::Compare::VERSION, kvpb::Compare::GREATER);
  newer.set_version(9);
  EXPECT_TRUE(CompareHolds(newer, v));
  kvpb::Compare lease = Cmp("k", kvpb::Compare::LEASE, kvpb::Compare::EQUAL);
  lease.set_lease(0);
  EXPECT_TRUE(CompareHolds(lease, v));
}

TEST_F(TxnTest, TakesTheBranchTheComparesChoose) {
  ApplyOne(PutCmd("a", "1"), 10);
  kvpb::Command cmd;
  kvpb::TxnRequest* t = cmd.mutable_txn();
  kvpb::Compare c = Cmp("a", kvpb::Compare::VALUE, kvpb::Compare::EQUAL);
  c.set_value("1");
  *t->add_compare() = c;
  t->add_success()->mutable_put()->set_key("b");
  t->mutable_success(0)->mutable_put()->set_value("yes");
  t->add_success()->mutable_get()->set_key("b");  // sees the put above
  t->add_success()->mutable_delete_()->set_key("a");
  t->add_failure()->mutable_put()->set_key("b");
  t->mutable_failure(0)->mutable_put()->set_value("no");

  kvpb::Response r = ApplyOne(cmd, 11);
  ASSERT_TRUE(r.has_txn()) << r.DebugString();
  EXPECT_TRUE(r.txn().succeeded());
  EXPECT_EQ(r.txn().version(), 11u);
  ASSERT_EQ(r.txn().results_size(), 3);
  EXPECT_EQ(r.txn().results(1).get().kv().value(), "yes");
  EXPECT_EQ(r.txn().results(1).get().kv().version(), 11u);
  EXPECT_TRUE(r.txn().results(2).delete_().deleted());
  EXPECT_EQ(Value("b"), "yes");
  EXPECT_EQ(Value("a"), "<absent>");
  // Both changes at version 11, in order, with the versions they replaced.
  ASSERT_EQ(last_changes_.size(), 1u);
  ASSERT_EQ(last_changes_[0].events.size(), 2u);
  EXPECT_EQ(last_changes_[0].events[0].key(), "b");
  EXPECT_EQ(last_changes_[0].events[0].prev_version(), 0u);
  EXPECT_EQ(last_changes_[0].events[1].type(), kvpb::WatchEvent::DELETE);
  EXPECT_EQ(last_changes_[0].events[1].prev_version(), 10u);

  // Now "a" is absent: the same transaction takes the failure branch.
  r = ApplyOne(cmd, 12);
  EXPECT_FALSE(r.txn().succeeded());
  EXPECT_EQ(Value("b"), "no");
}

TEST_F(TxnTest, UnknownLeaseAppliesNothing) {
  kvpb::Command cmd;
  kvpb::TxnRequest* t = cmd.mutable_txn();
  t->add_success()->mutable_put()->set_key("x");
  t->add_success()->mutable_put()->set_key("y");
  t->mutable_success(1)->mutable_put()->set_lease(MakeLeaseId(GroupId(1), Index(3)));
  kvpb::Response r = ApplyOne(cmd, 10);
  EXPECT_EQ(r.error().code(), kvpb::NOT_FOUND);
  EXPECT_EQ(Value("x"), "<absent>");
  EXPECT_TRUE(last_changes_.empty());
}

TEST(TxnValidateTest, RefusesWhatCannotBeProposed) {
  TxnLimits limits{8, 16, 2};
  kvpb::TxnRequest empty;
  EXPECT_EQ(ValidateTxn(empty, limits), "empty transaction");

  kvpb::TxnRequest twice;
  twice.add_success()->mutable_put()->set_key("k");
  twice.add_success()->mutable_delete_()->set_key("k");
  ASSERT_TRUE(ValidateTxn(twice, limits).has_value());
  EXPECT_NE(ValidateTxn(twice, limits)->find("written twice"), std::string::npos);

  kvpb::TxnRequest many;
  for (int i = 0; i < 3; ++i) many.add_failure()->mutable_get()->set_key("k" + std::to_string(i));
  EXPECT_NE(ValidateTxn(many, limits)->find("--max_txn_ops=2"), std::string::npos);

  kvpb::TxnRequest long_key;
  long_key.add_success()->mutable_get()->set_key("123456789");
  EXPECT_NE(ValidateTxn(long_key, limits)->find("--max_key_bytes=8"), std::string::npos);

  kvpb::TxnRequest big;
  big.add_success()->mutable_put()->set_key("k");
  big.mutable_success(0)->mutable_put()->set_value(std::string(17, 'v'));
  EXPECT_NE(ValidateTxn(big, limits)->find("--max_value_bytes=16"), std::string::npos);

  kvpb::TxnRequest ok;
  ok.add_success()->mutable_get()->set_key("k");
  ok.add_success()->mutable_put()->set_key("k");  // a get and one write of the same key
  EXPECT_EQ(ValidateTxn(ok, limits), std::nullopt);
}

}  // namespace
}  // namespace ringkv::replica
