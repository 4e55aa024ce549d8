#include "server/client_service.h"

#include <glog/logging.h>

#include <google/protobuf/io/coded_stream.h>

#include "net/frame.h"
#include "proto/kv.pb.h"
#include "server/request_header.h"
#include "server/request_metrics.h"

namespace ringkv::server {

using Clock = AdmissionController::Clock;

namespace {

// One watch's messages, queued on its client connection (replica::WatchStream).
class ConnectionWatchStream final : public replica::WatchStream {
 public:
  // `authorizer` (may be null: authentication off) and `principal` decide which events the
  // client may see.
  ConnectionWatchStream(const std::shared_ptr<net::Connection>& conn, uint64_t request_id,
                        size_t max_unread, const Authorizer* authorizer, Principal principal)
      : conn_(conn),
        connection_id_(conn->id()),
        request_id_(request_id),
        max_unread_(max_unread),
        authorizer_(authorizer),
        principal_(std::move(principal)) {}

  SendResult Send(const kvpb::Response& resp) override {
    std::shared_ptr<net::Connection> c = conn_.lock();
    if (!c || c->closed()) return SendResult::kClosed;
    if (c->queued_bytes() > max_unread_) return SendResult::kSlow;
    kvpb::Response r = resp;
    r.set_request_id(request_id_);
    FilterEvents(&r);
    Status st = c->Send(r.SerializeAsString());
    if (st.ok()) return SendResult::kOk;
    return st.code() == StatusCode::kResourceExhausted ? SendResult::kSlow : SendResult::kClosed;
  }

  bool SendFinal(const kvpb::Response& resp) override {
    std::shared_ptr<net::Connection> c = conn_.lock();
    if (!c || c->closed()) return false;
    kvpb::Response r = resp;
    r.set_request_id(request_id_);
    FilterEvents(&r);
    Status st = c->Send(r.SerializeAsString());
    if (st.ok()) return true;
    if (st.code() == StatusCode::kResourceExhausted) {
      // The client would never learn that its watch ended: cut the connection, which it does
      // notice (and resumes its watches from where they were).
      c->Close(Status::ResourceExhausted("client " + c->remote_address() +
                                         " does not read its watch events; closing"));
    }
    return false;
  }

  uint64_t connection_id() const override { return connection_id_; }
  uint64_t request_id() const override { return request_id_; }

 private:
  // Drops events of keys the principal may not read and of reserved keys, as scans do (the
  // watch itself passed Authorizer::Check, which needs read permission on its whole range; the
  // rules may have changed since, and a range may cover reserved keys).
  void FilterEvents(kvpb::Response* r) const {
    ClientRequestHandler::FilterWatchEvents(authorizer_, principal_, r);
  }

  const std::weak_ptr<net::Connection> conn_;
  const uint64_t connection_id_;
  const uint64_t request_id_;
  const size_t max_unread_;
  const Authorizer* const authorizer_;
  const Principal principal_;
};

}  // namespace

ClientService::ClientService(store::Store* store, std::string listen_address, uint64_t cluster_id,
                             NodeId self, std::shared_ptr<net::TlsCredentials> tls,
                             const Authorizer* authorizer, AdmissionOptions admission,
                             size_t watch_max_unread_bytes, net::SharedIo io)
    : client_auth_(tls != nullptr ? tls->options().client_auth : net::ClientCertAuth::kOff),
      self_(self),
      store_(store),
      authorizer_(authorizer),
      watch_max_unread_bytes_(watch_max_unread_bytes),
      admission_(AdmissionController::Create(std::move(admission))),
      sink_(store, self, &compact_storage_),
      handler_(self, &sink_, authorizer) {
  CHECK(client_auth_ == net::ClientCertAuth::kOff || authorizer != nullptr)
      << "client certificate authentication needs permission rules";
  handler_.SetInterceptor(
      [this](const kvpb::Request& req, kvpb::Response* resp) { return Intercept(req, resp); });
  net::FrameServerOptions o;
  o.tls = std::move(tls);
  o.listen_address = std::move(listen_address);
  o.cluster_id = cluster_id;
  o.node_id = self;
  o.io = std::move(io);
  server_ = std::make_unique<net::FrameServer>(
      o,
      [this](std::shared_ptr<net::Connection> conn, std::string payload) {
        OnFrame(conn, payload);
      },
      [this](const std::shared_ptr<net::Connection>& conn, const Status&) { OnClose(conn); });
  server_->set_oversized_handler(
      [this](std::shared_ptr<net::Connection> conn, uint64_t length, std::string prefix) {
        OnOversized(conn, length, prefix);
      });
}

namespace {

// The request id of a serialized kvpb::Request from its first bytes: field 1 (a varint), which
// protobuf writes first. 0 when the prefix does not start with it.
uint64_t RequestIdFromPrefix(const std::string& prefix) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(prefix.data()),
                                            static_cast<int>(prefix.size()));
  uint64_t id = 0;
  if (in.ReadTag() != (1u << 3 | 0u) || !in.ReadVarint64(&id)) return 0;
  return id;
}

}  // namespace

Status ClientService::Start() { return server_->Start(); }
void ClientService::Stop() { server_->Stop(); }

void FillAdmissionStatus(AdmissionController& admission, AdmissionController::Clock::time_point now,
                         kvpb::AdmissionStatus* a) {
  const AdmissionStats s = admission.Stats(now);
  a->Clear();
  a->set_in_flight_requests(s.in_flight_requests);
  a->set_in_flight_bytes(s.in_flight_bytes);
  a->set_limit(s.limit);
  a->set_admitted_total(s.admitted_total);
  a->set_shed_total(s.shed_total);
  a->set_completions_per_s(s.completions_per_s);
  a->set_sheds_per_s(s.sheds_per_s);
  a->set_retry_after_ms(s.retry_after_ms);
  a->set_latency_ms(s.latency_ms);
  for (uint32_t b : kLatencyBucketsMs) a->add_latency_bucket_bounds_ms(b);
  for (uint64_t n : s.latency_counts) a->add_latency_counts(n);
}

bool ClientService::Intercept(const kvpb::Request& req, kvpb::Response* resp) {
  if (serving_gate_ && !req.has_status() && !req.has_admin()) {
    std::string why = serving_gate_();
    if (!why.empty()) {
      resp->mutable_error()->set_code(kvpb::UNAVAILABLE);
      resp->mutable_error()->set_definite(true);
      resp->mutable_error()->set_message(why);
      return true;
    }
  }
  // A transaction that may put, and a lease grant, add data too; a revoke only deletes.
  bool txn_puts = false;
  if (req.has_txn()) {
    for (const auto* branch : {&req.txn().success(), &req.txn().failure()}) {
      for (const kvpb::TxnOp& op : *branch) txn_puts = txn_puts || op.has_put();
    }
  }
  const bool is_write = req.has_put() || req.has_cas() || req.has_append() || txn_puts ||
                        req.has_lease_grant();
  if (is_write && write_gate_) {
    std::string why = write_gate_();
    if (!why.empty()) {
      resp->mutable_error()->set_code(kvpb::NO_SPACE);
      resp->mutable_error()->set_definite(true);
      resp->mutable_error()->set_retry_after_ms(5000);
      resp->mutable_error()->set_message(why + "; writes other than deletes are rejected until "
                                               "space is freed (kvctl alarm list)");
      return true;
    }
  }
  if (req.has_admin() && req.admin().op_case() == kvpb::AdminRequest::kDisarmAlarms) {
    resp->mutable_admin()->set_message(disarm_ ? disarm_() : "this node has no alarms");
    return true;
  }
  return false;
}

void ClientService::OnClose(const std::shared_ptr<net::Connection>& conn) {
  // Requests still in the store keep their tickets (and the account) until they are answered.
  accounts_.erase(conn->id());
  store_->OnConnectionClosed(conn->id());
}

void ClientService::Shed(const std::shared_ptr<net::Connection>& conn, uint64_t request_id,
                         const std::string& reason, uint32_t retry_after_ms) {
  kvpb::Response resp;
  resp.set_request_id(request_id);
  resp.set_served_by(self_.value());
  kvpb::Error* e = resp.mutable_error();
  e->set_code(kvpb::BUSY);
  e->set_definite(true);
  e->set_retry_after_ms(retry_after_ms);
  e->set_message("node " + std::to_string(self_.value()) + ": " + reason + "; retry after " +
                 std::to_string(retry_after_ms) + " ms");
  // A client that does not read its answers loses this one; it times out and retries.
  conn->Send(resp.SerializeAsString()).IgnoreError();
}

void ClientService::OnFrame(const std::shared_ptr<net::Connection>& conn,
                            const std::string& payload) {
  const Clock::time_point received = Clock::now();
  // Admission first: a shed request costs a scan of a few field tags and a small answer.
  std::shared_ptr<AdmissionController::Ticket> ticket;
  Result<RequestHeader> header = PeekRequestHeader(payload);
  if (header.ok() && !header->is_control() && !draining_) {
    std::shared_ptr<AdmissionController::Account>& account = accounts_[conn->id()];
    if (!account) account = admission_->NewAccount();
    AdmissionController::Decision d =
        admission_->TryAdmit(account, net::kFrameHeaderSize + payload.size(), received,
                             std::chrono::milliseconds(header->timeout_ms));
    if (!d.admitted()) {
      Shed(conn, header->request_id, d.reason, d.retry_after_ms);
      return;
    }
    ticket = std::move(d.ticket);
  }
  const Principal principal = Principal::From(conn->peer_identity(), client_auth_);
  std::weak_ptr<net::Connection> weak = conn;
  const std::string remote = conn->remote_address();
  auto observe = [remote, slow = slow_request_](const kvpb::Request& req)
      -> std::function<void(const kvpb::Response&)> {
    // A watch is a stream with no one answer to time (and it would stay in flight forever).
    if (req.has_watch() || req.has_watch_cancel()) return nullptr;
    auto timer = std::make_shared<RequestTimer>(req, remote);
    if (req.has_admin() && req.admin().op_case() == kvpb::AdminRequest::kCompactStorage) {
      // Operator-initiated and slow by nature: never logged as a slow request.
      return [timer](const kvpb::Response& resp) { timer->Finish(resp, std::chrono::hours(24)); };
    }
    return [timer, slow](const kvpb::Response& resp) { timer->Finish(resp, slow); };
  };
  // The stream's ticket goes when this frame is done: an open watch holds none.
  auto stream = [this, &conn, &principal](kvpb::Request req) {
    OnWatchRequest(conn, principal, std::move(req));
  };
  handler_.Handle(
      payload, principal,
      [weak, remote, decorate = decorate_, ticket, admission = admission_](
          const kvpb::Response& resp, bool close_after) {
        const Clock::time_point now = Clock::now();
        auto c = weak.lock();
        if (c) {
          // A closed or overloaded connection loses the answer; the client times out and
          // retries.
          const bool busy_without_hint = resp.has_error() && resp.error().code() == kvpb::BUSY &&
                                         resp.error().retry_after_ms() == 0;
          if (resp.has_status() || busy_without_hint) {
            kvpb::Response amended = resp;
            if (amended.has_status()) {
              if (decorate) decorate(amended.mutable_status());
              if (!amended.status().has_admission()) {
                FillAdmissionStatus(*admission, now,
                                    amended.mutable_status()->mutable_admission());
              }
            }
            if (busy_without_hint) {
              amended.mutable_error()->set_retry_after_ms(admission->RetryAfterMs(now));
            }
            c->Send(amended.SerializeAsString()).IgnoreError();
          } else {
            c->Send(resp.SerializeAsString()).IgnoreError();
          }
          if (close_after) {
            c->CloseAfterFlush(Status::InvalidArgument("malformed client request " + remote +
                                                       "#" + std::to_string(resp.request_id())));
          }
        }
        if (ticket) ticket->Release(now);
      },
      observe, stream);
}

void ClientService::OnOversized(const std::shared_ptr<net::Connection>& conn, uint64_t length,
                                const std::string& prefix) {
  kvpb::Response resp;
  resp.set_request_id(RequestIdFromPrefix(prefix));
  resp.set_served_by(self_.value());
  resp.mutable_error()->set_code(kvpb::INVALID_ARGUMENT);
  resp.mutable_error()->set_definite(true);
  resp.mutable_error()->set_message(
      "request of " + std::to_string(length) + " bytes exceeds the client port's frame maximum of " +
      std::to_string(net::kDefaultClientMaxFrameSize) +
      " bytes (net::kDefaultClientMaxFrameSize); it was not read or executed");
  conn->Send(resp.SerializeAsString()).IgnoreError();  // a full queue: the client times out
}

void ClientService::OnWatchRequest(const std::shared_ptr<net::Connection>& conn,
                                   const Principal& principal, kvpb::Request req) {
  if (req.has_watch_cancel()) {
    store_->CancelWatch(conn->id(), GroupId(req.group_id()), req.watch_cancel().watch_id());
    return;
  }
  const uint64_t request_id = req.request_id();
  store_->HandleWatch(std::move(req),
                      std::make_shared<ConnectionWatchStream>(
                          conn, request_id, watch_max_unread_bytes_, authorizer_, principal));
}

}  // namespace ringkv::server
