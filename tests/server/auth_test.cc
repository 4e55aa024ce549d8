// Permissions at the client port's edge: principals from certificates, validation and
// compilation of the rules, the one Check every request type goes through (allowed and denied:
// get, put, delete, cas, append, scan, status, admin, txn, the lease operations, watch and
// watch cancel), ranges one permission covers, reserved keys, missing and stale rules, and the
// request handler around it (malformed frames, draining, refusals, scan filtering and
// scanned_through, watches handed to the stream after the checks, watch events and lease key
// lists filtered, validation of stored rules) with a stub store.
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

// A lease revoke deletes the attached keys: the edge scopes it to the user's read-write
// prefixes (the replica checks them against the keys when it applies the revoke), replacing
// whatever scope the client sent; users who may write everything are not scoped.
TEST(AuthorizerTest, LeaseRevokesAreScopedToTheUsersWritablePrefixes) {
  const auto now = Clock::now();
  auto a = LoadedAuthorizer(now);
  AuthRules r = AuthRules::Compile(SampleConfig());
  EXPECT_EQ(r.WritablePrefixes(User("alice")), std::vector<std::string>{"app/logs/"});
  EXPECT_EQ(r.WritablePrefixes(User("carol")), std::vector<std::string>{});
  EXPECT_FALSE(r.WritablePrefixes(User("bob")).has_value());  // admin

  kvpb::LeaseRevokeRequest forged;
  forged.set_lease_id(7);
  forged.set_scoped(true);
  forged.add_writable_prefixes("");  // "everything", sent by a client
  forged.set_scoped_for("user root");
  kvpb::LeaseRevokeRequest revoke = forged;
  ASSERT_OK(a->ScopeLeaseRevoke(User("alice"), &revoke, now));
  EXPECT_TRUE(revoke.scoped());
  ASSERT_EQ(revoke.writable_prefixes_size(), 1);
  EXPECT_EQ(revoke.writable_prefixes(0), "app/logs/");
  EXPECT_EQ(revoke.scoped_for(), "user alice");
  EXPECT_EQ(revoke.lease_id(), 7u);

  revoke = forged;
  ASSERT_OK(a->ScopeLeaseRevoke(User("carol"), &revoke, now));
  EXPECT_TRUE(revoke.scoped());
  EXPECT_EQ(revoke.writable_prefixes_size(), 0);

  for (const Principal& all : {User("bob"), User("root")}) {
    revoke = forged;
    ASSERT_OK(a->ScopeLeaseRevoke(all, &revoke, now));
    EXPECT_FALSE(revoke.scoped());
    EXPECT_EQ(revoke.writable_prefixes_size(), 0);
  }
  // A node forwarding a user's revoke (the HTTP API calls the cluster as itself) keeps the
  // scope it gave.
  Principal node;
  node.kind = Principal::Kind::kNode;
  node.name = "node-1";
  revoke = forged;
  ASSERT_OK(a->ScopeLeaseRevoke(node, &revoke, now));
  EXPECT_TRUE(revoke.scoped());
  EXPECT_EQ(revoke.scoped_for(), "user root");
  // Stale rules: refused like every other request.
  revoke = forged;
  EXPECT_EQ(a->ScopeLeaseRevoke(User("alice"), &revoke, now + std::chrono::hours(1)).code(),
            StatusCode::kUnavailable);
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

TEST(AuthRulesTest, RangesOnePermissionCovers) {
  AuthRules r = AuthRules::Compile(SampleConfig());
  const Principal alice = User("alice");
  EXPECT_TRUE(r.CanReadRange(alice, "app/", "app0"));  // the whole prefix: "app0" follows it
  EXPECT_TRUE(r.CanReadRange(alice, "app/a", "app/b"));
  EXPECT_TRUE(r.CanReadRange(alice, "app/logs/", "app/logs0"));
  EXPECT_FALSE(r.CanReadRange(alice, "app/", "app1"));  // "app0..." is not under "app/"
  EXPECT_FALSE(r.CanReadRange(alice, "ap", "app/z"));   // starts before the prefix
  EXPECT_FALSE(r.CanReadRange(alice, "app/", ""));      // every key from "app/" on
  EXPECT_FALSE(r.CanReadRange(alice, "app/", std::string(1, '\0')));
  EXPECT_TRUE(r.CanReadRange(User("bob"), "", std::string(1, '\0')));  // admin
  EXPECT_FALSE(r.CanReadRange(User("carol"), "app/a", "app/b"));

  // The empty prefix covers everything; a prefix ending in 0xff bytes ends where its last
  // other byte does.
  authpb::AuthConfig c;
  auto* all = c.add_roles();
  all->set_name("all");
  auto* perm = all->add_permissions();
  perm->set_prefix("");
  perm->set_access(authpb::Permission::READ);
  auto* ff = c.add_roles();
  ff->set_name("ff");
  perm = ff->add_permissions();
  perm->set_prefix("a\xff");
  perm->set_access(authpb::Permission::READ);
  auto* dave = c.add_users();
  dave->set_name("dave");
  dave->add_roles("all");
  auto* erin = c.add_users();
  erin->set_name("erin");
  erin->add_roles("ff");
  ASSERT_OK(ValidateAuthConfig(c));
  AuthRules r2 = AuthRules::Compile(c);
  EXPECT_TRUE(r2.CanReadRange(User("dave"), "", std::string(1, '\0')));
  EXPECT_TRUE(r2.CanReadRange(User("erin"), "a\xff", "b"));
  EXPECT_FALSE(r2.CanReadRange(User("erin"), "a\xff", "b\x01"));
}

kvpb::Request Txn(const std::vector<std::string>& compared, const std::vector<std::string>& read,
                  const std::vector<std::string>& put, const std::vector<std::string>& deleted,
                  bool in_failure_branch = false) {
  kvpb::Request r;
  kvpb::TxnRequest* t = r.mutable_txn();
  for (const auto& k : compared) t->add_compare()->set_key(k);
  auto* branch = in_failure_branch ? t->mutable_failure() : t->mutable_success();
  for (const auto& k : read) branch->Add()->mutable_get()->set_key(k);
  for (const auto& k : put) {
    auto* p = branch->Add()->mutable_put();
    p->set_key(k);
    p->set_value("v");
  }
  for (const auto& k : deleted) branch->Add()->mutable_delete_()->set_key(k);
  return r;
}

TEST(AuthorizerTest, TransactionsNeedReadOnComparedAndReadKeysAndWriteOnWrittenKeys) {
  const auto now = Clock::now();
  auto a = LoadedAuthorizer(now);
  const Principal alice = User("alice");  // reads app/, writes app/logs/
  EXPECT_OK(a->Check(alice, Txn({"app/config"}, {"app/x"}, {"app/logs/1"}, {"app/logs/2"}), now));
  Status denied = a->Check(alice, Txn({"secret"}, {}, {"app/logs/1"}, {}), now);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("may not compare key \"secret\""),
            std::string_view::npos)
      << denied;
  EXPECT_EQ(a->Check(alice, Txn({}, {"secret"}, {}, {}), now).code(),
            StatusCode::kPermissionDenied);
  denied = a->Check(alice, Txn({"app/config"}, {}, {"app/config"}, {}), now);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("needs read-write"), std::string_view::npos) << denied;
  EXPECT_EQ(a->Check(alice, Txn({}, {}, {}, {"app/config"}), now).code(),
            StatusCode::kPermissionDenied);
  // The failure branch counts as much as the success branch: either may run.
  EXPECT_EQ(a->Check(alice, Txn({"app/config"}, {}, {"app/config"}, {}, true), now).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(a->Check(User("carol"), Txn({"app/x"}, {}, {}, {}), now).code(),
            StatusCode::kPermissionDenied);
  EXPECT_OK(a->Check(User("bob"), Txn({"x"}, {"y"}, {"z"}, {"w"}), now));
  // Reserved keys are refused in a transaction, even to root: the rules change only by
  // compare-and-swap, which validates them.
  const std::string rules(authpb::kAuthConfigKey);
  EXPECT_TRUE(a->Check(User("root"), Txn({}, {}, {rules}, {}), now).IsInvalidArgument());
  EXPECT_TRUE(a->Check(User("root"), Txn({rules}, {}, {}, {}), now).IsInvalidArgument());
  Principal off;  // authentication off
  EXPECT_TRUE(a->Check(off, Txn({}, {}, {}, {rules}, true), now).IsInvalidArgument());
}

TEST(AuthorizerTest, LeasesAreForAnyAuthenticatedUser) {
  const auto now = Clock::now();
  auto a = LoadedAuthorizer(now);
  kvpb::Request grant;
  grant.mutable_lease_grant()->set_ttl_ms(5000);
  grant.mutable_lease_grant()->set_shard_key("anything");
  kvpb::Request revoke;
  revoke.mutable_lease_revoke()->set_lease_id(1);
  kvpb::Request keep;
  keep.mutable_lease_keep_alive()->set_lease_id(1);
  kvpb::Request ttl;
  ttl.mutable_lease_ttl()->set_lease_id(1);
  ttl.mutable_lease_ttl()->set_keys(true);
  Principal anon;
  anon.kind = Principal::Kind::kAnonymous;
  for (const kvpb::Request* r : {&grant, &revoke, &keep, &ttl}) {
    EXPECT_OK(a->Check(User("carol"), *r, now)) << r->ShortDebugString();  // no roles at all
    EXPECT_OK(a->Check(User("root"), *r, now));
    EXPECT_EQ(a->Check(anon, *r, now).code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(a->Check(User("carol"), *r, now + std::chrono::seconds(31)).IsUnavailable());
  }
  // Attaching a key is a put: it needs read-write permission on the key.
  kvpb::Request put = Put("app/config");
  put.mutable_put()->set_lease(1);
  EXPECT_EQ(a->Check(User("alice"), put, now).code(), StatusCode::kPermissionDenied);
  put.mutable_put()->set_key("app/logs/lock");
  EXPECT_OK(a->Check(User("alice"), put, now));
  // A lease's shard key may not be reserved.
  grant.mutable_lease_grant()->set_shard_key(std::string(authpb::kAuthConfigKey));
  EXPECT_TRUE(a->Check(User("root"), grant, now).IsInvalidArgument());
}

kvpb::Request Watch(const std::string& key, const std::string& range_end) {
  kvpb::Request r;
  r.mutable_watch()->set_key(key);
  r.mutable_watch()->set_range_end(range_end);
  return r;
}

TEST(AuthorizerTest, WatchesNeedReadPermissionOnTheirKeyOrWholeRange) {
  const auto now = Clock::now();
  auto a = LoadedAuthorizer(now);
  const Principal alice = User("alice");
  EXPECT_OK(a->Check(alice, Watch("app/config", ""), now));
  Status denied = a->Check(alice, Watch("other", ""), now);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("may not watch key \"other\""), std::string_view::npos)
      << denied;
  EXPECT_OK(a->Check(alice, Watch("app/", "app0"), now));  // kvctl watch app/ --prefix
  denied = a->Check(alice, Watch("app/", "b"), now);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("may not watch the range from \"app/\" to \"b\""),
            std::string_view::npos)
      << denied;
  EXPECT_EQ(a->Check(alice, Watch("app/", std::string(1, '\0')), now).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(a->Check(User("carol"), Watch("app/x", ""), now).code(),
            StatusCode::kPermissionDenied);
  EXPECT_OK(a->Check(User("bob"), Watch("", std::string(1, '\0')), now));
  // A single reserved key is refused (ranges over it are filtered instead).
  const std::string rules(authpb::kAuthConfigKey);
  EXPECT_TRUE(a->Check(User("root"), Watch(rules, ""), now).IsInvalidArgument());
  kvpb::Request cancel;
  cancel.mutable_watch_cancel()->set_watch_id(3);
  EXPECT_OK(a->Check(User("carol"), cancel, now));  // it ends a watch of its own connection
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

TEST(RequestHandlerTest, WatchesGoToTheStreamOnlyAfterTheChecks) {
  auto a = LoadedAuthorizer(Clock::now());
  StubSink sink;
  ClientRequestHandler h(NodeId(1), &sink, a.get());
  std::vector<kvpb::Request> streamed;
  auto stream = [&streamed](kvpb::Request req) { streamed.push_back(std::move(req)); };
  Replied r;
  h.Handle(Watch("other", "").SerializeAsString(), User("alice"), Capture(&r), nullptr, stream);
  EXPECT_EQ(r.count, 1);
  EXPECT_EQ(r.resp.error().code(), kvpb::PERMISSION_DENIED);
  EXPECT_TRUE(streamed.empty());
  h.Handle(Watch("app/", "app0").SerializeAsString(), User("alice"), Capture(&r), nullptr,
           stream);
  EXPECT_EQ(r.count, 1);  // no answer: the stream answers
  ASSERT_EQ(streamed.size(), 1u);
  EXPECT_EQ(streamed[0].watch().key(), "app/");
  EXPECT_TRUE(sink.requests.empty());
  // Without a stream to send events on, a watch is refused.
  h.Handle(Watch("app/", "app0").SerializeAsString(), User("alice"), Capture(&r));
  EXPECT_EQ(r.count, 2);
  EXPECT_EQ(r.resp.error().code(), kvpb::INVALID_ARGUMENT);
  EXPECT_TRUE(sink.requests.empty());
}

TEST(RequestHandlerTest, WatchEventsAndLeaseKeysOnlyReadableOnes) {
  auto a = LoadedAuthorizer(Clock::now());
  kvpb::Response events;
  events.mutable_watch()->set_progress_version(42);
  for (const std::string& k : std::vector<std::string>{"app/a", "secret",
                                                       std::string(authpb::kAuthConfigKey), "app/b"}) {
    events.mutable_watch()->add_events()->set_key(k);
  }
  kvpb::Response r = events;
  ClientRequestHandler::FilterWatchEvents(a.get(), User("alice"), &r);
  ASSERT_EQ(r.watch().events_size(), 2);
  EXPECT_EQ(r.watch().events(0).key(), "app/a");
  EXPECT_EQ(r.watch().events(1).key(), "app/b");
  EXPECT_EQ(r.watch().progress_version(), 42u);
  r = events;
  ClientRequestHandler::FilterWatchEvents(a.get(), User("carol"), &r);
  EXPECT_EQ(r.watch().events_size(), 0);
  EXPECT_EQ(r.watch().progress_version(), 42u);  // the message stays
  r = events;
  ClientRequestHandler::FilterWatchEvents(nullptr, Principal{}, &r);  // authentication off
  EXPECT_EQ(r.watch().events_size(), 3);  // reserved keys never show

  // The keys a lease time-to-live lists, through the handler.
  class LeaseSink : public RequestSink {
   public:
    void HandleRequest(kvpb::Request req, std::function<void(kvpb::Response)> reply) override {
      kvpb::Response resp;
      resp.set_request_id(req.request_id());
      for (const char* k : {"app/lock", "secret", "app/logs/x"}) {
        resp.mutable_lease_ttl()->add_keys(k);
      }
      reply(resp);
    }
  } sink;
  ClientRequestHandler h(NodeId(1), &sink, a.get());
  kvpb::Request ttl;
  ttl.mutable_lease_ttl()->set_lease_id(1);
  ttl.mutable_lease_ttl()->set_keys(true);
  Replied out;
  h.Handle(ttl.SerializeAsString(), User("alice"), Capture(&out));
  ASSERT_EQ(out.resp.lease_ttl().keys_size(), 2);
  EXPECT_EQ(out.resp.lease_ttl().keys(0), "app/lock");
  EXPECT_EQ(out.resp.lease_ttl().keys(1), "app/logs/x");
  h.Handle(ttl.SerializeAsString(), User("carol"), Capture(&out));
  EXPECT_EQ(out.resp.lease_ttl().keys_size(), 0);
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
