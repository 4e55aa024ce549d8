// Authorizer: the one permission check at the client port's edge. Every request, of every type,
// goes through Check before it reaches the store (server/request_handler.h); the switch over the
// request type has no default, so a new request type does not compile until it says what it
// needs. Scan results are filtered afterwards by MayRead.
//
// The rules come from the cluster (AuthRefresher reads the reserved key and calls SetRules).
// Until the first rules arrive, and when they have not been refreshed for `stale_after`, only
// superusers (root, nodes) are served; others get a retryable UNAVAILABLE naming the reason,
// so a node cut off from the rules does not go on enforcing revoked permissions forever.
//
// Thread-safety: thread-safe. Check runs on the client port's thread, SetRules on the
// refresher's.
#ifndef RINGKV_SERVER_AUTHORIZER_H_
#define RINGKV_SERVER_AUTHORIZER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "common/status.h"
#include "common/thread_annotations.h"
#include "proto/kv.pb.h"
#include "server/auth_rules.h"

namespace ringkv::server {

class Authorizer {
 public:
  using Clock = std::chrono::steady_clock;

  // `stale_after`: rules older than this stop serving non-superusers. Default: 30 s.
  explicit Authorizer(std::chrono::milliseconds stale_after = std::chrono::seconds(30))
      : stale_after_(stale_after) {}

  // Installs rules read from the cluster at `now` (refreshing also just renews them).
  void SetRules(std::shared_ptr<const AuthRules> rules, uint64_t version, Clock::time_point now);
  // The version of the installed rules (0 = none or the key is absent).
  uint64_t version() const;

  // OK, or:
  //   PermissionDenied — the principal lacks the permission; the message names the principal,
  //                      the operation, the key and the principal's roles;
  //   InvalidArgument  — a write of a reserved key, or an operation on one other than get and
  //                      compare-and-swap (how kvctl user|role manage the rules);
  //   Unavailable      — no rules yet, or stale ones (retryable).
  Status Check(const Principal& p, const kvpb::Request& req, Clock::time_point now) const;
  // Scopes a lease revoke to what `p` may write: revoking deletes the lease's keys, which only
  // the replica knows, so the revoke carries p's read-write prefixes and the replica refuses it
  // (PERMISSION_DENIED) if a key outside them is attached (kvpb::LeaseRevokeRequest.scoped).
  // Replaces any scope a client sent; leaves the revoke unscoped for principals that may write
  // every key, and as it is when `p` is a node (forwarding a user's revoke it has scoped).
  // Unavailable as Check when the rules are missing or stale.
  Status ScopeLeaseRevoke(const Principal& p, kvpb::LeaseRevokeRequest* revoke,
                          Clock::time_point now) const;
  // Whether a scan may return `key` to `p` (reserved keys: never).
  bool MayRead(const Principal& p, std::string_view key) const;

 private:
  std::shared_ptr<const AuthRules> Current(Clock::time_point now, Status* unavailable) const;
  Status CheckKey(const Principal& p, const AuthRules& rules, std::string_view op,
                  std::string_view key, bool read, bool write) const;
  Status CheckTxn(const Principal& p, const AuthRules& rules, const kvpb::TxnRequest& txn) const;

  const std::chrono::milliseconds stale_after_;
  mutable std::mutex mu_;
  std::shared_ptr<const AuthRules> rules_ GUARDED_BY(mu_);
  uint64_t version_ GUARDED_BY(mu_) = 0;
  Clock::time_point refreshed_ GUARDED_BY(mu_);
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_AUTHORIZER_H_
