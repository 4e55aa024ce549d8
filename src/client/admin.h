// Admin operations for kvctl (not public API): a node's status and per-group admin commands
// (leadership transfer, log compaction), sent over a Client's connections.
//
// Thread-safety: thread-safe, blocking. REQUIRES: not called from a client callback.
#ifndef RINGKV_CLIENT_ADMIN_H_
#define RINGKV_CLIENT_ADMIN_H_

#include <chrono>
#include <string>

#include "common/ids.h"
#include "common/result.h"
#include "proto/kv.pb.h"
#include "ringkv/client.h"

namespace ringkv::client {

// The status of the node at `endpoint` (one attempt, no redirects). Unavailable when it cannot
// be reached; DeadlineExceeded when it did not answer within `timeout`.
// With `with_digests` every group carries its state digest (convergence checks).
// REQUIRES: `client` was made by Client::Connect.
Result<kvpb::NodeStatus> NodeStatus(Client& client, const std::string& endpoint,
                                    std::chrono::milliseconds timeout, bool with_digests = false);

// Asks `group`'s leader (found by following hints) to hand leadership to node `to`. Returns the
// server's message.
Result<std::string> TransferLeader(Client& client, GroupId group, NodeId to,
                                   std::chrono::milliseconds timeout);

// Asks the node at `endpoint` to compact `group`'s log now. Returns the server's message.
// Asks the node at `endpoint` to decommission itself: its replicas move away, then it leaves.
Result<std::string> Decommission(Client& client, const std::string& endpoint,
                                 std::chrono::milliseconds timeout);

// Asks the node at `endpoint` to clear its alarms (raised again at once if still due).
Result<std::string> DisarmAlarms(Client& client, const std::string& endpoint,
                                 std::chrono::milliseconds timeout);

Result<std::string> TriggerSnapshot(Client& client, const std::string& endpoint, GroupId group,
                                    std::chrono::milliseconds timeout);

// Asks the node at `endpoint` to compact its storage (RocksDB CompactRange); blocks until the
// node is done or `timeout` passes. Returns the server's answer (sizes before/after, time).
Result<kvpb::AdminResponse> CompactStorage(Client& client, const std::string& endpoint,
                                           std::chrono::milliseconds timeout);

// One page of a consistent read of `group` for a backup (kvpb.BackupReadRequest). A new cursor
// (req.cursor() == 0) is opened on the group's leader, found by following hints; pages of an
// open cursor go to `endpoint` (one attempt), the node that opened it. Returns the whole
// response: its served_by names the node holding the cursor.
Result<kvpb::Response> BackupRead(Client& client, GroupId group, const kvpb::BackupReadRequest& req,
                                  const std::string& endpoint, std::chrono::milliseconds timeout);

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_ADMIN_H_
