// A 3-node kvd cluster with TLS on the client and peer ports and client certificates required:
// it serves through the client library and kvctl with certificates; hostile peers and clients
// (a certificate of another CA, an expired certificate, a client certificate on the peer port,
// plain TCP on a TLS port, no certificate at all) are each refused with a log line naming the
// reason while the cluster keeps serving; an expiring certificate is warned about; renewed
// certificate files are picked up on SIGHUP and by themselves; gossip is sealed with a key
// ring, and a replayed or forged gossip packet is dropped with a log line. Without TLS the log
// says the ports are unauthenticated. With client certificates required, roles stored in the
// cluster grant read or read-write per key prefix and admin commands, managed by kvctl as
// root; scans return only readable keys; transactions, leases and watches follow the same roles.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "client/admin.h"
#include "integration/http_get.h"
#include "gossip/codec.h"
#include "gossip/keyring.h"
#include "integration/test_cluster.h"
#include "net/frame_client.h"
#include "net/test_certs.h"
#include "net/tls.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

using net::testing::CertFiles;
using net::testing::CertSpec;
using net::testing::TestCa;

// Everything certificate-related of one test cluster, under its own temp dir.
struct Pki {
  Pki() : dir(MakeDir()), ca(dir, "cluster"), other_ca(dir, "other") {
    CertSpec node_spec;
    node_spec.common_name = "node";
    node_spec.ip_addresses = {"127.0.0.1"};
    node_spec.not_after_s = 10 * 86400;  // inside the 30-day warning window
    node = ca.Issue("node", node_spec);
    root = ca.IssueClient("root", "root");
    gossip_key = gossip::Keyring::GenerateKey();
    gossip_key_file = dir + "/gossip.key";
    net::testing::WriteFile(gossip_key_file, "# test cluster\n" + gossip_key + "\n");
  }
  ~Pki() { std::filesystem::remove_all(dir); }
  static std::string MakeDir() {
    char tmpl[] = "/tmp/ringkv-integ-pki-XXXXXX";
    return ::mkdtemp(tmpl);
  }

  std::string dir;
  TestCa ca;
  TestCa other_ca;
  CertFiles node;
  CertFiles root;
  std::string gossip_key;
  std::string gossip_key_file;
};

TestClusterOptions TlsOptions(const Pki& pki) {
  TestClusterOptions o;
  o.extra_flags = {"--tls_cert=" + pki.node.cert,  "--tls_key=" + pki.node.key,
                   "--tls_ca=" + pki.ca.ca_file(), "--client_cert_auth=required",
                   "--tls_reload_interval_ms=200", "--gossip_key_file=" + pki.gossip_key_file};
  o.client_tls.ca_file = pki.ca.ca_file();
  o.client_tls.cert_file = pki.root.cert;
  o.client_tls.key_file = pki.root.key;
  return o;
}

// Dials 127.0.0.1:port with `tls` (null = plain TCP) and our protocol handshake; returns the
// connect result. The connection is closed again at once.
Status Dial(uint16_t port, std::shared_ptr<net::TlsContext> tls, uint64_t node_id = 0) {
  net::FrameClientOptions fo;
  fo.address = "127.0.0.1:" + std::to_string(port);
  fo.node_id = NodeId(node_id);
  fo.cluster_id = 42;
  fo.tls = std::move(tls);
  fo.connect_timeout = std::chrono::seconds(3);
  net::FrameClient c(
      fo, [](std::string) {}, [](const Status&) {});
  return c.Connect();
}

std::shared_ptr<net::TlsContext> ClientContext(const CertFiles& f, const std::string& ca) {
  net::TlsOptions o;
  o.cert_file = f.cert;
  o.key_file = f.key;
  o.ca_file = ca;
  auto c = net::TlsContext::Load(net::TlsRole::kClient, o);
  EXPECT_OK(c.status());
  return c.ok() ? *c : nullptr;
}

class TlsClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new Pki();
    cluster_ = new TestCluster(TlsOptions(*pki_));
    ASSERT_OK(cluster_->StartAll());
    auto leader = cluster_->WaitForLeader(30s);
    ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete pki_;
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << cluster_->process(1).LogTail(40) << "\n";
  }
  // A write and a read through the cluster still work.
  static void ExpectServing(const std::string& key) {
    auto put = cluster_->client().Put(key, "v");
    ASSERT_OK(put.status());
    auto get = cluster_->client().Get(key);
    ASSERT_OK(get.status());
    ASSERT_TRUE(get->has_value());
    EXPECT_EQ((*get)->value, "v");
  }

  static Pki* pki_;
  static TestCluster* cluster_;
};
Pki* TlsClusterTest::pki_ = nullptr;
TestCluster* TlsClusterTest::cluster_ = nullptr;

TEST_F(TlsClusterTest, ServesOverTlsAndSaysSo) {
  ExpectServing("tls-a");
  EXPECT_TRUE(cluster_->LogHasLine(1, {"transport listening", "(mutual TLS)"}));
  EXPECT_TRUE(cluster_->LogHasLine(1, {"frame server", "TLS, client certificates required"}));
  EXPECT_FALSE(cluster_->LogHasLine(1, {"UNAUTHENTICATED"}));
  // The node certificate expires in 10 days: warned about at start.
  EXPECT_TRUE(cluster_->LogHasLine(1, {"client port TLS certificate", "expires in 9 days"}));
}

TEST_F(TlsClusterTest, KvctlWithCertificates) {
  const std::string kvctl = KvctlBinary();
  if (kvctl.empty()) GTEST_SKIP() << "kvctl not built";
  const std::string base =
      kvctl + " --endpoints=" + cluster_->endpoints() + " --cacert=" + pki_->ca.ca_file();
  const std::string as_root = base + " --cert=" + pki_->root.cert + " --key=" + pki_->root.key;
  EXPECT_EQ(std::system((as_root + " put kvctl-key hello >/dev/null").c_str()), 0);
  FILE* p = ::popen((as_root + " get kvctl-key --print-value-only").c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[64] = {};
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, p);
  EXPECT_EQ(WEXITSTATUS(::pclose(p)), 0);
  EXPECT_EQ(std::string(buf, n), "hello");
  // Without a client certificate the cluster refuses the connection: unavailable (exit 5).
  const int rc = std::system((base + " --dial-timeout=1s --command-timeout=2s get kvctl-key "
                                     ">/dev/null 2>&1")
                                 .c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 5);
}

TEST_F(TlsClusterTest, PlainTcpOnTlsPortsIsRefused) {
  EXPECT_FALSE(Dial(cluster_->client_port(1), nullptr).ok());
  EXPECT_TRUE(cluster_->WaitForLogLine(1, {"refused TLS client connection", "plain TCP"}));
  EXPECT_FALSE(Dial(cluster_->peer_port(1), nullptr, /*node_id=*/9).ok());
  EXPECT_TRUE(cluster_->WaitForLogLine(1, {"refused TLS peer connection", "plain TCP"}));
  ExpectServing("tls-plain");
}

TEST_F(TlsClusterTest, PeerWithCertificateOfAnotherCaIsRefused) {
  // The intruder trusts our CA (public) but its own certificate comes from another one.
  CertFiles intruder = pki_->other_ca.IssueNode("intruder");
  EXPECT_FALSE(Dial(cluster_->peer_port(1), ClientContext(intruder, pki_->ca.ca_file()), 9).ok());
  EXPECT_TRUE(cluster_->WaitForLogLine(
      1, {"refused TLS peer connection", "unable to get local issuer certificate"}));
  ExpectServing("tls-other-ca");
}

TEST_F(TlsClusterTest, PeerWithExpiredCertificateIsRefused) {
  CertSpec spec;
  spec.common_name = "stale-node";
  spec.ip_addresses = {"127.0.0.1"};
  spec.not_before_s = -30 * 86400;
  spec.not_after_s = -86400;
  CertFiles stale = pki_->ca.Issue("stale", spec);
  EXPECT_FALSE(Dial(cluster_->peer_port(1), ClientContext(stale, pki_->ca.ca_file()), 9).ok());
  EXPECT_TRUE(cluster_->WaitForLogLine(
      1, {"refused TLS peer connection", "certificate has expired", "CN=stale-node"}));
  ExpectServing("tls-expired");
}

TEST_F(TlsClusterTest, ClientCertificateOnPeerPortIsRefused) {
  EXPECT_FALSE(Dial(cluster_->peer_port(1), ClientContext(pki_->root, pki_->ca.ca_file()), 9).ok());
  EXPECT_TRUE(cluster_->WaitForLogLine(
      1, {"refused TLS peer connection", "CN=root is a client certificate"}));
  ExpectServing("tls-client-cert");
}

TEST_F(TlsClusterTest, RenewedCertificateIsLoadedOnSighupAndByItself) {
  // Renew node 1's certificate files in place (all nodes share them in this test).
  CertSpec spec;
  spec.common_name = "node-renewed";
  spec.ip_addresses = {"127.0.0.1"};
  spec.not_after_s = 365 * 86400;
  pki_->ca.Issue("node", spec);  // rewrites node.crt / node.key
  EXPECT_TRUE(cluster_->WaitForLogLine(
      1, {"loaded the client port TLS certificate", "CN=node-renewed"}, 10s));
  // SIGHUP reloads even unchanged files: a "loaded" line follows the signal's.
  ASSERT_EQ(::kill(cluster_->process(2).pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitUntil(
      [] {
        const std::string log = cluster_->process(2).ReadLog();
        const size_t sighup = log.find("received SIGHUP");
        return sighup != std::string::npos &&
               log.find("loaded the peer port TLS certificate", sighup) != std::string::npos;
      },
      10s));
  EXPECT_TRUE(cluster_->process(2).Running());
  ExpectServing("tls-renewed");
}

// Runs kvctl with `args` (a shell fragment); returns its exit code and stdout.
std::pair<int, std::string> Kvctl(const std::string& args) {
  FILE* p = ::popen((KvctlBinary() + " " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

std::unique_ptr<client::Client> ClientAs(const CertFiles& cert, const std::string& ca,
                                         const std::string& endpoints) {
  client::ClientOptions o;
  size_t start = 0;
  while (start < endpoints.size()) {
    size_t comma = endpoints.find(',', start);
    if (comma == std::string::npos) comma = endpoints.size();
    o.endpoints.push_back(endpoints.substr(start, comma - start));
    start = comma + 1;
  }
  o.tls.ca_file = ca;
  o.tls.cert_file = cert.cert;
  o.tls.key_file = cert.key;
  o.request_timeout = 5s;
  auto c = client::Client::Connect(o);
  EXPECT_OK(c.status());
  return c.ok() ? std::move(c).value() : nullptr;
}

TEST_F(TlsClusterTest, RolesGrantReadAndReadWriteOnPrefixes) {
  if (KvctlBinary().empty()) GTEST_SKIP() << "kvctl not built";
  const std::string root = "--endpoints=" + cluster_->endpoints() +
                           " --cacert=" + pki_->ca.ca_file() + " --cert=" + pki_->root.cert +
                           " --key=" + pki_->root.key;
  for (const std::string cmd :
       {"role add app-reader", "role grant-permission app-reader read app/", "role add logs-writer",
        "role grant-permission logs-writer readwrite app/logs/", "user add alice",
        "user grant-role alice app-reader", "user grant-role alice logs-writer", "user add bob",
        "user grant-role bob admin"}) {
    auto [rc, out] = Kvctl(root + " " + cmd);
    ASSERT_EQ(rc, 0) << cmd << ": " << out;
  }
  auto [rc, out] = Kvctl(root + " role get app-reader");
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("read	app/"), std::string::npos) << out;
  std::tie(rc, out) = Kvctl(root + " user get alice");
  EXPECT_NE(out.find("app-reader logs-writer"), std::string::npos) << out;
  // Data written by root.
  for (const char* k : {"app/config", "app/logs/1", "secret/key", "zeta"}) {
    ASSERT_OK(cluster_->client().Put(k, "v").status());
  }

  CertFiles alice_cert = pki_->ca.IssueClient("alice", "alice");
  auto alice = ClientAs(alice_cert, pki_->ca.ca_file(), cluster_->endpoints());
  ASSERT_NE(alice, nullptr);
  // The rules reach every node within a refresh (--auth_refresh_ms), each node on its own
  // schedule: wait until both of alice's roles are in force where her requests go (the read
  // on app/config's leader, the write on app/logs/2's), not just the first one seen.
  ASSERT_TRUE(WaitUntil([&] { return alice->Get("app/config").ok(); }, 10s));
  ASSERT_TRUE(WaitUntil([&] { return alice->Put("app/logs/2", "x").ok(); }, 10s));
  auto denied = alice->Put("app/config", "x");
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied) << denied.status();
  EXPECT_NE(denied.status().message().find(R"(user alice may not write key "app/config")"),
            std::string_view::npos)
      << denied.status();
  EXPECT_EQ(alice->Get("secret/key").status().code(), StatusCode::kPermissionDenied);
  // A scan over everything returns only what alice may read.
  // A scan reaches every node, so it also waits for the rules on each (a node without alice's
  // roles yet filters her keys out).
  auto scan = alice->Scan("", "");
  EXPECT_TRUE(WaitUntil(
      [&] {
        scan = alice->Scan("", "");
        return scan.ok() && scan->kvs.size() >= 3;
      },
      10s))
      << scan.status();
  ASSERT_OK(scan.status());
  for (const auto& kv : scan->kvs) EXPECT_EQ(kv.key.rfind("app/", 0), 0u) << kv.key;
  EXPECT_GE(scan->kvs.size(), 3u);
  // Admin: alice may not, bob may.
  EXPECT_EQ(
      client::TriggerSnapshot(*alice, cluster_->client_address(1), GroupId(1), 5s).status().code(),
      StatusCode::kPermissionDenied);
  auto bob =
      ClientAs(pki_->ca.IssueClient("bob", "bob"), pki_->ca.ca_file(), cluster_->endpoints());
  EXPECT_TRUE(WaitUntil(
      [&] {
        return client::TriggerSnapshot(*bob, cluster_->client_address(1), GroupId(1), 5s).ok();
      },
      10s));
  // kvctl as alice: denied writes exit 8 with the reason; get --prefix "" shows app/ only.
  const std::string as_alice = "--endpoints=" + cluster_->endpoints() +
                               " --cacert=" + pki_->ca.ca_file() + " --cert=" + alice_cert.cert +
                               " --key=" + alice_cert.key;
  std::tie(rc, out) = Kvctl(as_alice + " put app/config y");
  EXPECT_EQ(rc, 8) << out;
  EXPECT_NE(out.find("may not write"), std::string::npos) << out;
  std::tie(rc, out) = Kvctl(as_alice + " get \"\" --from-key --keys-only");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("app/config"), std::string::npos) << out;
  EXPECT_EQ(out.find("secret"), std::string::npos) << out;
  EXPECT_EQ(out.find("zeta"), std::string::npos) << out;
  std::tie(rc, out) = Kvctl(as_alice + " role add sneaky");
  EXPECT_EQ(rc, 8) << out;
  // Revocation propagates too.
  std::tie(rc, out) = Kvctl(root + " user revoke-role alice logs-writer");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(WaitUntil(
      [&] {
        return alice->Put("app/logs/3", "x").status().code() == StatusCode::kPermissionDenied;
      },
      10s));
}

// Transactions, leases and watches go through the same check as the other requests: a user
// with read on "{w}/" and read-write on "{w}/logs/" (hash tags keep every key on one shard).
TEST_F(TlsClusterTest, TransactionsLeasesAndWatchesFollowTheRoles) {
  if (KvctlBinary().empty()) GTEST_SKIP() << "kvctl not built";
  const std::string root = "--endpoints=" + cluster_->endpoints() +
                           " --cacert=" + pki_->ca.ca_file() + " --cert=" + pki_->root.cert +
                           " --key=" + pki_->root.key;
  for (const std::string cmd :
       {"role add w-reader", "role grant-permission w-reader read {w}/", "role add w-writer",
        "role grant-permission w-writer readwrite {w}/logs/", "user add wendy",
        "user grant-role wendy w-reader", "user grant-role wendy w-writer"}) {
    auto [rc, out] = Kvctl(root + " " + cmd);
    ASSERT_EQ(rc, 0) << cmd << ": " << out;
  }
  client::Client& admin = cluster_->client();
  ASSERT_OK(admin.Put("{w}/config", "v").status());
  ASSERT_OK(admin.Put("{w}-secret", "s").status());
  auto wendy =
      ClientAs(pki_->ca.IssueClient("wendy", "wendy"), pki_->ca.ca_file(), cluster_->endpoints());
  ASSERT_NE(wendy, nullptr);
  // The rules reach every node within a refresh, each node on its own schedule, and the check
  // is made by the node a request (or a watch) reaches first: wait until both of wendy's roles
  // are in force on every node (a node with the older rules would refuse her definitively).
  for (int i = 1; i <= cluster_->size(); ++i) {
    client::CallOptions via;
    via.via_endpoint = cluster_->client_address(i);
    ASSERT_TRUE(WaitUntil(
        [&] {
          return wendy->Get("{w}/config", via).ok() && wendy->Put("{w}/logs/0", "x", via).ok();
        },
        10s))
        << "node " << i;
  }

  // Transactions: read on what they compare or read, read-write on what they write.
  client::Txn ok_txn;
  ok_txn.compare.push_back(client::Compare::Exists("{w}/config"));
  ok_txn.success.push_back(client::TxnOp::Put("{w}/logs/1", "x"));
  ok_txn.success.push_back(client::TxnOp::Get("{w}/config"));
  auto committed = wendy->Commit(ok_txn);
  ASSERT_OK(committed.status());
  EXPECT_TRUE(committed->succeeded);
  client::Txn peek;  // compares a key wendy may not read: the outcome would tell her about it
  peek.compare.push_back(client::Compare::Value("{w}-secret", client::Compare::Op::kEqual, "s"));
  peek.success.push_back(client::TxnOp::Put("{w}/logs/2", "x"));
  auto denied = wendy->Commit(peek);
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied) << denied.status();
  client::Txn overwrite;  // writes a key wendy may only read, in the branch that would not run
  overwrite.compare.push_back(client::Compare::Absent("{w}/config"));
  overwrite.failure.push_back(client::TxnOp::Put("{w}/config", "y"));
  EXPECT_EQ(wendy->Commit(overwrite).status().code(), StatusCode::kPermissionDenied);
  auto config = admin.Get("{w}/config");
  ASSERT_OK(config.status());
  ASSERT_TRUE(config->has_value());
  EXPECT_EQ((*config)->value, "v");

  // Leases: any user may grant one; attaching a key needs write permission on the key; the
  // keys listed are the ones she may read.
  auto lease = wendy->LeaseGrant(10s, "{w}");
  ASSERT_OK(lease.status());
  client::CallOptions with_lease;
  with_lease.lease = lease->id;
  EXPECT_OK(wendy->Put("{w}/logs/lock", "me", with_lease).status());
  EXPECT_EQ(wendy->Put("{w}/config", "me", with_lease).status().code(),
            StatusCode::kPermissionDenied);
  ASSERT_OK(admin.Put("{w}-secret", "s", with_lease).status());  // root attaches a hidden key
  auto info = wendy->LeaseTimeToLive(lease->id, /*keys=*/true);
  ASSERT_OK(info.status());
  EXPECT_EQ(info->keys, std::vector<std::string>{"{w}/logs/lock"});
  auto all = admin.LeaseTimeToLive(lease->id, /*keys=*/true);
  ASSERT_OK(all.status());
  EXPECT_EQ(all->keys.size(), 2u);
  EXPECT_OK(wendy->LeaseKeepAlive(lease->id).status());

  // Watches: read permission on the key, or on one prefix covering the whole range.
  std::mutex mu;
  std::vector<std::string> seen;
  std::optional<Status> secret_end, from_key_end;
  auto on_update = [&](const client::WatchUpdate& u) {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& e : u.events) seen.push_back(e.key);
  };
  auto secret = wendy->Watch("{w}-secret", client::WatchOptions{}, on_update,
                             [&](const client::WatchEnd& e) {
                               std::lock_guard<std::mutex> l(mu);
                               secret_end = e.status;
                             });
  ASSERT_OK(secret.status());
  client::WatchOptions from_key;
  from_key.from_key = true;
  auto everything = wendy->Watch("{w}", from_key, on_update, [&](const client::WatchEnd& e) {
    std::lock_guard<std::mutex> l(mu);
    from_key_end = e.status;
  });
  ASSERT_OK(everything.status());
  client::WatchOptions prefix;
  prefix.prefix = true;
  auto mine = wendy->Watch("{w}/", prefix, on_update);
  ASSERT_OK(mine.status());
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return secret_end.has_value() && from_key_end.has_value();
      },
      10s));
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(secret_end->code(), StatusCode::kPermissionDenied) << *secret_end;
    EXPECT_EQ(from_key_end->code(), StatusCode::kPermissionDenied) << *from_key_end;
  }
  // The prefix watch is established by now or soon: write until its event arrives.
  int n = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        EXPECT_OK(admin.Put("{w}/news", std::to_string(++n)).status());
        std::lock_guard<std::mutex> l(mu);
        return std::find(seen.begin(), seen.end(), "{w}/news") != seen.end();
      },
      10s));
  {
    std::lock_guard<std::mutex> l(mu);
    for (const std::string& k : seen) EXPECT_EQ(k.rfind("{w}/", 0), 0u) << k;
  }
  (*mine)->Cancel();

  // Revoking deletes the attached keys: wendy may not, while root's "{w}-secret" is attached
  // (she may not write it), and nothing is deleted. Once root detaches it, she may.
  auto refused = wendy->LeaseRevoke(lease->id);
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied) << refused.status();
  EXPECT_NE(refused.status().message().find("{w}-secret"), std::string_view::npos)
      << refused.status();
  auto still = admin.LeaseTimeToLive(lease->id, /*keys=*/true);
  ASSERT_OK(still.status());
  EXPECT_EQ(still->keys.size(), 2u);
  ASSERT_OK(admin.Put("{w}-secret", "kept").status());  // a put without the lease detaches
  auto revoked = wendy->LeaseRevoke(lease->id);
  ASSERT_OK(revoked.status());
  auto lock = admin.Get("{w}/logs/lock");
  ASSERT_OK(lock.status());
  EXPECT_FALSE(lock->has_value());
  auto secret_value = admin.Get("{w}-secret");
  ASSERT_OK(secret_value.status());
  ASSERT_TRUE(secret_value->has_value());
  EXPECT_EQ((*secret_value)->value, "kept");
}

// Sends `datagram` to node `id`'s gossip port (UDP, the peer port's number).
void SendGossip(TestCluster& cluster, int id, const std::string& datagram) {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket sock(
      io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  sock.send_to(boost::asio::buffer(datagram),
               boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                              cluster.peer_port(id)));
}

TEST_F(TlsClusterTest, ReplayedAndForgedGossipIsDropped) {
  EXPECT_TRUE(cluster_->LogHasLine(1, {"gossip datagrams are sealed with AES-GCM"}));
  gossippb::Envelope ping;
  ping.set_cluster_id("42");
  ping.set_sender_id(99);
  ping.mutable_ping()->set_seq_no(1);
  const std::string plain = *gossip::EncodeDatagram(ping);
  // A packet as a key holder sent it, captured and replayed.
  auto ring = gossip::Keyring::Parse(pki_->gossip_key);
  ASSERT_OK(ring.status());
  const std::string sealed = ring->Seal(plain, 99, 1000);
  SendGossip(*cluster_, 1, sealed);
  SendGossip(*cluster_, 1, sealed);
  EXPECT_TRUE(cluster_->WaitForLogLine(
      1, {"gossip: dropped a replayed datagram", "sender node 99, sequence 1000"}));
  // Forged: sealed with another key; and plain gossip.
  auto other = gossip::Keyring::Parse(gossip::Keyring::GenerateKey());
  SendGossip(*cluster_, 2, other->Seal(plain, 99, 2000));
  EXPECT_TRUE(cluster_->WaitForLogLine(
      2, {"gossip: dropped a datagram", "fails authentication", "no key"}));
  SendGossip(*cluster_, 3, plain);
  // (Too short to be sealed: "fails authentication: too short for a sealed gossip datagram".)
  EXPECT_TRUE(cluster_->WaitForLogLine(3, {"gossip: dropped a datagram", "fails authentication"}));
  ExpectServing("tls-gossip");
  // Membership is intact: every node still sees three alive members.
  for (int id = 1; id <= 3; ++id) {
    auto st = cluster_->NodeStatus(id);
    ASSERT_OK(st.status());
    int alive = 0;
    for (const auto& s : st->member_states()) alive += s == "alive";
    EXPECT_EQ(alive, 3) << "node " << id;
  }
}

// GET https://127.0.0.1:<port><target>, verifying the server against `ca`: (status, body).
Result<std::pair<int, std::string>> HttpsGet(uint16_t port, const std::string& target,
                                             const std::string& ca) {
  namespace beast = boost::beast;
  namespace asio = boost::asio;
  try {
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(ca);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> s(io, ctx);
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(5));
    beast::get_lowest_layer(s).connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    s.handshake(asio::ssl::stream_base::client);
    beast::http::request<beast::http::empty_body> req(beast::http::verb::get, target, 11);
    req.set(beast::http::field::host, "127.0.0.1");
    beast::http::write(s, req);
    beast::flat_buffer buf;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(s, buf, res);
    return std::make_pair(static_cast<int>(res.result_int()), res.body());
  } catch (const std::exception& e) {
    return Status::Unavailable(e.what());
  }
}

TEST_F(TlsClusterTest, AdminPortServesHttpsAndShowsEveryNode) {
  auto metrics = HttpsGet(cluster_->admin_port(1), "/metrics", pki_->ca.ca_file());
  ASSERT_OK(metrics.status());
  EXPECT_EQ(metrics->first, 200);
  EXPECT_NE(metrics->second.find("ringkv_tls_certificate_expiry_seconds{source=\"client port\"}"),
            std::string::npos);
  EXPECT_NE(metrics->second.find("ringkv_tls_handshake_refused_total"), std::string::npos);
  // /status asks the other nodes' client ports, over TLS with the node's certificate.
  auto status = HttpsGet(cluster_->admin_port(1), "/status", pki_->ca.ca_file());
  ASSERT_OK(status.status());
  EXPECT_EQ(status->first, 200) << status->second;
  for (int id = 2; id <= 3; ++id) {
    EXPECT_NE(status->second.find(cluster_->client_address(id)), std::string::npos)
        << status->second;
  }
  EXPECT_EQ(status->second.find("error"), std::string::npos) << status->second;
  // Plain HTTP on the HTTPS port: refused, with the reason in the log.
  EXPECT_FALSE(HttpGet(cluster_->admin_port(2), "/livez", 2s).ok() &&
               HttpGet(cluster_->admin_port(2), "/livez", 2s)->status == 200);
  EXPECT_TRUE(cluster_->WaitForLogLine(2, {"admin port refused TLS connection", "http request"}));
}

TEST(PlainClusterTest, LogSaysUnauthenticated) {
  TestClusterOptions o;
  o.nodes = 1;
  o.extra_flags = {"--shards=2", "--replication=1"};
  TestCluster cluster(o);
  ASSERT_OK(cluster.StartAll());
  ASSERT_TRUE(cluster.WaitForLeader(20s).ok());
  EXPECT_TRUE(cluster.LogHasLine(1, {"client port", "UNAUTHENTICATED"}));
  EXPECT_TRUE(cluster.LogHasLine(1, {"peer port", "UNAUTHENTICATED"}));
  EXPECT_TRUE(cluster.LogHasLine(1, {"gossip", "UNAUTHENTICATED"}));
}

}  // namespace
}  // namespace ringkv::integration
