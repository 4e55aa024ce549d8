#include "ringkv_target.h"

#include <optional>
#include <string>
#include <utility>

#include "client/admin.h"

namespace ringkv::kvbench {
namespace {

class RingKvConnection : public Connection {
 public:
  RingKvConnection(std::unique_ptr<client::Client> client, const LoadOptions& o)
      : client_(std::move(client)) {
    call_.timeout = o.op_timeout;
    call_.consistency = o.consistency;
  }

  void Get(const std::string& key, Done done) override {
    client_->GetAsync(key, call_, [done = std::move(done)](
                                      Result<std::optional<client::KeyValue>> r) {
      done(r.status());
    });
  }

  void Put(const std::string& key, const std::string& value, Done done) override {
    client_->PutAsync(key, value, call_,
                      [done = std::move(done)](Result<uint64_t> r) { done(r.status()); });
  }

 private:
  std::unique_ptr<client::Client> client_;
  client::CallOptions call_;  // per-operation deadline and read consistency
};

class RingKvTarget : public Target {
 public:
  RingKvTarget(const LoadOptions& o, std::unique_ptr<client::Client> status_client)
      : options_(o), status_client_(std::move(status_client)) {}

  Result<std::unique_ptr<Connection>> Connect(int index) override {
    client::ClientOptions co;
    co.endpoints = options_.endpoints;
    co.request_timeout = options_.op_timeout;
    co.seed = options_.seed * 1000 + static_cast<uint64_t>(index) + 1;
    co.tls = options_.tls;
    auto c = client::Client::Connect(co);
    if (!c.ok()) return c.status();
    return std::unique_ptr<Connection>(
        std::make_unique<RingKvConnection>(std::move(c).value(), options_));
  }

  std::optional<ServerCounts> Counts() override {
    ServerCounts out;
    for (const std::string& ep : options_.endpoints) {
      Result<kvpb::NodeStatus> st = client::NodeStatus(*status_client_, ep, std::chrono::seconds(5));
      if (!st.ok() || !st->has_admission()) return std::nullopt;
      const kvpb::AdmissionStatus& a = st->admission();
      out.admitted += a.admitted_total();
      out.shed += a.shed_total();
      out.bounds_ms.assign(a.latency_bucket_bounds_ms().begin(),
                           a.latency_bucket_bounds_ms().end());
      out.latency_counts.resize(a.latency_counts_size());
      for (int i = 0; i < a.latency_counts_size(); ++i) {
        out.latency_counts[i] += a.latency_counts(i);
      }
    }
    return out;
  }

 private:
  const LoadOptions options_;
  // Status queries get their own connections: behind thousands of queued writes they would
  // wait as long as those.
  std::unique_ptr<client::Client> status_client_;
};

}  // namespace

Result<std::unique_ptr<Target>> MakeRingKvTarget(const LoadOptions& options) {
  client::ClientOptions status_options;
  status_options.endpoints = options.endpoints;
  status_options.lazy_connect = true;
  status_options.tls = options.tls;
  auto status_client = client::Client::Connect(status_options);
  if (!status_client.ok()) return status_client.status();
  return std::unique_ptr<Target>(
      std::make_unique<RingKvTarget>(options, std::move(status_client).value()));
}

}  // namespace ringkv::kvbench
