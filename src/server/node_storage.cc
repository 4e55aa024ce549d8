// Node: its storage engine — opening it (recovering interrupted snapshot installs, checking
// that the data dir is this node's and cluster's), the peers' data-dir incarnations, and the
// admin port's storage probe (see node.h). Split from node.cc by concern.
#include <glog/logging.h>

#include <chrono>
#include <filesystem>

#include "common/status_macros.h"
#include "server/node.h"
#include "storage/engine.h"
#include "storage/meta_store.h"
#include "storage/snapshot.h"

namespace ringkv::server {

Status Node::OpenStorage() {
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) {
    return Status::IOError("cannot create data dir " + options_.data_dir + ": " + ec.message());
  }
  storage::EngineOptions eo;
  eo.path = options_.data_dir;
  eo.create_if_missing = true;
  eo.data_blob_min_bytes = options_.blob_min_bytes;
  eo.test_buffer_unsynced_writes = options_.test_buffer_unsynced_writes;
  ASSIGN_OR_RETURN(engine_, storage::Engine::Open(eo));
  RETURN_IF_ERROR(storage::RecoverSnapshotInstalls(engine_.get()));
  storage::MetaStore meta(engine_.get());
  Status s = meta.SetNodeId(options_.node_id);
  if (!s.ok()) {
    return Status::FailedPrecondition("data dir " + options_.data_dir +
                                      " belongs to another node: " + s.ToString());
  }
  s = meta.SetClusterId(options_.cluster_id);
  if (!s.ok()) {
    return Status::FailedPrecondition("data dir " + options_.data_dir +
                                      " belongs to another cluster: " + s.ToString());
  }
  ASSIGN_OR_RETURN(data_incarnation_, meta.InitIncarnationId());
  return Status::OK();
}

Status Node::CheckPeerIncarnation(NodeId peer, uint64_t incarnation, const std::string& remote) {
  // Each data directory has a random incarnation id, sent in every peer handshake. The first
  // one seen for a node id is remembered (synced); a different one later means that node's
  // disk was wiped or replaced: its votes and log are gone, so trusting it could elect two
  // leaders in one term or lose committed entries. It must rejoin under a new node id.
  std::lock_guard<std::mutex> lock(incarnation_mu_);
  storage::MetaStore meta(engine_.get());
  Result<std::optional<uint64_t>> known = meta.GetPeerIncarnation(peer);
  if (!known.ok()) return known.status();
  if (!known->has_value()) return meta.SetPeerIncarnation(peer, incarnation);
  if (**known == incarnation) return Status::OK();
  LOG(ERROR) << "refusing node " << peer << " at " << remote << ": its data directory changed "
             << "(incarnation " << std::hex << incarnation << ", expected " << **known << std::dec
             << "); a node whose data was wiped must rejoin under a new --node_id";
  return Status::FailedPrecondition("node " + std::to_string(peer.value()) +
                                    "'s data directory was replaced (incarnation mismatch); "
                                    "rejoin under a new node id");
}

std::string Node::ProbeStorage() const {
  storage::WriteBatch b;
  const std::string value = std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  b.Put(storage::Cf::kMeta, storage::HealthProbeKey(), value);
  Status s = engine_->Write(b, /*sync=*/false);
  if (!s.ok()) return "probe write failed: " + s.ToString();
  Result<std::optional<std::string>> got = engine_->Get(storage::Cf::kMeta, storage::HealthProbeKey());
  if (!got.ok()) return "probe read failed: " + got.status().ToString();
  if (!got->has_value() || **got != value) return "probe read back something else";
  return "";
}

}  // namespace ringkv::server
