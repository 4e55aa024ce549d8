#include "store/request_router.h"

#include <map>
#include <vector>

#include "proto/kv_request_key.h"
#include "storage/keys.h"

namespace ringkv::store {
namespace {

kvpb::Response Error(kvpb::ErrorCode code, bool definite, const std::string& msg) {
  kvpb::Response r;
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_definite(definite);
  r.mutable_error()->set_message(msg);
  return r;
}

// Stamps every message of a watch the way Dispatch stamps an answer: node, group, and the
// leader's client address next to a NOT_LEADER hint. Used on the loop thread only.
class StampedWatchStream final : public replica::WatchStream {
 public:
  StampedWatchStream(std::shared_ptr<replica::WatchStream> inner, NodeId self, GroupId group,
                     std::function<std::string(NodeId)> address_of)
      : inner_(std::move(inner)), self_(self), group_(group), address_of_(std::move(address_of)) {}

  SendResult Send(const kvpb::Response& resp) override { return inner_->Send(Stamp(resp)); }
  bool SendFinal(const kvpb::Response& resp) override { return inner_->SendFinal(Stamp(resp)); }
  uint64_t connection_id() const override { return inner_->connection_id(); }
  uint64_t request_id() const override { return inner_->request_id(); }

 private:
  kvpb::Response Stamp(const kvpb::Response& in) const {
    kvpb::Response resp = in;
    resp.set_served_by(self_.value());
    resp.set_group_id(group_.value());
    if (resp.has_error() && resp.error().leader_hint() != 0) {
      std::string addr = address_of_(NodeId(resp.error().leader_hint()));
      if (!addr.empty()) resp.mutable_error()->set_leader_address(addr);
    }
    return resp;
  }

  const std::shared_ptr<replica::WatchStream> inner_;
  const NodeId self_;
  const GroupId group_;
  const std::function<std::string(NodeId)> address_of_;
};

std::string ShowKey(const std::string& key) {
  return "\"" + storage::EscapeKey(key.size() > 40 ? key.substr(0, 40) + "..." : key) + "\"";
}

}  // namespace

RequestRouter::RequestRouter(const StoreOptions& options, storage::Engine* engine,
                             NodeEnv& env,
                             const std::optional<ring::HashRing>& ring, ReplicaSet& replicas,
                             TurnPipeline& pipeline)
    : options_(options),
      clock_(env.clock()),
      ring_(ring),
      replicas_(replicas),
      pipeline_(pipeline),
      backup_cursors_(std::make_unique<BackupCursors>(engine, env)) {}

void RequestRouter::Dispatch(kvpb::Request req, ResponseCallback reply,
                             std::chrono::steady_clock::time_point received) {
  uint64_t request_id = req.request_id();
  NodeId self = options_.node_id;
  const auto timeout = req.timeout_ms() != 0 ? std::chrono::milliseconds(req.timeout_ms())
                                             : options_.default_request_timeout;
  const auto deadline = received + timeout;
  const auto now = clock_.Now();
  if (now >= deadline && !req.has_admin()) {
    // Its client has given up on this attempt: executing it now would be work for nobody
    // (under overload, such work is what starves the requests that can still succeed).
    kvpb::Response resp =
        Error(kvpb::BUSY, true,
              "too many requests: waited " +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     now - received)
                                     .count()) +
                  " ms in node " + std::to_string(self.value()) +
                  "'s queue, past its deadline; not executed");
    resp.set_request_id(request_id);
    resp.set_served_by(self.value());
    reply(std::move(resp));
    return;
  }
  kvpb::Response route_error;
  std::optional<GroupId> routed = RouteKey(req, &route_error);
  if (!routed) {
    route_error.set_request_id(request_id);
    route_error.set_served_by(self.value());
    reply(std::move(route_error));
    return;
  }
  GroupId group = *routed;
  replica::Replica* r = replicas_.Find(group);
  auto wrapped = [this, request_id, self, group, reply = std::move(reply)](kvpb::Response resp) {
    resp.set_request_id(request_id);
    resp.set_served_by(self.value());
    resp.set_group_id(group.value());
    if (resp.has_error() && resp.error().leader_hint() != 0) {
      auto it = client_addresses_.find(NodeId(resp.error().leader_hint()));
      if (it != client_addresses_.end()) resp.mutable_error()->set_leader_address(it->second);
    }
    reply(std::move(resp));
  };
  if (req.has_backup_read()) {
    backup_cursors_->Handle(req, r, deadline, std::move(wrapped));
    return;
  }
  if (r == nullptr) {
    wrapped(Error(kvpb::WRONG_SHARD, true,
                  "node " + std::to_string(self.value()) + " has no replica of group " +
                      std::to_string(group.value())));
    return;
  }
  if (req.has_admin()) {
    HandleAdmin(req, r, std::move(wrapped));
    return;
  }
  r->HandleRequest(std::move(req), std::move(wrapped), deadline);
}

std::optional<GroupId> RequestRouter::RouteKey(const kvpb::Request& req, kvpb::Response* error) {
  auto fail = [&](kvpb::ErrorCode code, const std::string& msg) {
    error->mutable_error()->set_code(code);
    error->mutable_error()->set_definite(true);
    error->mutable_error()->set_message(msg);
    return std::nullopt;
  };
  GroupId group(req.group_id());
  const std::string* key = kvpb::RequestKey(req);
  if (!ring_) return fail(kvpb::UNAVAILABLE, "this node has no ring configuration yet");
  if (req.has_txn()) return RouteTxn(req, error);
  if (uint64_t lease = kvpb::RequestLease(req); lease != 0) {
    GroupId owner(kvpb::LeaseShardOf(lease));
    if (owner.value() == 0 || owner.value() > ring_->num_shards() ||
        (group.value() != 0 && group != owner)) {
      return fail(kvpb::NOT_FOUND, "lease " + std::to_string(lease) + " names no shard " +
                                       "of this cluster (or not shard " +
                                       std::to_string(group.value()) + ")");
    }
    return owner;
  }
  if (key != nullptr) {
    GroupId owner = ring_->ShardForKey(*key);
    if (group.value() != 0 && group != owner) {
      // The client's ring disagrees with ours: it must refresh, never write to the wrong shard.
      return fail(kvpb::WRONG_SHARD, "key belongs to shard " + std::to_string(owner.value()) +
                                         ", not " + std::to_string(group.value()));
    }
    return owner;
  }
  if (group.value() == 0) {
    if (ring_->num_shards() == 1) return GroupId(1);
    return fail(kvpb::INVALID_ARGUMENT,
                "this request needs a group_id (scans and admin requests are per shard)");
  }
  return group;
}

std::string RequestRouter::ClientAddressOf(NodeId node) const {
  auto it = client_addresses_.find(node);
  return it == client_addresses_.end() ? std::string() : it->second;
}

std::optional<GroupId> RequestRouter::RouteTxn(const kvpb::Request& req, kvpb::Response* error) {
  auto fail = [&](kvpb::ErrorCode code, const std::string& msg) {
    error->mutable_error()->set_code(code);
    error->mutable_error()->set_definite(true);
    error->mutable_error()->set_message(msg);
    return std::nullopt;
  };
  std::map<GroupId, std::vector<const std::string*>> by_shard;
  for (const std::string* key : kvpb::TxnRequestKeys(req.txn())) {
    by_shard[ring_->ShardForKey(*key)].push_back(key);
  }
  if (by_shard.empty()) return fail(kvpb::INVALID_ARGUMENT, "empty transaction (no keys)");
  if (by_shard.size() > 1) {
    std::string msg = "transaction spans shards";
    for (const auto& [shard, keys] : by_shard) {
      msg += (msg.back() == 's' ? " " : ", ") + std::to_string(shard.value()) + " (" +
             ShowKey(*keys.front()) + (keys.size() > 1 ? " and others)" : ")");
    }
    msg += ": a transaction's keys must live on one shard; give related keys a common hash "
           "tag, e.g. {user42}/name and {user42}/email";
    return fail(kvpb::INVALID_ARGUMENT, msg);
  }
  const GroupId owner = by_shard.begin()->first;
  GroupId group(req.group_id());
  if (group.value() != 0 && group != owner) {
    return fail(kvpb::WRONG_SHARD, "transaction keys belong to shard " +
                                       std::to_string(owner.value()) + ", not " +
                                       std::to_string(group.value()));
  }
  return owner;
}

void RequestRouter::HandleWatch(const kvpb::Request& req,
                                std::shared_ptr<replica::WatchStream> stream) {
  kvpb::Response route_error;
  std::optional<GroupId> group = RouteKey(req, &route_error);
  if (!group) {
    route_error.set_served_by(options_.node_id.value());
    stream->SendFinal(route_error);
    return;
  }
  auto stamped = std::make_shared<StampedWatchStream>(
      std::move(stream), options_.node_id, *group,
      [this](NodeId n) { return ClientAddressOf(n); });
  replica::Replica* r = replicas_.Find(*group);
  if (r == nullptr) {
    kvpb::Response resp;
    resp.mutable_error()->set_code(kvpb::WRONG_SHARD);
    resp.mutable_error()->set_definite(true);
    resp.mutable_error()->set_message("node " + std::to_string(options_.node_id.value()) +
                                      " has no replica of group " +
                                      std::to_string(group->value()));
    stamped->SendFinal(resp);
    return;
  }
  r->HandleWatch(req, std::move(stamped));
}

void RequestRouter::HandleAdmin(const kvpb::Request& req, replica::Replica* r,
                                ResponseCallback reply) {
  kvpb::Response resp;
  const kvpb::AdminRequest& a = req.admin();
  if (a.op_case() == kvpb::AdminRequest::kTransferLeaderTo) {
    std::optional<NodeId> to =
        replica::ReplicaOnNode(r->conf_state(), NodeId(a.transfer_leader_to()));
    if (!to) {
      reply(Error(kvpb::INVALID_ARGUMENT, true,
                  "node " + std::to_string(a.transfer_leader_to()) + " holds no replica of group " +
                      std::to_string(r->group().value())));
      return;
    }
    r->TransferLeader(*to);
    resp.mutable_admin()->set_message("leadership transfer of group " +
                                      std::to_string(r->group().value()) + " to node " +
                                      std::to_string(a.transfer_leader_to()) + " requested");
  } else if (a.op_case() == kvpb::AdminRequest::kSnapshot) {
    if (pipeline_.write_in_flight()) {
      // The turn's writes may compact this group's log too: compact after they land.
      pipeline_.RunAfterTurn([this, req, g = r->group(), reply = std::move(reply)]() mutable {
        if (replica::Replica* now = replicas_.Find(g)) {
          HandleAdmin(req, now, std::move(reply));
        } else {
          reply(Error(kvpb::UNAVAILABLE, true,
                      "group " + std::to_string(g.value()) + " left this node"));
        }
      });
      return;
    }
    ringkv::Status s = r->CompactNow();
    if (!s.ok()) {
      resp = Error(kvpb::INTERNAL, true, s.ToString());
    } else {
      resp.mutable_admin()->set_message("group " + std::to_string(r->group().value()) +
                                        ": log compacted to the applied index");
    }
  } else {
    resp = Error(kvpb::INVALID_ARGUMENT, true, "unknown admin operation");
  }
  reply(std::move(resp));
}

}  // namespace ringkv::store
