// user and role: the permission rules (docs/security.md), managed like etcdctl's user/role
// commands. Every change is a compare-and-swap of the whole rule set (client/auth_admin.h).
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "client/auth_admin.h"
#include "commands.h"
#include "errors.h"
#include "format.h"

namespace ringkv::kvctl {
namespace {

using nlohmann::json;

constexpr std::string_view kAdminRole = "admin";

int Fail(const Status& st, const GlobalOptions& g, Streams& s) {
  if (st.code() == StatusCode::kPermissionDenied) {
    s.err << "Error: " << st.message()
          << ". Try: run it with an administrator's certificate (user root or role admin: "
             "--cert/--key)\n";
    return ExitCodeFor(st);
  }
  ErrorContext ctx{"auth", "", g.EndpointsString(), true, ""};
  s.err << ErrorLine(st, ctx) << "\n";
  return ExitCodeFor(st);
}

authpb::User* FindUser(authpb::AuthConfig* c, const std::string& name) {
  for (auto& u : *c->mutable_users()) {
    if (u.name() == name) return &u;
  }
  return nullptr;
}

authpb::Role* FindRole(authpb::AuthConfig* c, const std::string& name) {
  for (auto& r : *c->mutable_roles()) {
    if (r.name() == name) return &r;
  }
  return nullptr;
}

std::string AccessName(authpb::Permission::Access a) {
  return a == authpb::Permission::READ_WRITE ? "readwrite" : "read";
}

json RoleJson(const authpb::Role& r) {
  json perms = json::array();
  for (const auto& p : r.permissions()) {
    json j = json::object();
    SetBytes(j, "prefix", p.prefix());
    j["access"] = AccessName(p.access());
    perms.push_back(j);
  }
  return json{{"name", r.name()}, {"permissions", perms}};
}

// Applies `change` and prints `done` on success.
int Update(client::Client& c, const GlobalOptions& g, Streams& s,
           const std::function<Status(authpb::AuthConfig*)>& change, const std::string& done) {
  auto v = client::UpdateAuthConfig(c, change, g.command_timeout);
  if (!v.ok()) return Fail(v.status(), g, s);
  if (g.format == OutputFormat::kJson) {
    s.out << json{{"result", done}, {"version", *v}}.dump() << "\n";
  } else {
    s.out << done << "\n";
  }
  return kExitOk;
}

}  // namespace

int RunUser(client::Client& c, const GlobalOptions& g, const AuthArgs& a, Streams& s) {
  const std::string& name = a.name;
  if (a.action == "add") {
    return Update(
        c, g, s,
        [&](authpb::AuthConfig* cfg) {
          if (name == "root") return Status::InvalidArgument("user root is built in");
          if (FindUser(cfg, name)) return Status::AlreadyExists("user " + name + " already exists");
          cfg->add_users()->set_name(name);
          return Status::OK();
        },
        "User " + name + " created");
  }
  if (a.action == "delete") {
    return Update(
        c, g, s,
        [&](authpb::AuthConfig* cfg) {
          auto* users = cfg->mutable_users();
          auto it = std::find_if(users->begin(), users->end(),
                                 [&](const authpb::User& u) { return u.name() == name; });
          if (it == users->end()) return Status::NotFound("user " + name + " does not exist");
          users->erase(it);
          return Status::OK();
        },
        "User " + name + " deleted");
  }
  if (a.action == "grant-role" || a.action == "revoke-role") {
    const bool grant = a.action == "grant-role";
    return Update(
        c, g, s,
        [&](authpb::AuthConfig* cfg) {
          authpb::User* u = FindUser(cfg, name);
          if (u == nullptr)
            return Status::NotFound("user " + name + " does not exist (kvctl user add " + name +
                                    ")");
          auto* roles = u->mutable_roles();
          auto it = std::find(roles->begin(), roles->end(), a.role);
          if (grant) {
            if (a.role != kAdminRole && FindRole(cfg, a.role) == nullptr) {
              return Status::NotFound("role " + a.role + " does not exist (kvctl role add " +
                                      a.role + ")");
            }
            if (it == roles->end()) u->add_roles(a.role);
          } else {
            if (it == roles->end())
              return Status::NotFound("user " + name + " does not have role " + a.role);
            roles->erase(it);
          }
          return Status::OK();
        },
        grant ? "Role " + a.role + " is granted to user " + name
              : "Role " + a.role + " is revoked from user " + name);
  }
  auto snap = client::ReadAuthConfig(c, g.command_timeout);
  if (!snap.ok()) return Fail(snap.status(), g, s);
  if (a.action == "list") {
    std::vector<std::string> names = {"root"};
    for (const auto& u : snap->config.users()) names.push_back(u.name());
    if (g.format == OutputFormat::kJson) {
      s.out << json{{"users", names}, {"version", snap->version}}.dump() << "\n";
    } else {
      for (const auto& n : names) s.out << n << "\n";
    }
    return kExitOk;
  }
  // get
  std::vector<std::string> roles;
  if (name == "root") {
    roles = {"admin"};
  } else {
    authpb::User* u = FindUser(&snap->config, name);
    if (u == nullptr) return Fail(Status::NotFound("user " + name + " does not exist"), g, s);
    roles.assign(u->roles().begin(), u->roles().end());
  }
  if (g.format == OutputFormat::kJson) {
    s.out << json{{"name", name}, {"roles", roles}}.dump() << "\n";
  } else {
    s.out << "User: " << name << "\nRoles:";
    for (const auto& r : roles) s.out << " " << r;
    s.out << "\n";
  }
  return kExitOk;
}

int RunRole(client::Client& c, const GlobalOptions& g, const AuthArgs& a, Streams& s) {
  const std::string& name = a.name;
  if (a.action == "add") {
    return Update(
        c, g, s,
        [&](authpb::AuthConfig* cfg) {
          if (name == kAdminRole) return Status::InvalidArgument("role admin is built in");
          if (FindRole(cfg, name)) return Status::AlreadyExists("role " + name + " already exists");
          cfg->add_roles()->set_name(name);
          return Status::OK();
        },
        "Role " + name + " created");
  }
  if (a.action == "delete") {
    return Update(
        c, g, s,
        [&](authpb::AuthConfig* cfg) {
          auto* roles = cfg->mutable_roles();
          auto it = std::find_if(roles->begin(), roles->end(),
                                 [&](const authpb::Role& r) { return r.name() == name; });
          if (it == roles->end()) return Status::NotFound("role " + name + " does not exist");
          roles->erase(it);
          for (auto& u : *cfg->mutable_users()) {  // as etcd: users lose the deleted role
            auto* ur = u.mutable_roles();
            ur->erase(std::remove(ur->begin(), ur->end(), name), ur->end());
          }
          return Status::OK();
        },
        "Role " + name + " deleted");
  }
  if (a.action == "grant-permission" || a.action == "revoke-permission") {
    const bool grant = a.action == "grant-permission";
    return Update(
        c, g, s,
        [&](authpb::AuthConfig* cfg) {
          authpb::Role* r = FindRole(cfg, name);
          if (r == nullptr) return Status::NotFound("role " + name + " does not exist");
          auto* perms = r->mutable_permissions();
          auto it = std::find_if(perms->begin(), perms->end(), [&](const authpb::Permission& p) {
            return p.prefix() == a.prefix;
          });
          if (grant) {
            authpb::Permission* p = it != perms->end() ? &*it : r->add_permissions();
            p->set_prefix(a.prefix);
            p->set_access(a.readwrite ? authpb::Permission::READ_WRITE : authpb::Permission::READ);
          } else {
            if (it == perms->end()) {
              return Status::NotFound("role " + name + " has no permission on prefix \"" +
                                      Escape(a.prefix) + "\"");
            }
            perms->erase(it);
          }
          return Status::OK();
        },
        "Role " + name + " updated");
  }
  auto snap = client::ReadAuthConfig(c, g.command_timeout);
  if (!snap.ok()) return Fail(snap.status(), g, s);
  if (a.action == "list") {
    std::vector<std::string> names = {"admin"};
    for (const auto& r : snap->config.roles()) names.push_back(r.name());
    if (g.format == OutputFormat::kJson) {
      s.out << json{{"roles", names}, {"version", snap->version}}.dump() << "\n";
    } else {
      for (const auto& n : names) s.out << n << "\n";
    }
    return kExitOk;
  }
  // get
  if (name == kAdminRole) {
    if (g.format == OutputFormat::kJson) {
      s.out << json{{"name", "admin"}, {"builtin", true}}.dump() << "\n";
    } else {
      s.out << "Role admin (built in): every key, read-write; admin commands; users and roles\n";
    }
    return kExitOk;
  }
  authpb::Role* r = FindRole(&snap->config, name);
  if (r == nullptr) return Fail(Status::NotFound("role " + name + " does not exist"), g, s);
  if (g.format == OutputFormat::kJson) {
    s.out << RoleJson(*r).dump() << "\n";
    return kExitOk;
  }
  s.out << "Role " << name << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : r->permissions()) {
    rows.push_back(
        {AccessName(p.access()), p.prefix().empty() ? "(every key)" : Escape(p.prefix())});
  }
  if (g.format == OutputFormat::kTable) {
    s.out << RenderTable({"ACCESS", "PREFIX"}, rows);
  } else {
    for (const auto& row : rows) s.out << row[0] << "\t" << row[1] << "\n";
  }
  return kExitOk;
}

}  // namespace ringkv::kvctl
