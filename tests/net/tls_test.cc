// TLS on the frame server (client port) and the peer transport: a working encrypted exchange,
// client certificate authentication (identity, required, optional), verification failures the
// way an operator sees them (other CA, expired, host name mismatch, client certificate on the
// peer port, plain TCP on a TLS port) — each refused with a log line naming the reason while
// the server keeps serving — and certificate reload.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <filesystem>
#include <future>

#include "net/frame_client.h"
#include "net/frame_server.h"
#include "net/test_certs.h"
#include "net/tls.h"
#include "net_test_util.h"
#include "testutil/status_matchers.h"
#include "transport_test_node.h"

namespace ringkv::net {
namespace {

using testing::CertFiles;
using testing::CertSpec;
using testing::MakeMsg;
using testing::RawSocket;
using testing::TestCa;
using testing::TestNode;
using testing::WaitFor;
using testing::WarningCapture;

constexpr uint64_t kCluster = 7;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ringkv_tls_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::shared_ptr<TlsCredentials> ServerCreds(const CertFiles& f, const std::string& ca,
                                            ClientCertAuth auth) {
  TlsOptions o;
  o.cert_file = f.cert;
  o.key_file = f.key;
  o.ca_file = ca;
  o.client_auth = auth;
  auto c = TlsCredentials::Create(TlsRole::kServer, o);
  EXPECT_OK(c.status());
  return c.ok() ? *c : nullptr;
}

std::shared_ptr<TlsCredentials> ClientCreds(const CertFiles& f, const std::string& ca,
                                            bool insecure = false) {
  TlsOptions o;
  o.cert_file = f.cert;
  o.key_file = f.key;
  o.ca_file = ca;
  o.insecure_skip_verify = insecure;
  auto c = TlsCredentials::Create(TlsRole::kClient, o);
  EXPECT_OK(c.status());
  return c.ok() ? *c : nullptr;
}

// A frame server echoing "echo:<payload>" and remembering the identity of the last client.
class TlsEchoServer {
 public:
  explicit TlsEchoServer(std::shared_ptr<TlsCredentials> tls) {
    FrameServerOptions o;
    o.cluster_id = kCluster;
    o.node_id = NodeId(1);
    o.tls = std::move(tls);
    o.handshake_timeout = std::chrono::milliseconds(2000);
    server_ = std::make_unique<FrameServer>(
        o, [this](std::shared_ptr<Connection> c, std::string payload) {
          {
            std::lock_guard<std::mutex> l(mu_);
            last_identity_ = c->peer_identity();
          }
          c->Send("echo:" + payload).IgnoreError();  // test: a closed client is fine
        });
    EXPECT_OK(server_->Start());
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  FrameServer& s() { return *server_; }
  PeerIdentity last_identity() {
    std::lock_guard<std::mutex> l(mu_);
    return last_identity_;
  }

 private:
  std::mutex mu_;
  PeerIdentity last_identity_;
  std::unique_ptr<FrameServer> server_;
};

// Connects, sends one frame and returns the reply (or the connect error).
Result<std::string> RoundTrip(const std::string& address, std::shared_ptr<TlsContext> tls,
                              const std::string& payload = "hi") {
  auto reply = std::make_shared<std::promise<std::string>>();
  auto fut = reply->get_future();
  FrameClientOptions fo;
  fo.address = address;
  fo.cluster_id = kCluster;
  fo.tls = std::move(tls);
  FrameClient client(
      fo, [reply](std::string p) { reply->set_value(std::move(p)); }, [](const Status&) {});
  Status st = client.Connect();
  if (!st.ok()) return st;
  if (Status s = client.Send(payload); !s.ok()) return s;
  if (fut.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return Status::DeadlineExceeded("no reply");
  }
  return fut.get();
}

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() : ca_(dir_.path(), "cluster"), other_ca_(dir_.path(), "other") {
    node_ = ca_.IssueNode("node");
    alice_ = ca_.IssueClient("alice", "alice");
  }
  TempDir dir_;
  TestCa ca_;
  TestCa other_ca_;
  CertFiles node_;
  CertFiles alice_;
};

TEST_F(TlsTest, EncryptedRoundTripWithoutClientCertificate) {
  TlsEchoServer server(ServerCreds(node_, "", ClientCertAuth::kOff));
  auto r = RoundTrip(server.address(), ClientCreds({}, ca_.ca_file())->Current());
  ASSERT_OK(r.status());
  EXPECT_EQ(*r, "echo:hi");
  EXPECT_FALSE(server.last_identity().has_certificate);
}

TEST_F(TlsTest, RequiredClientCertificateNamesTheUser) {
  TlsEchoServer server(ServerCreds(node_, ca_.ca_file(), ClientCertAuth::kRequired));
  auto r = RoundTrip(server.address(), ClientCreds(alice_, ca_.ca_file())->Current());
  ASSERT_OK(r.status());
  PeerIdentity id = server.last_identity();
  EXPECT_TRUE(id.has_certificate);
  EXPECT_EQ(id.UserName(), "alice");
  EXPECT_FALSE(id.node_certificate);
}

TEST_F(TlsTest, RequiredClientCertificateRefusesClientWithout) {
  WarningCapture warnings;
  TlsEchoServer server(ServerCreds(node_, ca_.ca_file(), ClientCertAuth::kRequired));
  auto r = RoundTrip(server.address(), ClientCreds({}, ca_.ca_file())->Current());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(WaitFor([&] { return warnings.Has({"refused TLS client connection", "certificate"}); }))
      << warnings.Dump();
  // Still serving.
  EXPECT_OK(RoundTrip(server.address(), ClientCreds(alice_, ca_.ca_file())->Current()).status());
}

TEST_F(TlsTest, OptionalClientCertificateAdmitsBoth) {
  TlsEchoServer server(ServerCreds(node_, ca_.ca_file(), ClientCertAuth::kOptional));
  ASSERT_OK(RoundTrip(server.address(), ClientCreds({}, ca_.ca_file())->Current()).status());
  EXPECT_FALSE(server.last_identity().has_certificate);
  ASSERT_OK(RoundTrip(server.address(), ClientCreds(alice_, ca_.ca_file())->Current()).status());
  EXPECT_EQ(server.last_identity().UserName(), "alice");
}

TEST_F(TlsTest, ClientCertificateOfAnotherCaIsRefusedWithReason) {
  WarningCapture warnings;
  TlsEchoServer server(ServerCreds(node_, ca_.ca_file(), ClientCertAuth::kRequired));
  CertFiles intruder = other_ca_.IssueClient("intruder", "intruder");
  EXPECT_FALSE(
      RoundTrip(server.address(), ClientCreds(intruder, ca_.ca_file())->Current()).ok());
  EXPECT_TRUE(WaitFor([&] {
    return warnings.Has({"refused TLS client connection", "unable to get local issuer"});
  })) << warnings.Dump();
  EXPECT_EQ(server.s().tls_refused(), 1u);
}

TEST_F(TlsTest, ExpiredClientCertificateIsRefusedWithReason) {
  WarningCapture warnings;
  TlsEchoServer server(ServerCreds(node_, ca_.ca_file(), ClientCertAuth::kRequired));
  CertSpec spec;
  spec.common_name = "old";
  spec.server_auth = false;
  spec.not_before_s = -10 * 86400;
  spec.not_after_s = -86400;
  CertFiles expired = ca_.Issue("old", spec);
  EXPECT_FALSE(RoundTrip(server.address(), ClientCreds(expired, ca_.ca_file())->Current()).ok());
  EXPECT_TRUE(WaitFor([&] { return warnings.Has({"certificate has expired", "/CN=old"}); }))
      << warnings.Dump();
}

TEST_F(TlsTest, PlainTcpOnTlsPortIsRefusedWithReason) {
  WarningCapture warnings;
  TlsEchoServer server(ServerCreds(node_, "", ClientCertAuth::kOff));
  // Our own protocol without TLS: the first frame of a FrameClient.
  auto r = RoundTrip(server.address(), nullptr);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(WaitFor([&] { return warnings.Has({"plain TCP connection", "does not use TLS"}); }))
      << warnings.Dump();
  EXPECT_OK(RoundTrip(server.address(), ClientCreds({}, ca_.ca_file())->Current()).status());
}

TEST_F(TlsTest, ClientRefusesServerOfAnotherCaUnlessInsecure) {
  TlsEchoServer server(ServerCreds(other_ca_.IssueNode("other-node"), "", ClientCertAuth::kOff));
  auto r = RoundTrip(server.address(), ClientCreds({}, ca_.ca_file())->Current());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string_view::npos)
      << r.status();
  EXPECT_OK(RoundTrip(server.address(), ClientCreds({}, "", /*insecure=*/true)->Current()).status());
}

TEST_F(TlsTest, ClientChecksTheHostName) {
  CertSpec spec;
  spec.common_name = "elsewhere";
  spec.dns_names = {"elsewhere.example"};
  TlsEchoServer server(ServerCreds(ca_.Issue("elsewhere", spec), "", ClientCertAuth::kOff));
  auto r = RoundTrip(server.address(), ClientCreds({}, ca_.ca_file())->Current());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not match the dialed host 127.0.0.1"),
            std::string_view::npos)
      << r.status();
}

TEST_F(TlsTest, MinimumVersionIsEnforced) {
  TlsOptions so;
  so.cert_file = node_.cert;
  so.key_file = node_.key;
  so.min_version = 13;
  auto server_creds = TlsCredentials::Create(TlsRole::kServer, so);
  ASSERT_OK(server_creds.status());
  TlsEchoServer server(*server_creds);
  auto client = ClientCreds({}, ca_.ca_file());
  // A client capped at TLS 1.2 cannot talk to a 1.3-only server.
  SSL_CTX_set_max_proto_version(client->Current()->ctx().native_handle(), TLS1_2_VERSION);
  EXPECT_FALSE(RoundTrip(server.address(), client->Current()).ok());
  EXPECT_OK(RoundTrip(server.address(), ClientCreds({}, ca_.ca_file())->Current()).status());
}

TEST_F(TlsTest, ReloadPicksUpNewFilesAndKeepsOldOnBadFiles) {
  CertFiles f = ca_.IssueNode("reload", "first");
  auto creds = ServerCreds(f, "", ClientCertAuth::kOff);
  ASSERT_NE(creds, nullptr);
  EXPECT_NE(creds->Current()->subject().find("CN=first"), std::string::npos);
  auto unchanged = creds->Reload(false);
  ASSERT_OK(unchanged.status());
  EXPECT_FALSE(*unchanged);

  ca_.IssueNode("reload", "second");  // rewrites reload.crt / reload.key
  auto changed = creds->Reload(false);
  ASSERT_OK(changed.status());
  EXPECT_FALSE(*changed);  // seen changed once: loaded when still the same at the next check
  changed = creds->Reload(false);
  ASSERT_OK(changed.status());
  EXPECT_TRUE(*changed);
  EXPECT_NE(creds->Current()->subject().find("CN=second"), std::string::npos);
  TlsEchoServer server(creds);
  EXPECT_OK(RoundTrip(server.address(), ClientCreds({}, ca_.ca_file())->Current()).status());

  testing::WriteFile(f.cert, "not a certificate");
  ASSERT_OK(creds->Reload(false).status());
  auto bad = creds->Reload(false);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(f.cert), std::string_view::npos) << bad.status();
  EXPECT_NE(creds->Current()->subject().find("CN=second"), std::string::npos);
  EXPECT_OK(RoundTrip(server.address(), ClientCreds({}, ca_.ca_file())->Current()).status());
}

TEST_F(TlsTest, SecondsUntilExpiry) {
  CertSpec spec;
  spec.common_name = "soon";
  spec.not_after_s = 3 * 86400;
  auto creds = ServerCreds(ca_.Issue("soon", spec), "", ClientCertAuth::kOff);
  auto left = SecondsUntilExpiry(*creds->Current(), std::chrono::system_clock::now());
  ASSERT_TRUE(left.has_value());
  EXPECT_GT(*left, 3 * 86400 - 600);
  EXPECT_LE(*left, 3 * 86400);
}

TEST_F(TlsTest, BadFilesAreClearErrors) {
  TlsOptions o;
  o.cert_file = node_.cert;
  o.key_file = alice_.key;  // another certificate's key
  auto r = TlsCredentials::Create(TlsRole::kServer, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not match"), std::string_view::npos) << r.status();
  o.key_file = dir_.path() + "/missing.key";
  r = TlsCredentials::Create(TlsRole::kServer, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing.key"), std::string_view::npos) << r.status();
  EXPECT_FALSE(ParseClientCertAuth("sometimes").ok());
}

// ---- Peer transport --------------------------------------------------------------------------

TransportOptions PeerTls(const CertFiles& f, const std::string& ca) {
  TransportOptions o;
  TlsOptions t;
  t.cert_file = f.cert;
  t.key_file = f.key;
  t.ca_file = ca;
  t.client_auth = ClientCertAuth::kRequired;
  o.tls_server = *TlsCredentials::Create(TlsRole::kServer, t);
  o.tls_client = *TlsCredentials::Create(TlsRole::kClient, t);
  o.handshake_timeout = std::chrono::milliseconds(1000);
  return o;
}

TEST_F(TlsTest, PeersExchangeMessagesOverMutualTls) {
  TestNode a(1, 0, testing::kClusterId, PeerTls(node_, ca_.ca_file()));
  TestNode b(2, 0, testing::kClusterId, PeerTls(ca_.IssueNode("node2"), ca_.ca_file()));
  ASSERT_OK(a.Start());
  ASSERT_OK(b.Start());
  a.t().SetPeer(NodeId(2), b.address());
  b.t().SetPeer(NodeId(1), a.address());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(a.t().Send(MakeMsg(1, 2, 1, i, 1000)));
    ASSERT_TRUE(b.t().Send(MakeMsg(2, 1, 1, i)));
  }
  EXPECT_TRUE(WaitFor([&] { return a.received_count() == 100 && b.received_count() == 100; }));
}

// A would-be peer dials `victim` with `creds`; the victim must refuse it with a log line that
// contains `reason` and keep exchanging messages with its real peer.
void ExpectPeerRefused(const TransportOptions& hostile_opts, const std::string& reason,
                       const CertFiles& good, const std::string& ca) {
  WarningCapture warnings;
  TestNode victim(1, 0, testing::kClusterId, PeerTls(good, ca));
  TestNode friendly(2, 0, testing::kClusterId, PeerTls(good, ca));
  TestNode hostile(3, 0, testing::kClusterId, hostile_opts);
  ASSERT_OK(victim.Start());
  ASSERT_OK(friendly.Start());
  ASSERT_OK(hostile.Start());
  hostile.t().SetPeer(NodeId(1), victim.address());
  friendly.t().SetPeer(NodeId(1), victim.address());
  EXPECT_TRUE(WaitFor([&] { return warnings.Has({"refused TLS peer connection", reason}); }))
      << warnings.Dump();
  EXPECT_GE(victim.t().tls_refused(), 1u);
  for (int i = 0; i < 10; ++i) {
    hostile.t().Send(MakeMsg(3, 1, 1, 1000 + i));
    friendly.t().Send(MakeMsg(2, 1, 1, i));
  }
  EXPECT_TRUE(WaitFor([&] { return victim.Got(1, 9); }));
  for (const auto& r : victim.received()) EXPECT_NE(r.from, NodeId(3));
}

TEST_F(TlsTest, PeerWithCertificateOfAnotherCaIsRefused) {
  // The intruder trusts our CA (its certificate is public) but its own comes from another.
  ExpectPeerRefused(PeerTls(other_ca_.IssueNode("intruder"), ca_.ca_file()),
                    "unable to get local issuer certificate", node_, ca_.ca_file());
}

TEST_F(TlsTest, PeerWithExpiredCertificateIsRefused) {
  CertSpec spec;
  spec.common_name = "stale-node";
  spec.ip_addresses = {"127.0.0.1"};
  spec.not_before_s = -10 * 86400;
  spec.not_after_s = -3600;
  ExpectPeerRefused(PeerTls(ca_.Issue("stale", spec), ca_.ca_file()), "certificate has expired",
                    node_, ca_.ca_file());
}

TEST_F(TlsTest, ClientCertificateOnPeerPortIsRefused) {
  ExpectPeerRefused(PeerTls(alice_, ca_.ca_file()), "is a client certificate", node_,
                    ca_.ca_file());
}

TEST_F(TlsTest, PlainTcpPeerOnTlsPeerPortIsRefused) {
  ExpectPeerRefused(TransportOptions{}, "plain TCP connection", node_, ca_.ca_file());
}

}  // namespace
}  // namespace ringkv::net
