// A group's KvState and lease table over a fresh engine in a temp dir, for the replica unit
// tests that drive the Applier directly.
#ifndef RINGKV_TESTS_REPLICA_KV_FIXTURE_H_
#define RINGKV_TESTS_REPLICA_KV_FIXTURE_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "replica/applier.h"
#include "replica/lease_table.h"
#include "storage/engine.h"
#include "storage/kv_state.h"
#include "testutil/status_matchers.h"

namespace ringkv::replica {

class KvFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ringkv_kv_fixture_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    storage::EngineOptions o;
    o.path = dir_.string();
    auto e = storage::Engine::Open(o);
    ASSERT_OK(e);
    engine_ = std::move(e).value();
    kv_ = std::make_unique<storage::KvState>(engine_.get(), GroupId(1));
    ASSERT_OK(kv_->Load());
    leases_ = std::make_unique<LeaseTable>(engine_.get(), GroupId(1));
    ASSERT_OK(leases_->Load());
  }
  void TearDown() override {
    leases_.reset();
    kv_.reset();
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Applies `cmd` at `index` in a batch of its own; returns the response.
  kvpb::Response ApplyOne(const kvpb::Command& cmd, uint64_t index) {
    storage::WriteBatch batch;
    Applier a(kv_.get(), &batch, leases_.get());
    auto r = a.Apply(cmd, Index(index));
    EXPECT_OK(r);
    last_changes_ = a.TakeChanges();
    EXPECT_OK(engine_->Write(batch, false));
    return r.ok() ? *r : kvpb::Response();
  }

  std::string Value(const std::string& key) {
    auto v = kv_->Get(key);
    EXPECT_OK(v);
    return v.ok() && v->has_value() ? (*v)->value : "<absent>";
  }

  static kvpb::Command PutCmd(const std::string& key, const std::string& value,
                              uint64_t lease = 0) {
    kvpb::Command c;
    c.mutable_put()->set_key(key);
    c.mutable_put()->set_value(value);
    c.mutable_put()->set_lease(lease);
    return c;
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Engine> engine_;
  std::unique_ptr<storage::KvState> kv_;
  std::unique_ptr<LeaseTable> leases_;
  std::vector<storage::IndexedChanges> last_changes_;
};

}  // namespace ringkv::replica

#endif  // RINGKV_TESTS_REPLICA_KV_FIXTURE_H_
