#include "server/client_service.h"

#include <glog/logging.h>

#include "proto/kv.pb.h"

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
}

Status ClientService::Start() { return server_->Start(); }
void ClientService::Stop() { server_->Stop(); }

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
    conn->CloseAfterFlush(Status::InvalidArgument("malformed client request from " +
                                                  conn->remote_address()));
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
  std::weak_ptr<net::Connection> weak = conn;
  store_->HandleRequest(std::move(req), [weak](kvpb::Response resp) {
    if (auto c = weak.lock()) {
      // A closed or overloaded connection loses the answer; the client times out and retries.
      c->Send(resp.SerializeAsString()).IgnoreError();
    }
  });
}

}  // namespace ringkv::server
