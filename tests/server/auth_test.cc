// Permissions at the client port's edge: principals from certificates, validation and
// compilation of the rules, the one Check every request type goes through (allowed and denied:
// get, put, delete, cas, append, scan, status, admin), reserved keys, missing and stale rules,
// and the request handler around it (malformed frames, draining, refusals, scan filtering and
// scanned_through, validation of stored rules) with a stub store.
#include <gtest/gtest.h>

#include <vector>

#include "proto/reserved_keys.h"
#include "server/auth_rules.h"
#include "server/authorizer.h"
#include "server/request_handler.h"
#include "testutil/status_matchers.h"

namespace ringkv::server {
namespace {

using Clock = Authorizer::Clock;

Principal User(const std::string& name) {
  Principal p;
  p.kind = Principal::Kind::kUser;
  p.name = name;
  return p;
}

authpb::AuthConfig SampleConfig() {
  authpb::AuthConfig c;
  auto* reader = c.add_roles();
  reader->set_name("reader");
  auto* p = reader->add_permissions();
  p->set_prefix("app/");
  p->set_access(authpb::Permission::READ);
  auto* writer = c.add_roles();
  writer->set_name("writer");
  p = writer->add_permissions();
  p->set_prefix("app/logs/");
  p->set_access(authpb::Permission::READ_WRITE);
  auto* alice = c.add_users();
  alice->set_name("alice");
  alice->add_roles("reader");
  alice->add_roles("writer");
  auto* bob = c.add_users();
  bob->set_name("bob");
  bob->add_roles("admin");
  c.add_users()->set_name("carol");  // no roles
  return c;
}

std::unique_ptr<Authorizer> LoadedAuthorizer(Clock::time_point now) {
  auto a = std::make_unique<Authorizer>(std::chrono::seconds(30));
  a->SetRules(std::make_shared<const AuthRules>(AuthRules::Compile(SampleConfig())), 7, now);
  return a;
}

kvpb::Request Get(const std::string& key) {
  kvpb::Request r;
  r.mutable_get()->set_key(key);
  return r;
}
kvpb::Request Put(const std::string& key) {
  kvpb::Request r;
  r.mutable_put()->set_key(key);
  r.mutable_put()->set_value("v");
  return r;
}

TEST(PrincipalTest, FromCertificates) {
  net::PeerIdentity none;
  EXPECT_EQ(Principal::From(none, net::ClientCertAuth::kOff).kind, Principal::Kind::kAuthOff);
  EXPECT_EQ(Principal::From(none, net::ClientCertAuth::kOptional).kind,
            Principal::Kind::kAnonymous);
  net::PeerIdentity alice;
  alice.has_certificate = true;
  alice.common_name = "alice";
  Principal p = Principal::From(alice, net::ClientCertAuth::kRequired);
  EXPECT_EQ(p.kind, Principal::Kind::kUser);
  EXPECT_EQ(p.name, "alice");
  EXPECT_FALSE(p.superuser());
  net::PeerIdentity san_only;
  san_only.has_certificate = true;
  san_only.dns_names = {"svc.example"};
  EXPECT_EQ(Principal::From(san_only, net::ClientCertAuth::kRequired).name, "svc.example");
  net::PeerIdentity node = alice;
  node.node_certificate = true;
  EXPECT_TRUE(Principal::From(node, net::ClientCertAuth::kRequired).superuser());
  EXPECT_TRUE(User("root").superuser());
}

TEST(AuthRulesTest, ValidateRefusesBadConfigs) {
  EXPECT_OK(ValidateAuthConfig(SampleConfig()));
  auto c = SampleConfig();
  c.mutable_users(0)->add_roles("ghost");
  EXPECT_NE(ValidateAuthConfig(c).message().find("ghost"), std::string_view::npos);
  c = SampleConfig();
  c.add_roles()->set_name("reader");
  EXPECT_FALSE(ValidateAuthConfig(c).ok());
  c = SampleConfig();
  c.add_roles()->set_name("admin");
  EXPECT_FALSE(ValidateAuthConfig(c).ok());
  c = SampleConfig();
  c.add_users()->set_name("root");
  EXPECT_FALSE(ValidateAuthConfig(c).ok());
  c = SampleConfig();
  c.add_users()->set_name("has space");
  EXPECT_FALSE(ValidateAuthConfig(c).ok());
}

TEST(AuthRulesTest, PrefixGrants) {
  AuthRules r = AuthRules::Compile(SampleConfig());
  EXPECT_TRUE(r.CanRead(User("alice"), "app/config"));
  EXPECT_FALSE(r.CanWrite(User("alice"), "app/config"));
  EXPECT_TRUE(r.CanWrite(User("alice"), "app/logs/1"));
  EXPECT_FALSE(r.CanRead(User("alice"), "other"));
  EXPECT_TRUE(r.IsAdmin(User("bob")));
  EXPECT_TRUE(r.CanWrite(User("bob"), "anything"));
  EXPECT_FALSE(r.CanRead(User("carol"), "app/x"));
  EXPECT_FALSE(r.CanRead(User("mallory"), "app/x"));  // unknown user: nothing
  EXPECT_EQ(r.RolesOf(User("alice")), "reader, writer");
  EXPECT_EQ(r.RolesOf(User("carol")), "no roles");
}

TEST(AuthorizerTest, EveryRequestTypeAllowedAndDenied) {
  const auto now = Clock::now();
  auto a = LoadedAuthorizer(now);
  const Principal alice = User("alice"), carol = User("carol");
  EXPECT_OK(a->Check(alice, Get("app/x"), now));
  Status denied = a->Check(carol, Get("app/x"), now);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("user carol may not read key \"app/x\""), std::string_view::npos)
      << denied;
  EXPECT_OK(a->Check(alice, Put("app/logs/1"), now));
  denied = a->Check(alice, Put("app/config"), now);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("roles: reader, writer"), std::string_view::npos) << denied;

  kvpb::Request del;
  del.mutable_delete_()->set_key("app/config");
  EXPECT_EQ(a->Check(alice, del, now).code(), StatusCode::kPermissionDenied);
  del.mutable_delete_()->set_key("app/logs/2");
  EXPECT_OK(a->Check(alice, del, now));
  kvpb::Request cas;
  cas.mutable_cas()->set_key("app/logs/3");
  EXPECT_OK(a->Check(alice, cas, now));
  cas.mutable_cas()->set_key("app/other");
  EXPECT_EQ(a->Check(alice, cas, now).code(), StatusCode::kPermissionDenied);
  kvpb::Request append;
  append.mutable_append()->set_key("app/logs/4");
  EXPECT_OK(a->Check(alice, append, now));
  append.mutable_append()->set_key("x");
  EXPECT_EQ(a->Check(alice, append, now).code(), StatusCode::kPermissionDenied);
  kvpb::Request scan;
  scan.mutable_scan();
  EXPECT_OK(a->Check(carol, scan, now));  // filtered, not refused
  kvpb::Request status;
  status.mutable_status();
  EXPECT_OK(a->Check(carol, status, now));
  kvpb::Request admin;
  admin.mutable_admin()->set_snapshot(true);
  EXPECT_EQ(a->Check(alice, admin, now).code(), StatusCode::kPermissionDenied);
  EXPECT_OK(a->Check(User("bob"), admin, now));
  EXPECT_OK(a->Check(User("root"), admin, now));
  Principal anon;
  anon.kind = Principal::Kind::kAnonymous;
  EXPECT_EQ(a->Check(anon, Get("app/x"), now).code(), StatusCode::kPermissionDenied);
}

TEST(AuthorizerTest, ReservedKeysAreForAdministratorsOnly) {
  const auto now = Clock::now();
  auto a = LoadedAuthorizer(now);
  const std::string rules(authpb::kAuthConfigKey);
  EXPECT_OK(a->Check(User("root"), Get(rules), now));
  EXPECT_OK(a->Check(User("bob"), Get(rules), now));
  EXPECT_EQ(a->Check(User("alice"), Get(rules), now).code(), StatusCode::kPermissionDenied);
  // Only get and compare-and-swap, even for root: nobody puts or deletes the rules blindly.
  EXPECT_TRUE(a->Check(User("root"), Put(rules), now).IsInvalidArgument());
  Principal off;  // authentication off
  EXPECT_TRUE(
      a->Check(off, Put(std::string(authpb::kReservedPrefix) + "x"), now).IsInvalidArgument());
  EXPECT_FALSE(a->MayRead(User("root"), rules));
}

TEST(AuthorizerTest, NoRulesOrStaleRulesServeOnlySuperusers) {
  const auto now = Clock::now();
  Authorizer none;
  EXPECT_TRUE(none.Check(User("alice"), Get("app/x"), now).IsUnavailable());
  EXPECT_OK(none.Check(User("root"), Get("app/x"), now));
  auto a = LoadedAuthorizer(now);
  Status stale = a->Check(User("alice"), Get("app/x"), now + std::chrono::seconds(31));
  EXPECT_TRUE(stale.IsUnavailable());
  EXPECT_NE(stale.message().find("stale"), std::string_view::npos) << stale;
  EXPECT_OK(a->Check(User("root"), Get("app/x"), now + std::chrono::seconds(31)));
}

// A store that answers scans with a fixed page and everything else with OK.
class StubSink : public RequestSink {
 public:
  void HandleRequest(kvpb::Request req, std::function<void(kvpb::Response)> reply) override {
    requests.push_back(req);
    kvpb::Response resp;
    resp.set_request_id(req.request_id());
    if (req.has_scan()) *resp.mutable_scan() = page;
    reply(resp);
  }
  std::vector<kvpb::Request> requests;
  kvpb::ScanResponse page;
};

struct Replied {
  kvpb::Response resp;
  bool close = false;
  int count = 0;
};

ClientRequestHandler::Reply Capture(Replied* out) {
  return [out](const kvpb::Response& r, bool close) {
    out->resp = r;
    out->close = close;
    ++out->count;
  };
}

TEST(RequestHandlerTest, MalformedDrainingAndRefused) {
  auto a = LoadedAuthorizer(Clock::now());
  StubSink sink;
  ClientRequestHandler h(NodeId(1), &sink, a.get());
  Replied r;
  h.Handle("\xff\xff garbage", User("alice"), Capture(&r));
  EXPECT_EQ(r.resp.error().code(), kvpb::INVALID_ARGUMENT);
  EXPECT_TRUE(r.close);
  h.Handle(Put("app/config").SerializeAsString(), User("alice"), Capture(&r));
  EXPECT_EQ(r.resp.error().code(), kvpb::PERMISSION_DENIED);
  EXPECT_TRUE(r.resp.error().definite());
  EXPECT_FALSE(r.close);
  EXPECT_TRUE(sink.requests.empty());
  h.Handle(Put("app/logs/1").SerializeAsString(), User("alice"), Capture(&r));
  EXPECT_EQ(sink.requests.size(), 1u);
  h.SetDraining();
  h.Handle(Put("app/logs/1").SerializeAsString(), User("alice"), Capture(&r));
  EXPECT_EQ(r.resp.error().code(), kvpb::UNAVAILABLE);
  EXPECT_EQ(sink.requests.size(), 1u);
}

TEST(RequestHandlerTest, ScansReturnOnlyReadableKeysAndSayHowFarTheyGot) {
  auto a = LoadedAuthorizer(Clock::now());
  StubSink sink;
  for (const char* k : {"aaa", "app/a", "app/b", "b", "zz"}) {
    auto* kv = sink.page.add_kvs();
    kv->set_key(k);
    kv->set_value("v");
  }
  sink.page.set_more(true);
  ClientRequestHandler h(NodeId(1), &sink, a.get());
  kvpb::Request scan;
  scan.mutable_scan()->set_limit(5);
  Replied r;
  h.Handle(scan.SerializeAsString(), User("alice"), Capture(&r));
  ASSERT_EQ(r.resp.scan().kvs_size(), 2);
  EXPECT_EQ(r.resp.scan().kvs(0).key(), "app/a");
  EXPECT_EQ(r.resp.scan().kvs(1).key(), "app/b");
  EXPECT_TRUE(r.resp.scan().more());
  EXPECT_EQ(r.resp.scan().scanned_through(), "zz");
  h.Handle(scan.SerializeAsString(), User("carol"), Capture(&r));
  EXPECT_EQ(r.resp.scan().kvs_size(), 0);
  EXPECT_EQ(r.resp.scan().scanned_through(), "zz");
  // Reserved keys never show, not even to root, and nothing follows them.
  sink.page.add_kvs()->set_key(std::string(authpb::kAuthConfigKey));
  h.Handle(scan.SerializeAsString(), User("root"), Capture(&r));
  EXPECT_EQ(r.resp.scan().kvs_size(), 5);
  EXPECT_FALSE(r.resp.scan().more());
}

TEST(RequestHandlerTest, StoredRulesAreValidated) {
  StubSink sink;
  ClientRequestHandler h(NodeId(1), &sink, /*authorizer=*/nullptr);  // authentication off
  kvpb::Request cas;
  cas.mutable_cas()->set_key(std::string(authpb::kAuthConfigKey));
  cas.mutable_cas()->set_expected_version(0);
  auto bad = SampleConfig();
  bad.mutable_users(0)->add_roles("ghost");
  cas.mutable_cas()->set_new_value(bad.SerializeAsString());
  Replied r;
  h.Handle(cas.SerializeAsString(), Principal{}, Capture(&r));
  EXPECT_EQ(r.resp.error().code(), kvpb::INVALID_ARGUMENT);
  EXPECT_NE(r.resp.error().message().find("ghost"), std::string::npos);
  cas.mutable_cas()->set_new_value(SampleConfig().SerializeAsString());
  h.Handle(cas.SerializeAsString(), Principal{}, Capture(&r));
  EXPECT_FALSE(r.resp.has_error());
  EXPECT_EQ(sink.requests.size(), 1u);
}

}  // namespace
}  // namespace ringkv::server
