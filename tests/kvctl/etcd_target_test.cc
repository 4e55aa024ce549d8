// kvbench's etcd target (tools/kvbench/etcd_target.h) against an in-process fake of etcd's KV
// service: the calls arrive as etcd would see them (keys, values, the serializable flag per
// --consistency), gRPC errors count under RingKV's status names, and an unreachable endpoint is
// a connect error. Built only where gRPC C++ is (as the target).
#include "etcd_target.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "load.h"
#include "rpc.grpc.pb.h"

namespace ringkv::kvbench {
namespace {

// Answers Put and Range like etcd, except that every 10th call fails with RESOURCE_EXHAUSTED
// ("etcdserver: too many requests").
class FakeKv final : public etcdserverpb::KV::Service {
 public:
  grpc::Status Put(grpc::ServerContext*, const etcdserverpb::PutRequest* req,
                   etcdserverpb::PutResponse*) override {
    if (++calls % 10 == 0) return TooMany();
    ++puts;
    std::lock_guard<std::mutex> l(mu);
    last_key = req->key();
    last_value_size = req->value().size();
    return grpc::Status::OK;
  }
  grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest* req,
                     etcdserverpb::RangeResponse* resp) override {
    if (++calls % 10 == 0) return TooMany();
    ++(req->serializable() ? serializable_ranges : linearizable_ranges);
    auto* kv = resp->add_kvs();
    kv->set_key(req->key());
    kv->set_value("v");
    return grpc::Status::OK;
  }

  std::atomic<uint64_t> calls{0}, puts{0}, serializable_ranges{0}, linearizable_ranges{0};
  std::mutex mu;
  std::string last_key;
  size_t last_value_size = 0;

 private:
  static grpc::Status TooMany() {
    return {grpc::StatusCode::RESOURCE_EXHAUSTED, "etcdserver: too many requests"};
  }
};

class EtcdTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&kv_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }

  LoadOptions Options(double read_ratio, client::Consistency c) {
    LoadOptions o;
    o.endpoints = {"127.0.0.1:" + std::to_string(port_)};
    o.concurrency = 8;
    o.clients = 2;
    o.keys = 100;
    o.value_size = 300;
    o.read_ratio = read_ratio;
    o.consistency = c;
    o.duration = std::chrono::milliseconds(300);
    o.warmup = std::chrono::milliseconds(0);
    return o;
  }

  FakeKv kv_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(EtcdTargetTest, WritesCarryKeyAndValueAndErrorsCountByCode) {
  LoadOptions o = Options(0, client::Consistency::kLinearizable);
  auto target = MakeEtcdTarget(o);
  ASSERT_TRUE(target.ok()) << target.status();
  auto r = RunLoad(o, **target);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->ok_writes, 0u);
  EXPECT_EQ(r->ok_reads, 0u);
  EXPECT_LE(r->ok_writes, kv_.puts.load());
  EXPECT_GT(r->errors["ResourceExhausted"], 0u);
  EXPECT_EQ(r->errors.size(), 1u);
  std::lock_guard<std::mutex> l(kv_.mu);
  EXPECT_EQ(kv_.last_key.rfind("bench/", 0), 0u) << kv_.last_key;
  EXPECT_EQ(kv_.last_value_size, 300u);
}

TEST_F(EtcdTargetTest, ReadsAreSerializableOnlyWhenAsked) {
  for (auto c : {client::Consistency::kLinearizable, client::Consistency::kSerializable}) {
    LoadOptions o = Options(1, c);
    auto target = MakeEtcdTarget(o);
    ASSERT_TRUE(target.ok()) << target.status();
    auto r = RunLoad(o, **target);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_GT(r->ok_reads, 0u);
  }
  EXPECT_GT(kv_.linearizable_ranges.load(), 0u);
  EXPECT_GT(kv_.serializable_ranges.load(), 0u);
  EXPECT_EQ(kv_.puts.load(), 0u);
}

TEST_F(EtcdTargetTest, UnreachableEndpointIsAConnectError) {
  LoadOptions o = Options(0, client::Consistency::kLinearizable);
  o.op_timeout = std::chrono::milliseconds(300);  // also the connect deadline
  server_->Shutdown();
  auto target = MakeEtcdTarget(o);
  ASSERT_TRUE(target.ok()) << target.status();
  auto r = RunLoad(o, **target);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
}

TEST(EtcdTargetOptionsTest, RefusesTlsAndEmptyEndpoints) {
  LoadOptions o;
  EXPECT_EQ(MakeEtcdTarget(o).status().code(), StatusCode::kInvalidArgument);
  o.endpoints = {"127.0.0.1:1"};
  o.tls.ca_file = "ca.crt";
  EXPECT_EQ(MakeEtcdTarget(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ringkv::kvbench
