// RequestRouter: a client request's way to its replica on this node. It routes the request's
// key (or lease, or transaction keys, or group) to its shard with the ring, answers at once
// what cannot be served here (no ring yet, a key of another shard, a transaction spanning
// shards, no replica of the shard, a request past its deadline while it queued), serves admin
// requests of one shard and `kvctl backup save` reads, and stamps every answer with this node,
// the shard and the leader's client address next to a NOT_LEADER hint. Watches are routed the
// same way.
//
// Thread-safety: store loop thread only.
#ifndef RINGKV_STORE_REQUEST_ROUTER_H_
#define RINGKV_STORE_REQUEST_ROUTER_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/ids.h"
#include "proto/kv.pb.h"
#include "replica/replica.h"
#include "ring/hash_ring.h"
#include "storage/engine.h"
#include "store/backup_cursors.h"
#include "store/node_env.h"
#include "store/replica_set.h"
#include "store/store_options.h"
#include "store/turn_pipeline.h"

namespace ringkv::store {

class RequestRouter {
 public:
  // None is owned; all must outlive this. `env` is the store's (backup cursors' clock and timer).
  RequestRouter(const StoreOptions& options, storage::Engine* engine,
                NodeEnv& env, const std::optional<ring::HashRing>& ring,
                ReplicaSet& replicas, TurnPipeline& pipeline);

  // Serves a data, admin (of one shard) or backup-read request that arrived at `received`;
  // `reply` runs exactly once. Node-wide requests (status, decommission) are the store's.
  void Dispatch(kvpb::Request req, ResponseCallback reply,
                std::chrono::steady_clock::time_point received);
  // Opens the watch `req` on `stream` at its shard's replica, or ends the stream with the error.
  void HandleWatch(const kvpb::Request& req, std::shared_ptr<replica::WatchStream> stream);

  // Client addresses of nodes, for leader hints in NOT_LEADER answers.
  void SetClientAddress(NodeId node, std::string address) {
    client_addresses_[node] = std::move(address);
  }
  const std::map<NodeId, std::string>& client_addresses() const { return client_addresses_; }

 private:
  std::optional<GroupId> RouteKey(const kvpb::Request& req, kvpb::Response* error);
  // Every key of a transaction must belong to one shard.
  std::optional<GroupId> RouteTxn(const kvpb::Request& req, kvpb::Response* error);
  void HandleAdmin(const kvpb::Request& req, replica::Replica* r, ResponseCallback reply);
  // The client address of `node`'s leader hint, if known.
  std::string ClientAddressOf(NodeId node) const;

  const StoreOptions& options_;
  const Clock& clock_;
  const std::optional<ring::HashRing>& ring_;
  ReplicaSet& replicas_;
  TurnPipeline& pipeline_;
  std::map<NodeId, std::string> client_addresses_;
  // `kvctl backup save` cursors (the store destroys this before its loop).
  std::unique_ptr<BackupCursors> backup_cursors_;
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_REQUEST_ROUTER_H_
