#include "etcd_target.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rpc.grpc.pb.h"

namespace ringkv::kvbench {
namespace {

// gRPC's codes in RingKV's vocabulary, so both systems' errors count under the same names.
// etcd answers "request timed out", "leader changed" and "no leader" with UNAVAILABLE and
// "too many requests" with RESOURCE_EXHAUSTED.
Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status::OK();
  switch (s.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::DeadlineExceeded(s.error_message());
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Status::ResourceExhausted(s.error_message());
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return Status::InvalidArgument(s.error_message());
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::FailedPrecondition(s.error_message());
    case grpc::StatusCode::ABORTED:
      return Status::Aborted(s.error_message());
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return Status::PermissionDenied(s.error_message());
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(s.error_message());
    default:  // UNAVAILABLE, CANCELLED, UNKNOWN, INTERNAL, ...: the call may be retried
      return Status::Unavailable(s.error_message());
  }
}

// One call in flight. Its address is the completion-queue tag; the queue's thread deletes it
// after running `done`.
class PendingCall {
 public:
  virtual ~PendingCall() = default;
  virtual void Complete() = 0;
};

template <class Response>
class UnaryCall : public PendingCall {
 public:
  explicit UnaryCall(Connection::Done done) : done_(std::move(done)) {}
  void Complete() override { done_(FromGrpc(status)); }

  grpc::ClientContext context;
  Response response;  // parsed and dropped: a client pays for it too
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;

 private:
  Connection::Done done_;
};

class EtcdConnection : public Connection {
 public:
  EtcdConnection(std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs,
                 const LoadOptions& o)
      : stubs_(std::move(stubs)),
        timeout_(o.op_timeout),
        serializable_(o.consistency == client::Consistency::kSerializable) {
    thread_ = std::thread([this] { Poll(); });
  }

  ~EtcdConnection() override {
    cq_.Shutdown();
    thread_.join();
  }

  void Get(const std::string& key, Done done) override {
    auto call = std::make_unique<UnaryCall<etcdserverpb::RangeResponse>>(std::move(done));
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    request.set_serializable(serializable_);
    call->context.set_deadline(std::chrono::system_clock::now() + timeout_);
    // The request is serialized before AsyncRange returns.
    call->reader = NextStub().AsyncRange(&call->context, request, &cq_);
    call->reader->Finish(&call->response, &call->status, call.get());
    call.release();  // owned by the queue until Poll runs it
  }

  void Put(const std::string& key, const std::string& value, Done done) override {
    auto call = std::make_unique<UnaryCall<etcdserverpb::PutResponse>>(std::move(done));
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    call->context.set_deadline(std::chrono::system_clock::now() + timeout_);
    call->reader = NextStub().AsyncPut(&call->context, request, &cq_);
    call->reader->Finish(&call->response, &call->status, call.get());
    call.release();
  }

 private:
  etcdserverpb::KV::Stub& NextStub() {
    return *stubs_[next_.fetch_add(1, std::memory_order_relaxed) % stubs_.size()];
  }

  // The connection's I/O thread: runs each finished call's completion, which issues the slot's
  // next call. Returns once the queue is shut down and drained.
  void Poll() {
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
      // `ok` is always true for a unary Finish; failures are in the call's status.
      std::unique_ptr<PendingCall> call(static_cast<PendingCall*>(tag));
      call->Complete();
    }
  }

  const std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs_;  // one per endpoint
  const std::chrono::milliseconds timeout_;  // each call's deadline
  const bool serializable_;                  // Range: member-local instead of ReadIndex
  std::atomic<uint64_t> next_{0};            // round-robin position over stubs_
  grpc::CompletionQueue cq_;
  std::thread thread_;  // runs Poll; declared last, started after everything it uses
};

class EtcdTarget : public Target {
 public:
  explicit EtcdTarget(const LoadOptions& o) : options_(o) {}

  Result<std::unique_ptr<Connection>> Connect(int index) override {
    std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs;
    for (const std::string& ep : options_.endpoints) {
      grpc::ChannelArguments args;
      // A subchannel pool of its own: without it, every channel to the same address shares one
      // TCP connection, and all connections' calls would queue on it.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("kvbench.connection", index);
      auto channel = grpc::CreateCustomChannel(ep, grpc::InsecureChannelCredentials(), args);
      if (!channel->WaitForConnected(std::chrono::system_clock::now() + options_.op_timeout)) {
        return Status::Unavailable("etcd endpoint " + ep + " did not accept a connection within " +
                                   std::to_string(options_.op_timeout.count()) + " ms");
      }
      stubs.push_back(etcdserverpb::KV::NewStub(channel));
    }
    return std::unique_ptr<Connection>(
        std::make_unique<EtcdConnection>(std::move(stubs), options_));
  }

 private:
  const LoadOptions options_;
};

}  // namespace

Result<std::unique_ptr<Target>> MakeEtcdTarget(const LoadOptions& options) {
  if (options.endpoints.empty()) return Status::InvalidArgument("no etcd endpoints");
  if (options.tls.enable || !options.tls.ca_file.empty() || !options.tls.cert_file.empty()) {
    return Status::InvalidArgument("the etcd target speaks plain TCP only (no TLS options)");
  }
  return std::unique_ptr<Target>(std::make_unique<EtcdTarget>(options));
}

}  // namespace ringkv::kvbench
