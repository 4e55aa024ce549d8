// Node: gossip, the ring and the membership loop — joining, adopting or creating the ring,
// feeding gossip's view to the store and transport, and the cluster-wide NOSPACE alarm
// gossip carries (see node.h). Split from node.cc by concern.
#include <glog/logging.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "common/status_macros.h"
#include "gossip/gossip_driver.h"
#include "gossip/keyring.h"
#include "net/transport.h"
#include "server/credential_watcher.h"
#include "server/node.h"
#include "server/space_guard.h"
#include "storage/meta_store.h"
#include "store/store.h"

namespace ringkv::server {

namespace {

// Changes when the file is rewritten or replaced: "mtime:size:inode", "-" when missing.
std::string FileFingerprint(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_ino);
}

}  // namespace

Status Node::LoadOrCreateRing(bool* created) {
  storage::MetaStore meta(engine_.get());
  ASSIGN_OR_RETURN(std::optional<std::string> stored, meta.GetRingConfig());
  *created = false;
  if (stored) {
    ASSIGN_OR_RETURN(ring_, ring::RingConfig::Decode(*stored));
    return Status::OK();
  }
  if (!options_.initial_peers.empty() && options_.join.empty()) {
    // Bootstrapping a new cluster: every initial member derives the same ring.
    ring_.num_shards = options_.shards;
    ring_.replication_factor = options_.replication;
    ring_.hash_seed = options_.cluster_id;
    RETURN_IF_ERROR(ring_.Validate());
    RETURN_IF_ERROR(meta.SetRingConfig(ring_.Encode()));
    *created = true;
    return Status::OK();
  }
  // Joining an existing cluster: adopt the ring a member gossips.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const gossip::Member& m : gossip_->Members()) {
      if (m.id == options_.node_id || m.meta.empty()) continue;
      // The ring is the meta's first 24 bytes (a flags byte may follow: PublishMeta).
      Result<ring::RingConfig> r = ring::RingConfig::Decode(std::string_view(m.meta).substr(0, 24));
      if (!r.ok()) continue;
      ring_ = *r;
      RETURN_IF_ERROR(meta.SetRingConfig(ring_.Encode()));
      LOG(INFO) << "joined: adopted ring " << ring_.ToString() << " from node " << m.id;
      return Status::OK();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling gossip's view
  }
  return Status::Unavailable("no cluster member reachable through --join within 30 s");
}

Status Node::StartGossip() {
  std::string listen = options_.listen_gossip.empty() ? options_.listen_peer : options_.listen_gossip;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("bad gossip address " + listen);
  gossip::GossipDriverOptions g;
  g.bind_host = listen.substr(0, colon);
  g.bind_port = static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)));
  g.advertise_host = options_.advertise_peer.substr(0, options_.advertise_peer.rfind(':'));
  g.swim.cluster_id = std::to_string(options_.cluster_id);
  g.swim.self.id = options_.node_id;
  g.swim.self.name = "node-" + std::to_string(options_.node_id.value());
  g.swim.self.peer_addr = options_.advertise_peer;
  g.swim.self.client_addr = options_.advertise_client;
  g.swim.seed = data_incarnation_ ^ options_.node_id.value();
  g.swim.probe_interval_ms = options_.gossip_probe_interval_ms;
  g.swim.probe_timeout_ms = options_.gossip_probe_interval_ms / 2;
  if (!options_.gossip_key_file.empty()) {
    ASSIGN_OR_RETURN(gossip::Keyring ring, gossip::Keyring::LoadFile(options_.gossip_key_file));
    LOG(INFO) << "security: gossip datagrams are sealed with AES-GCM; key ring of " << ring.size()
              << " key(s), fingerprints " << ring.Fingerprints() << " (primary first)";
    g.keyring = std::make_shared<const gossip::Keyring>(std::move(ring));
  } else {
    LOG(WARNING) << "security: gossip on " << listen
                 << " is UNAUTHENTICATED and unencrypted (no --gossip_key_file): anyone who can "
                    "send it UDP datagrams can forge membership";
  }
  if (!options_.join.empty()) {
    g.join = options_.join;
  } else {
    for (const auto& [id, addr] : options_.initial_peers) {
      if (id != options_.node_id) g.join.push_back(addr);
    }
  }
  ASSIGN_OR_RETURN(gossip_, gossip::GossipDriver::Start(std::move(g)));
  if (!options_.gossip_key_file.empty()) {
    const std::string path = options_.gossip_key_file;
    auto fingerprint = std::make_shared<std::string>(FileFingerprint(path));
    gossip::GossipDriver* driver = gossip_.get();
    credentials_.watcher()->AddOther(
        "gossip key ring", [path, fingerprint, driver](bool force) -> Result<bool> {
          const std::string now = FileFingerprint(path);
          if (!force && now == *fingerprint) return false;
          *fingerprint = now;  // a bad file is reported once per change
          ASSIGN_OR_RETURN(gossip::Keyring ring, gossip::Keyring::LoadFile(path));
          LOG(INFO) << "security: gossip key ring now has " << ring.size()
                    << " key(s), fingerprints " << ring.Fingerprints() << " (primary first)";
          driver->SetKeyring(std::make_shared<const gossip::Keyring>(std::move(ring)));
          return true;
        });
  }
  return Status::OK();
}

void Node::MembershipLoop() {
  std::map<NodeId, std::string> peers_set;
  for (;;) {
    bool leave = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_ || leave_requested_; });
      if (stopping_) return;
      leave = leave_requested_;
      leave_requested_ = false;
    }
    if (leave) {
      LOG(INFO) << "node " << options_.node_id << " leaves the cluster (decommissioned)";
      gossip_->Leave(std::chrono::seconds(2)).IgnoreError();  // best effort; others time out
      left_ = true;
    }
    std::vector<store::MemberView> view;
    for (const gossip::Member& m : gossip_->Members()) {
      store::MemberView v;
      v.id = m.id;
      v.peer_addr = m.peer_addr;
      v.client_addr = m.client_addr;
      v.decommissioning = m.decommissioning;
      switch (m.state) {
        case gossip::MemberState::kAlive: v.state = store::MemberView::State::kAlive; break;
        case gossip::MemberState::kSuspect: v.state = store::MemberView::State::kSuspect; break;
        case gossip::MemberState::kDead: v.state = store::MemberView::State::kDead; break;
        case gossip::MemberState::kLeft: v.state = store::MemberView::State::kLeft; break;
      }
      if (m.id != options_.node_id && !m.peer_addr.empty()) {
        auto it = peers_set.find(m.id);
        if (it == peers_set.end() || it->second != m.peer_addr) {
          transport_->SetPeer(m.id, m.peer_addr);
          peers_set[m.id] = m.peer_addr;
        }
      }
      view.push_back(std::move(v));
    }
    store_->SetMembership(std::move(view));
    RefreshClusterAlarm(gossip_->Members());
  }
}

void Node::PublishMeta() {
  std::string meta = ring_.Encode();
  meta.push_back(static_cast<char>(space_guard_ && space_guard_->nospace() ? 1 : 0));
  gossip_->SetMeta(std::move(meta));
}

void Node::RefreshClusterAlarm(const std::vector<gossip::Member>& members) {
  std::string reason;
  if (space_guard_ && space_guard_->nospace()) {
    reason = "NOSPACE alarm on node " + std::to_string(options_.node_id.value()) + " (this node: " +
             space_guard_->Reason() + ")";
  } else {
    for (const gossip::Member& m : members) {
      if (m.id == options_.node_id || !m.IsLive() || m.meta.size() < 25) continue;
      if ((static_cast<uint8_t>(m.meta[24]) & 1) != 0) {
        reason = "NOSPACE alarm on node " + std::to_string(m.id.value());
        break;
      }
    }
  }
  std::lock_guard<std::mutex> lock(alarm_mu_);
  cluster_nospace_reason_ = reason;
  cluster_nospace_ = !reason.empty();
}

std::string Node::WriteGate() {
  if (!cluster_nospace_.load(std::memory_order_relaxed)) return "";
  std::lock_guard<std::mutex> lock(alarm_mu_);
  return cluster_nospace_reason_;
}

}  // namespace ringkv::server
