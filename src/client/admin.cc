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

}  // namespace ringkv::client
