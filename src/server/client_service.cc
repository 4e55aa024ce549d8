#include "server/client_service.h"

#include <glog/logging.h>

#include <google/protobuf/io/coded_stream.h>

#include "net/frame.h"
#include "proto/kv.pb.h"
#include "server/request_metrics.h"

namespace ringkv::server {

ClientService::ClientService(store::Store* store, std::string listen_address, uint64_t cluster_id,
                             NodeId self)
    : store_(store), self_(self) {
  net::FrameServerOptions o;
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
      resp->set_request_id(req.request_id());
      resp->set_served_by(self_.value());
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
      resp->set_request_id(req.request_id());
      resp->set_served_by(self_.value());
      resp->mutable_error()->set_code(kvpb::NO_SPACE);
      resp->mutable_error()->set_definite(true);
      resp->mutable_error()->set_retry_after_ms(5000);
      resp->mutable_error()->set_message(why + "; writes other than deletes are rejected until "
                                               "space is freed (kvctl alarm list)");
      return true;
    }
  }
  if (req.has_admin() && req.admin().op_case() == kvpb::AdminRequest::kDisarmAlarms) {
    resp->set_request_id(req.request_id());
    resp->set_served_by(self_.value());
    resp->mutable_admin()->set_message(disarm_ ? disarm_() : "this node has no alarms");
    return true;
  }
  return false;
}

void ClientService::OnFrame(const std::shared_ptr<net::Connection>& conn,
                            const std::string& payload) {
  kvpb::Request req;
  if (!req.ParseFromString(payload) || req.op_case() == kvpb::Request::OP_NOT_SET) {
    kvpb::Response resp;
    resp.set_request_id(req.request_id());
    resp.mutable_error()->set_code(kvpb::INVALID_ARGUMENT);
    resp.mutable_error()->set_definite(true);
    resp.mutable_error()->set_message("malformed request or unknown request type");
    conn->Send(resp.SerializeAsString()).IgnoreError();  // closing anyway
    conn->CloseAfterFlush(Status::InvalidArgument(
        "malformed client request " + RequestLogId(conn->remote_address(), req)));
    return;
  }
  if (draining_) {
    kvpb::Response resp;
    resp.set_request_id(req.request_id());
    resp.set_served_by(self_.value());
    resp.mutable_error()->set_code(kvpb::UNAVAILABLE);
    resp.mutable_error()->set_definite(true);
    resp.mutable_error()->set_retry_after_ms(100);
    resp.mutable_error()->set_message("node " + std::to_string(self_.value()) +
                                      " is shutting down (draining); retry another endpoint");
    conn->Send(resp.SerializeAsString()).IgnoreError();  // the client retries elsewhere
    return;
  }
  if (kvpb::Response early; Intercept(req, &early)) {
    RequestTimer(req, conn->remote_address()).Finish(early, slow_request_);
    conn->Send(early.SerializeAsString()).IgnoreError();  // a lost answer: the client retries
    return;
  }
  std::weak_ptr<net::Connection> weak = conn;
  auto timer = std::make_shared<RequestTimer>(req, conn->remote_address());
  store_->HandleRequest(std::move(req), [decorate = decorate_, weak, timer,
                                         slow = slow_request_](kvpb::Response resp) {
    if (resp.has_status() && decorate) decorate(resp.mutable_status());
    timer->Finish(resp, slow);
    if (auto c = weak.lock()) {
      // A closed or overloaded connection loses the answer; the client times out and retries.
      c->Send(resp.SerializeAsString()).IgnoreError();
    }
  });
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
