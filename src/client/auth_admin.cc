#include "client/auth_admin.h"

#include "proto/reserved_keys.h"

namespace ringkv::client {

Result<AuthSnapshot> ReadAuthConfig(Client& client, std::chrono::milliseconds timeout) {
  CallOptions opts;
  opts.timeout = timeout;
  auto kv = client.Get(authpb::kAuthConfigKey, opts);
  if (!kv.ok()) return kv.status();
  AuthSnapshot snap;
  if (!kv->has_value()) return snap;
  snap.version = (*kv)->version;
  if (!snap.config.ParseFromString((*kv)->value)) {
    return Status::Corruption("the stored permission rules (version " +
                              std::to_string(snap.version) + ") do not parse");
  }
  return snap;
}

Result<uint64_t> UpdateAuthConfig(Client& client,
                                  const std::function<Status(authpb::AuthConfig*)>& change,
                                  std::chrono::milliseconds timeout) {
  CallOptions opts;
  opts.timeout = timeout;
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto snap = ReadAuthConfig(client, timeout);
    if (!snap.ok()) return snap.status();
    if (Status s = change(&snap->config); !s.ok()) return s;
    auto cas = client.CompareAndSwap(authpb::kAuthConfigKey, Expect::Version(snap->version),
                                     snap->config.SerializeAsString(), opts);
    if (!cas.ok()) return cas.status();
    if (cas->succeeded) return cas->version;
    // Someone else changed the rules between our read and write: apply ours to theirs.
  }
  return Status::Aborted("the permission rules kept changing under us; try again");
}

}  // namespace ringkv::client
