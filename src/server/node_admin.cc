// Node: the admin port — health, metrics, status page and the HTTP/JSON API on one HTTP
// server, and the node-level fields of status answers (see node.h). Split from node.cc by
// concern.
#include <glog/logging.h>

#include <chrono>

#include "common/status_macros.h"
#include "gossip/gossip_driver.h"
#include "http/http_server.h"
#include "net/transport.h"
#include "server/admin_service.h"
#include "server/client_service.h"
#include "server/http_api.h"
#include "server/node.h"
#include "server/space_guard.h"
#include "storage/engine.h"

namespace ringkv::server {

Status Node::StartAdmin() {
  if (!http_server_) return Status::OK();
  AdminServiceOptions ao;
  ao.self = options_.node_id;
  ao.cluster_id = options_.cluster_id;
  ao.version = options_.version;
  ao.store = store_.get();
  ao.extensive_metrics = options_.extensive_metrics;
  ao.decorate_status = [this](kvpb::NodeStatus* st) { DecorateStatus(st); };
  ao.storage_probe = [this] { return ProbeStorage(); };
  ao.peers = [this] {
    return transport_ ? transport_->AllPeerStats()
                      : std::vector<std::pair<NodeId, net::PeerStats>>{};
  };
  ao.members = [this] { return gossip_->Members(); };
  ao.gossip_joined = [this]() -> std::pair<bool, std::string> {
    size_t live_others = 0;
    for (const gossip::Member& m : gossip_->Members()) {
      if (m.id != options_.node_id && m.IsLive()) ++live_others;
    }
    bool alone = options_.join.empty() && options_.initial_peers.size() <= 1;
    if (live_others > 0 || alone) {
      return {true, std::to_string(live_others) + " other live members"};
    }
    return {false, "sees no other live member yet (joining through " +
                       std::to_string(options_.join.empty() ? options_.initial_peers.size() - 1
                                                            : options_.join.size()) +
                       " seeds)"};
  };
  ao.draining = [this] { return draining_.load(); };
  ao.alarms = [this] { return space_guard_->Alarms(); };
  ao.client_tls = [creds = credentials_.client_dial()]() -> std::shared_ptr<net::TlsContext> {
    return creds != nullptr ? creds->Current() : nullptr;
  };
  admin_service_ = std::make_unique<AdminService>(std::move(ao));
  admin_service_->Register(http_server_->router());
  // The HTTP/JSON API on the same port, with the client port's edge (server/http_api.h); its
  // client connects once the client port serves (Start).
  HttpApiOptions api;
  api.cluster_id = options_.cluster_id;
  if (credentials_.client() != nullptr) {
    api.tls.enable = true;
    api.tls.ca_file = options_.client_tls.ca_file;
    api.tls.cert_file = options_.client_tls.cert_file;
    api.tls.key_file = options_.client_tls.key_file;
    api.client_auth = options_.client_tls.client_auth;
  }
  api.admission = options_.admission;
  api.max_key_bytes = options_.replica.max_key_bytes;
  api.max_value_bytes = options_.replica.max_value_bytes;
  api.request_timeout = std::chrono::milliseconds(options_.request_timeout_ms);
  api.draining = [this] { return draining_.load(); };
  http_api_ = std::make_unique<HttpApi>(std::move(api));
  http_api_->Register(http_server_->router());
  http_server_->SetTls(credentials_.admin());
  RETURN_IF_ERROR(http_server_->Start());
  if (options_.advertise_admin.empty()) options_.advertise_admin = http_server_->bound_address();
  LOG(INFO) << "node " << options_.node_id << " admin port on " << http_server_->bound_address()
            << " (status page " << (credentials_.admin() != nullptr ? "https://" : "http://")
            << options_.advertise_admin << "/)";
  return Status::OK();
}

void Node::DecorateStatus(kvpb::NodeStatus* st) const {
  st->set_version(options_.version);
  if (client_service_) {
    FillAdmissionStatus(client_service_->admission(), std::chrono::steady_clock::now(),
                        st->mutable_admission());
  }
  st->set_cluster_id(options_.cluster_id);
  if (http_server_) st->set_admin_address(options_.advertise_admin);
  if (space_guard_) {
    for (const std::string& a : space_guard_->Alarms()) st->add_alarms(a);
    SpaceUsage u = space_guard_->usage();
    st->set_storage_used_bytes(u.used_bytes);
    st->set_storage_quota_bytes(u.quota_bytes);
    st->set_storage_free_bytes(u.free_bytes);
  }
  for (auto& g : *st->mutable_groups()) {
    GroupId id(g.group_id());
    g.set_log_bytes(engine_->ApproximateBytes(storage::Cf::kRaft, storage::RaftGroupRange(id)));
    g.set_data_bytes(engine_->ApproximateBytes(storage::Cf::kData, storage::DataGroupRange(id)));
  }
}

}  // namespace ringkv::server
