// Users and roles for kvctl user|role (not public API). The rules are one AuthConfig stored as
// the value of the reserved key kAuthConfigKey (proto/reserved_keys.h); reading them is a get
// and changing them a compare-and-swap on the version read, retried when another change won
// the race, so concurrent kvctl invocations never lose each other's changes. The server only
// lets administrators (root, role admin, nodes) do either, and validates what is stored.
//
// Thread-safety: thread-safe, blocking. REQUIRES: not called from a client callback.
#ifndef RINGKV_CLIENT_AUTH_ADMIN_H_
#define RINGKV_CLIENT_AUTH_ADMIN_H_

#include <chrono>
#include <cstdint>
#include <functional>

#include "common/result.h"
#include "proto/auth.pb.h"
#include "ringkv/client.h"

namespace ringkv::client {

struct AuthSnapshot {
  authpb::AuthConfig config;
  uint64_t version = 0;  // 0 = no rules stored yet
};

// The current rules. Errors as Client::Get (PermissionDenied for non-administrators), or
// Corruption when the stored value does not parse.
Result<AuthSnapshot> ReadAuthConfig(Client& client, std::chrono::milliseconds timeout);

// Reads the rules, applies `change` (which may refuse with an error that is returned as is),
// and stores the result if nobody changed the rules meanwhile; otherwise starts over (at most
// 10 times, then Aborted). Returns the new version.
Result<uint64_t> UpdateAuthConfig(Client& client,
                                  const std::function<Status(authpb::AuthConfig*)>& change,
                                  std::chrono::milliseconds timeout);

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_AUTH_ADMIN_H_
