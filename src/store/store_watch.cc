// Store: watch streams and transaction routing (see store.h). Split from store.cc by concern.
#include <boost/asio/post.hpp>
#include <map>
#include <vector>

#include "proto/kv_request_key.h"
#include "storage/keys.h"
#include "store/store.h"

namespace ringkv::store {
namespace {

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

std::string Store::ClientAddressOf(NodeId node) const {
  auto it = client_addresses_.find(node);
  return it == client_addresses_.end() ? std::string() : it->second;
}

std::optional<GroupId> Store::RouteTxn(const kvpb::Request& req, kvpb::Response* error) {
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

void Store::HandleWatch(kvpb::Request req, std::shared_ptr<replica::WatchStream> stream) {
  boost::asio::post(loop_, [this, req = std::move(req), stream = std::move(stream)]() mutable {
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
    replica::Replica* r = FindReplica(*group);
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
  });
}

void Store::CancelWatch(uint64_t connection_id, GroupId group, uint64_t watch_request_id) {
  boost::asio::post(loop_, [this, connection_id, group, watch_request_id] {
    if (replica::Replica* r = FindReplica(group)) r->CancelWatch(connection_id, watch_request_id);
  });
}

void Store::OnConnectionClosed(uint64_t connection_id) {
  boost::asio::post(loop_, [this, connection_id] {
    for (auto& [g, r] : replicas_) r->CancelConnectionWatches(connection_id);
  });
}

}  // namespace ringkv::store
