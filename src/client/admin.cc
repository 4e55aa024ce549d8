#include "client/admin.h"

#include "client/client_impl.h"
#include "client/error_policy.h"

namespace ringkv::client {
namespace {

ClientImpl& Impl(Client& c) { return static_cast<ClientImpl&>(c); }

Status ErrorOf(const kvpb::Response& r) {
  if (r.has_error() && r.error().code() != kvpb::OK) return FinalStatus(r.error());
  return Status::OK();
}

}  // namespace

Result<kvpb::NodeStatus> NodeStatus(Client& client, const std::string& endpoint,
                                    std::chrono::milliseconds timeout, bool with_digests) {
  kvpb::Request req;
  req.mutable_status()->set_with_digests(with_digests);
  auto r = Impl(client).ExecuteSync(std::move(req), CallKind::kAdmin, "status of " + endpoint,
                                    timeout, endpoint);
  if (!r.ok()) return r.status();
  if (Status st = ErrorOf(*r); !st.ok()) return st;
  if (!r->has_status()) return Status::Unavailable("status response without a status from " + endpoint);
  return r->status();
}

Result<std::string> TransferLeader(Client& client, GroupId group, NodeId to,
                                   std::chrono::milliseconds timeout) {
  kvpb::Request req;
  req.set_group_id(group.value());
  req.mutable_admin()->set_transfer_leader_to(to.value());
  auto r = Impl(client).ExecuteSync(std::move(req), CallKind::kAdmin, "transfer leader", timeout);
  if (!r.ok()) return r.status();
  if (Status st = ErrorOf(*r); !st.ok()) return st;
  return r->admin().message();
}

Result<std::string> TriggerSnapshot(Client& client, const std::string& endpoint, GroupId group,
                                    std::chrono::milliseconds timeout) {
  kvpb::Request req;
  req.set_group_id(group.value());
  req.mutable_admin()->set_snapshot(true);
  auto r = Impl(client).ExecuteSync(std::move(req), CallKind::kAdmin, "snapshot", timeout,
                                    endpoint);
  if (!r.ok()) return r.status();
  if (Status st = ErrorOf(*r); !st.ok()) return st;
  return r->admin().message();
}

Result<std::string> Decommission(Client& client, const std::string& endpoint,
                                 std::chrono::milliseconds timeout) {
  kvpb::Request req;
  req.mutable_admin()->set_decommission(true);
  auto r = Impl(client).ExecuteSync(std::move(req), CallKind::kAdmin, "decommission", timeout,
                                    endpoint);
  if (!r.ok()) return r.status();
  if (Status st = ErrorOf(*r); !st.ok()) return st;
  return r->admin().message();
}

Result<std::string> DisarmAlarms(Client& client, const std::string& endpoint,
                                 std::chrono::milliseconds timeout) {
  kvpb::Request req;
  req.mutable_admin()->set_disarm_alarms(true);
  auto r = Impl(client).ExecuteSync(std::move(req), CallKind::kAdmin, "alarm disarm", timeout,
                                    endpoint);
  if (!r.ok()) return r.status();
  if (Status st = ErrorOf(*r); !st.ok()) return st;
  return r->admin().message();
}

Result<kvpb::AdminResponse> CompactStorage(Client& client, const std::string& endpoint,
                                           std::chrono::milliseconds timeout) {
  kvpb::Request req;
  req.mutable_admin()->set_compact_storage(true);
  auto r = Impl(client).ExecuteSync(std::move(req), CallKind::kAdmin, "storage compaction", timeout,
                                    endpoint);
  if (!r.ok()) return r.status();
  if (Status st = ErrorOf(*r); !st.ok()) return st;
  return r->admin();
}

Result<kvpb::Response> BackupRead(Client& client, GroupId group, const kvpb::BackupReadRequest& req,
                                  const std::string& endpoint, std::chrono::milliseconds timeout) {
  kvpb::Request r;
  r.set_group_id(group.value());
  r.set_consistency(kvpb::LINEARIZABLE);
  *r.mutable_backup_read() = req;
  auto resp = Impl(client).ExecuteSync(std::move(r), CallKind::kAdmin,
                                       "backup read of shard " + std::to_string(group.value()),
                                       timeout, req.cursor() == 0 ? "" : endpoint);
  if (!resp.ok()) return resp.status();
  if (Status st = ErrorOf(*resp); !st.ok()) return st;
  if (!resp->has_backup_read() && !req.release()) {
    return Status::Unavailable("backup read of shard " + std::to_string(group.value()) +
                               ": the server answered without data (an older kvd?)");
  }
  return *resp;
}

}  // namespace ringkv::client
