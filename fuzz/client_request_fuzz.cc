// Fuzz target: the client request handler (server/request_handler.h) — a whole client frame
// through parsing, the draining check, the permission check (Authorizer, with rules of a few
// users and roles) and the validation of stored rules, into a stub store that answers at once
// (scans with a page of keys, which the handler filters). The first byte picks the principal.
// Properties: no crash; exactly one reply per frame; a refused request never reaches the store;
// a scan answer only holds keys the principal may read, and never a reserved key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "proto/reserved_keys.h"
#include "server/authorizer.h"
#include "server/request_handler.h"

namespace {

using namespace ringkv;
using namespace ringkv::server;

class StubStore : public RequestSink {
 public:
  void HandleRequest(kvpb::Request req, std::function<void(kvpb::Response)> reply) override {
    ++handled;
    kvpb::Response resp;
    resp.set_request_id(req.request_id());
    if (req.has_scan()) {
      for (const char* k : {"a", "app/1", "app/logs/1", "secret", "\xff\xff\xffringkv/auth"}) {
        kvpb::KeyValue* kv = resp.mutable_scan()->add_kvs();
        kv->set_key(k);
        kv->set_value("v");
      }
      resp.mutable_scan()->set_more(req.scan().limit() % 2 == 1);
    }
    reply(resp);
  }
  int handled = 0;
};

const Authorizer& Rules() {
  static Authorizer* a = [] {
    authpb::AuthConfig c;
    auto* role = c.add_roles();
    role->set_name("reader");
    auto* p = role->add_permissions();
    p->set_prefix("app/");
    role = c.add_roles();
    role->set_name("logger");
    p = role->add_permissions();
    p->set_prefix("app/logs/");
    p->set_access(authpb::Permission::READ_WRITE);
    auto* u = c.add_users();
    u->set_name("alice");
    u->add_roles("reader");
    u->add_roles("logger");
    u = c.add_users();
    u->set_name("bob");
    u->add_roles("admin");
    auto* rules = new Authorizer(std::chrono::hours(24 * 365));
    rules->SetRules(std::make_shared<const AuthRules>(AuthRules::Compile(c)), 1,
                    Authorizer::Clock::now());
    return rules;
  }();
  return *a;
}

Principal PrincipalFor(uint8_t b) {
  Principal p;
  switch (b % 6) {
    case 0:
      return p;  // authentication off
    case 1:
      p.kind = Principal::Kind::kAnonymous;
      return p;
    case 2:
      p.kind = Principal::Kind::kNode;
      p.name = "node-2";
      return p;
    case 3:
      p.kind = Principal::Kind::kUser;
      p.name = "alice";
      return p;
    case 4:
      p.kind = Principal::Kind::kUser;
      p.name = "bob";
      return p;
    default:
      p.kind = Principal::Kind::kUser;
      p.name = "mallory";
      return p;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringkv;
  using namespace ringkv::server;
  if (size < 1) return 0;
  const Principal principal = PrincipalFor(data[0]);
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  StubStore store;
  ClientRequestHandler handler(NodeId(1), &store, &Rules());
  if (data[0] & 0x80) handler.SetDraining();
  int replies = 0;
  handler.Handle(payload, principal, [&](const kvpb::Response& resp, bool close_after) {
    ++replies;
    const bool refused = resp.has_error() && resp.error().code() != kvpb::OK;
    if (refused && store.handled != 0) std::abort();  // refused after reaching the store
    if (close_after && !refused) std::abort();
    for (const auto& kv : resp.scan().kvs()) {
      if (authpb::IsReservedKey(kv.key())) std::abort();
      if (!principal.superuser() && !Rules().MayRead(principal, kv.key())) std::abort();
    }
  });
  if (replies != 1) std::abort();
  return 0;
}
