// Who may do what on the client port (docs/security.md). With client certificate
// authentication on, a connection's certificate names its principal: a user (the CN of a client
// certificate), a node (a node certificate: superuser, as CockroachDB's node user), or nobody
// (anonymous, with --client_cert_auth=optional and no certificate). The user "root" and users
// with the built-in role "admin" may do everything; other users get what their roles grant:
// read or read-write on key prefixes.
//
// The rules (authpb::AuthConfig) live in the cluster as the value of one reserved key, so every
// node enforces the same rules; Authorizer (server/authorizer.h) holds the current compiled
// rules. This file is the pure part: principals, the reserved key space, validation and
// compilation of a configuration, and the grant lookups.
//
// Thread-safety: AuthRules is immutable after Compile; the functions are pure.
#ifndef RINGKV_SERVER_AUTH_RULES_H_
#define RINGKV_SERVER_AUTH_RULES_H_

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "net/tls.h"
#include "proto/auth.pb.h"
#include "proto/reserved_keys.h"

namespace ringkv::server {

// The reserved key space (proto/reserved_keys.h): the rules are the value of kAuthConfigKey.
using authpb::IsReservedKey;
using authpb::kAuthConfigKey;
using authpb::kReservedPrefix;

// The built-in administrator role and user. "root" always has the admin role, so a fresh
// cluster with client certificates required can be configured by whoever holds root's
// certificate (tools/make_certs.sh makes one).
inline constexpr std::string_view kAdminRole = "admin";
inline constexpr std::string_view kRootUser = "root";

struct Principal {
  enum class Kind {
    kAuthOff,    // client certificate authentication is off: everything is allowed
    kAnonymous,  // optional client certificates, and this client sent none
    kUser,       // a client certificate naming `name`
    kNode,       // a node certificate: the cluster itself
  };
  Kind kind = Kind::kAuthOff;
  std::string name;  // kUser: the user; kNode: the certificate's CN

  // The principal of a connection whose TLS handshake proved `id`, under `auth`.
  static Principal From(const net::PeerIdentity& id, net::ClientCertAuth auth);
  // "user alice", "anonymous client", "node certificate node-2", "client (authentication off)".
  std::string Describe() const;
  // Allowed everything regardless of the rules: authentication off, nodes and root.
  bool superuser() const;
};

// Checks a configuration before it is stored: user and role names are 1..128 printable
// characters without spaces, no name appears twice, users only reference roles that exist
// (or "admin"), the role "admin" is not redefined, and "root" is not listed (it is built in).
// InvalidArgument naming the problem.
Status ValidateAuthConfig(const authpb::AuthConfig& config);

class AuthRules {
 public:
  // REQUIRES: ValidateAuthConfig(config).ok() (unknown roles are ignored otherwise).
  static AuthRules Compile(const authpb::AuthConfig& config);

  bool IsAdmin(const Principal& p) const;
  bool CanRead(const Principal& p, std::string_view key) const;
  bool CanWrite(const Principal& p, std::string_view key) const;
  // The prefixes `p` may write (its read-write grants), or nullopt when it may write every key
  // (admin, superuser). CanWrite(p, k) == (nullopt or some prefix of k is listed).
  std::optional<std::vector<std::string>> WritablePrefixes(const Principal& p) const;
  // Whether one read permission covers every key in [start, end): a prefix of `start` whose
  // keys extend at least to `end`. `end` "" or "\0" = every key from `start` on (only the
  // empty prefix, or admin, covers that).
  bool CanReadRange(const Principal& p, std::string_view start, std::string_view end) const;
  // The user's roles for error messages: "reader, writer", or "no roles".
  std::string RolesOf(const Principal& p) const;

 private:
  struct Grants {
    bool admin = false;
    std::vector<std::string> roles;
    std::vector<std::pair<std::string, bool>> prefixes;  // (prefix, read-write)
  };
  const Grants* Find(const Principal& p) const;

  std::unordered_map<std::string, Grants> users_;
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_AUTH_RULES_H_
