// AdminService: the admin HTTP port's handlers — /livez, /readyz (+ /health), /metrics,
// /version, /status and the status page at / — registered on an http::Router (the HttpServer
// that the HTTP/JSON API shares).
//
// Nothing here blocks the HTTP thread or waits for a quorum: the node's own status comes from
// the store's loop by an asynchronous request with a deadline, other nodes' status from their
// client ports (remote_status.h) with a deadline, and everything else from atomics. So the port
// answers with no leader anywhere, and /livez fails only when the store's loop stops turning.
//
// Thread-safety: construct and Register before the HttpServer starts; handlers run on the
// HTTP thread, completions on this service's own io thread. Destroy only after the HttpServer
// stopped (no handler runs any more).
#ifndef RINGKV_SERVER_ADMIN_SERVICE_H_
#define RINGKV_SERVER_ADMIN_SERVICE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "gossip/member.h"
#include "http/router.h"
#include "net/tls.h"
#include "net/transport.h"
#include "proto/kv.pb.h"

namespace ringkv::store {
class Store;
}

namespace ringkv::server {

struct AdminServiceOptions {
  NodeId self;
  uint64_t cluster_id = 0;
  std::string version;
  // The store whose loop answers status requests. Not owned; outlives the service.
  store::Store* store = nullptr;
  // Fills node-level fields the store does not know (admin address, alarms, disk usage,
  // per-shard bytes, version). Any thread; must be cheap.
  std::function<void(kvpb::NodeStatus*)> decorate_status;
  // Writes and reads back a probe record; "" when that worked, else why not.
  std::function<std::string()> storage_probe;
  // This node's gossip view (self included); empty without gossip.
  std::function<std::vector<gossip::Member>()> members;
  // Whether this node has joined: (ok, detail).
  std::function<std::pair<bool, std::string>()> gossip_joined;
  std::function<std::vector<std::string>()> alarms;
  // The peer transport's counters per peer (metrics); unset = none.
  std::function<std::vector<std::pair<NodeId, net::PeerStats>>()> peers;
  std::function<bool()> draining;
  // Per-shard metric series (--metrics=extensive); per-node aggregates otherwise.
  bool extensive_metrics = false;
  // How long /livez waits for the store's loop. Default: 2 s.
  std::chrono::milliseconds livez_timeout{2000};
  // How long /status waits for other nodes. Default: 1 s.
  std::chrono::milliseconds remote_timeout{1000};
  // The TLS client context for asking other nodes' client ports (null: plain TCP). A function,
  // so renewed certificates are used.
  std::function<std::shared_ptr<net::TlsContext>()> client_tls;
};

class AdminService {
 public:
  explicit AdminService(AdminServiceOptions options);
  ~AdminService();
  AdminService(const AdminService&) = delete;
  AdminService& operator=(const AdminService&) = delete;

  void Register(http::Router& router);

  struct Core;  // public so the .cc's helpers can name it

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_ADMIN_SERVICE_H_
