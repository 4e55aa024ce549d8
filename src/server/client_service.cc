#include "server/client_service.h"

#include <glog/logging.h>

#include <google/protobuf/io/coded_stream.h>

#include "net/frame.h"
#include "proto/kv.pb.h"
#include "server/request_metrics.h"

namespace ringkv::server {

ClientService::ClientService(store::Store* store, std::string listen_address, uint64_t cluster_id,
                             NodeId self, std::shared_ptr<net::TlsCredentials> tls,
                             const Authorizer* authorizer)
    : client_auth_(tls != nullptr ? tls->options().client_auth : net::ClientCertAuth::kOff),
      self_(self),
      sink_(store),
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
  server_ = std::make_unique<net::FrameServer>(
      o, [this](std::shared_ptr<net::Connection> conn, std::string payload) {
        OnFrame(conn, payload);
      });
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
  const bool is_write = req.has_put() || req.has_cas() || req.has_append();
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

void ClientService::OnFrame(const std::shared_ptr<net::Connection>& conn,
                            const std::string& payload) {
  const Principal principal = Principal::From(conn->peer_identity(), client_auth_);
  std::weak_ptr<net::Connection> weak = conn;
  const std::string remote = conn->remote_address();
  auto observe = [remote, slow = slow_request_](const kvpb::Request& req) {
    auto timer = std::make_shared<RequestTimer>(req, remote);
    return [timer, slow](const kvpb::Response& resp) { timer->Finish(resp, slow); };
  };
  handler_.Handle(
      payload, principal,
      [weak, remote, decorate = decorate_](const kvpb::Response& resp, bool close_after) {
        auto c = weak.lock();
        if (!c) return;
        // A closed or overloaded connection loses the answer; the client times out and retries.
        if (resp.has_status() && decorate) {
          kvpb::Response decorated = resp;
          decorate(decorated.mutable_status());
          c->Send(decorated.SerializeAsString()).IgnoreError();
        } else {
          c->Send(resp.SerializeAsString()).IgnoreError();
        }
        if (close_after) {
          c->CloseAfterFlush(Status::InvalidArgument("malformed client request " + remote + "#" +
                                                     std::to_string(resp.request_id())));
        }
      },
      observe);
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

}  // namespace ringkv::server
