#include "server/auth_rules.h"

#include <set>

namespace ringkv::server {
namespace {

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (unsigned char c : name) {
    if (c <= ' ' || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

Principal Principal::From(const net::PeerIdentity& id, net::ClientCertAuth auth) {
  Principal p;
  if (auth == net::ClientCertAuth::kOff) return p;  // kAuthOff
  if (!id.has_certificate) {
    p.kind = Kind::kAnonymous;
    return p;
  }
  p.kind = id.node_certificate ? Kind::kNode : Kind::kUser;
  p.name = id.UserName();
  return p;
}

std::string Principal::Describe() const {
  switch (kind) {
    case Kind::kAuthOff:
      return "client (authentication off)";
    case Kind::kAnonymous:
      return "anonymous client (no certificate)";
    case Kind::kUser:
      return "user " + name;
    case Kind::kNode:
      return "node certificate " + name;
  }
  return "?";
}

bool Principal::superuser() const {
  return kind == Kind::kAuthOff || kind == Kind::kNode ||
         (kind == Kind::kUser && name == kRootUser);
}

Status ValidateAuthConfig(const authpb::AuthConfig& config) {
  std::set<std::string> roles;
  for (const authpb::Role& r : config.roles()) {
    if (!ValidName(r.name())) {
      return Status::InvalidArgument("role name '" + r.name() +
                                     "' must be 1-128 printable characters without spaces");
    }
    if (r.name() == kAdminRole) {
      return Status::InvalidArgument("the role 'admin' is built in and cannot be redefined");
    }
    if (!roles.insert(r.name()).second) {
      return Status::InvalidArgument("role '" + r.name() + "' is defined twice");
    }
  }
  std::set<std::string> users;
  for (const authpb::User& u : config.users()) {
    if (!ValidName(u.name())) {
      return Status::InvalidArgument("user name '" + u.name() +
                                     "' must be 1-128 printable characters without spaces");
    }
    if (u.name() == kRootUser) {
      return Status::InvalidArgument("the user 'root' is built in (it always has role admin)");
    }
    if (!users.insert(u.name()).second) {
      return Status::InvalidArgument("user '" + u.name() + "' is defined twice");
    }
    for (const std::string& role : u.roles()) {
      if (role != kAdminRole && roles.count(role) == 0) {
        return Status::InvalidArgument("user '" + u.name() + "' has role '" + role +
                                       "', which does not exist");
      }
    }
  }
  return Status::OK();
}

AuthRules AuthRules::Compile(const authpb::AuthConfig& config) {
  std::unordered_map<std::string, const authpb::Role*> roles;
  for (const authpb::Role& r : config.roles()) roles[r.name()] = &r;
  AuthRules rules;
  for (const authpb::User& u : config.users()) {
    Grants& g = rules.users_[u.name()];
    for (const std::string& role : u.roles()) {
      g.roles.push_back(role);
      if (role == kAdminRole) {
        g.admin = true;
        continue;
      }
      auto it = roles.find(role);
      if (it == roles.end()) continue;
      for (const authpb::Permission& perm : it->second->permissions()) {
        g.prefixes.emplace_back(perm.prefix(), perm.access() == authpb::Permission::READ_WRITE);
      }
    }
  }
  return rules;
}

const AuthRules::Grants* AuthRules::Find(const Principal& p) const {
  if (p.kind != Principal::Kind::kUser) return nullptr;
  auto it = users_.find(p.name);
  return it == users_.end() ? nullptr : &it->second;
}

bool AuthRules::IsAdmin(const Principal& p) const {
  if (p.superuser()) return true;
  const Grants* g = Find(p);
  return g != nullptr && g->admin;
}

bool AuthRules::CanRead(const Principal& p, std::string_view key) const {
  if (IsAdmin(p)) return true;
  const Grants* g = Find(p);
  if (g == nullptr) return false;
  for (const auto& [prefix, rw] : g->prefixes) {
    if (key.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

bool AuthRules::CanWrite(const Principal& p, std::string_view key) const {
  if (IsAdmin(p)) return true;
  const Grants* g = Find(p);
  if (g == nullptr) return false;
  for (const auto& [prefix, rw] : g->prefixes) {
    if (rw && key.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

std::optional<std::vector<std::string>> AuthRules::WritablePrefixes(const Principal& p) const {
  if (IsAdmin(p)) return std::nullopt;
  std::vector<std::string> out;
  const Grants* g = Find(p);
  if (g == nullptr) return out;
  for (const auto& [prefix, rw] : g->prefixes) {
    if (rw) out.push_back(prefix);
  }
  return out;
}

bool AuthRules::CanReadRange(const Principal& p, std::string_view start,
                             std::string_view end) const {
  if (IsAdmin(p)) return true;
  const Grants* g = Find(p);
  if (g == nullptr) return false;
  const bool unbounded = end.empty() || end == std::string_view("\0", 1);
  for (const auto& [prefix, rw] : g->prefixes) {
    if (start.substr(0, prefix.size()) != prefix) continue;
    // The first key after every key starting with `prefix`: drop trailing 0xff bytes, then
    // increment the last byte; none left ("" or all 0xff) = no key is after them all.
    std::string after = prefix;
    while (!after.empty() && static_cast<unsigned char>(after.back()) == 0xff) after.pop_back();
    if (after.empty()) return true;
    after.back() = static_cast<char>(static_cast<unsigned char>(after.back()) + 1);
    if (!unbounded && end <= std::string_view(after)) return true;
  }
  return false;
}

std::string AuthRules::RolesOf(const Principal& p) const {
  if (p.kind == Principal::Kind::kUser && p.name == kRootUser) return "admin (built in)";
  const Grants* g = Find(p);
  if (g == nullptr || g->roles.empty()) return "no roles";
  std::string out;
  for (const std::string& r : g->roles) out += (out.empty() ? "" : ", ") + r;
  return out;
}

}  // namespace ringkv::server
