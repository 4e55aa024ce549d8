// The applier must give the same result whether committed entries arrive in one batch or many:
// all replicas apply the same log, but a replica catching up sees longer batches.
#include "replica/applier.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "storage/engine.h"
#include "testutil/status_matchers.h"

namespace ringkv::replica {
namespace {

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ringkv_applier_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    storage::EngineOptions o;
    o.path = dir_.string();
    auto e = storage::Engine::Open(o);
    ASSERT_OK(e);
    engine_ = std::move(e).value();
    kv_ = std::make_unique<storage::KvState>(engine_.get(), GroupId(1));
    ASSERT_OK(kv_->Load());
  }
  void TearDown() override {
    kv_.reset();
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  static kvpb::Command Append(uint64_t client, uint64_t seq, const std::string& key,
                              const std::string& suffix) {
    kvpb::Command c;
    c.set_client_id(client);
    c.set_sequence(seq);
    c.mutable_append()->set_key(key);
    c.mutable_append()->set_suffix(suffix);
    return c;
  }

  // Applies `cmds` at indexes 10, 11, ... in batches of `batch_size`; returns the final value.
  std::string ApplyInBatches(const std::vector<kvpb::Command>& cmds, size_t batch_size) {
    size_t i = 0;
    while (i < cmds.size()) {
      storage::WriteBatch batch;
      Applier a(kv_.get(), &batch);
      for (size_t k = 0; k < batch_size && i < cmds.size(); ++k, ++i) {
        EXPECT_OK(a.Apply(cmds[i], Index(10 + i)));
      }
      EXPECT_OK(engine_->Write(batch, false));
    }
    auto v = kv_->Get("list");
    EXPECT_OK(v);
    return v->has_value() ? (*v)->value : "";
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Engine> engine_;
  std::unique_ptr<storage::KvState> kv_;
};

TEST_F(ApplierTest, RetryInSameBatchAppliesOnce) {
  // The original write and its retry (same session and sequence) land in one batch.
  std::vector<kvpb::Command> cmds = {Append(7, 1, "list", "a,"), Append(9, 1, "list", "b,"),
                                     Append(7, 1, "list", "a,")};
  EXPECT_EQ(ApplyInBatches(cmds, 3), "a,b,");
}

TEST_F(ApplierTest, SameResultWhateverTheBatching) {
  std::vector<kvpb::Command> cmds = {Append(7, 1, "list", "a,"), Append(7, 1, "list", "a,"),
                                     Append(7, 2, "list", "c,"), Append(8, 1, "list", "d,"),
                                     Append(7, 2, "list", "c,"), Append(7, 1, "list", "a,")};
  EXPECT_EQ(ApplyInBatches(cmds, 1), "a,c,d,");
}

TEST_F(ApplierTest, SameResultInOneBatch) {
  std::vector<kvpb::Command> cmds = {Append(7, 1, "list", "a,"), Append(7, 1, "list", "a,"),
                                     Append(7, 2, "list", "c,"), Append(8, 1, "list", "d,"),
                                     Append(7, 2, "list", "c,"), Append(7, 1, "list", "a,")};
  EXPECT_EQ(ApplyInBatches(cmds, 6), "a,c,d,");
}

TEST_F(ApplierTest, CasSeesEarlierWriteOfTheBatch) {
  kvpb::Command put;
  put.mutable_put()->set_key("k");
  put.mutable_put()->set_value("1");
  kvpb::Command cas;
  cas.mutable_cas()->set_key("k");
  cas.mutable_cas()->set_expected_value("1");
  cas.mutable_cas()->set_new_value("2");
  storage::WriteBatch batch;
  Applier a(kv_.get(), &batch);
  ASSERT_OK(a.Apply(put, Index(10)));
  auto r = a.Apply(cas, Index(11));
  ASSERT_OK(r);
  EXPECT_TRUE(r->cas().succeeded());
}

}  // namespace
}  // namespace ringkv::replica
