// The HTTP/JSON API with client certificates required (HTTPS on the admin port): a request is
// authorized as the client port authorizes it, for the user its certificate names — alice,
// with read-write on app/ only, may read and write there, gets 403 elsewhere, and a listing of
// every key shows her only app/; a client without a certificate gets 403; root may do all.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "integration/test_cluster.h"
#include "net/test_certs.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

using net::testing::CertFiles;
using net::testing::TestCa;

std::pair<int, std::string> Shell(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

std::string MakeDir() {
  char tmpl[] = "/tmp/ringkv-integ-http-pki-XXXXXX";
  return ::mkdtemp(tmpl);
}

class HttpAuthTest : public ::testing::Test {
 protected:
  HttpAuthTest() : dir_(MakeDir()), ca_(dir_, "cluster") {
    node_ = ca_.IssueNode("node");
    root_ = ca_.IssueClient("root", "root");
    alice_ = ca_.IssueClient("alice", "alice");
  }
  ~HttpAuthTest() override { std::filesystem::remove_all(dir_); }

  void SetUp() override {
    if (Shell("command -v curl").first != 0) GTEST_SKIP() << "curl is not installed";
    if (KvctlBinary().empty()) GTEST_SKIP() << "kvctl not built";
    TestClusterOptions o;
    o.extra_flags = {"--tls_cert=" + node_.cert, "--tls_key=" + node_.key,
                     "--tls_ca=" + ca_.ca_file(), "--client_cert_auth=required",
                     "--auth_refresh_ms=200"};
    o.client_tls.ca_file = ca_.ca_file();
    o.client_tls.cert_file = root_.cert;
    o.client_tls.key_file = root_.key;
    cluster_ = std::make_unique<TestCluster>(o);
    ASSERT_OK(cluster_->StartAll());
    auto leader = cluster_->WaitForLeader(30s);
    ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  }

  // curl against node 1's HTTPS admin port; `as` null = no client certificate. Prints the
  // body, then the status code on the last line.
  std::pair<int, std::string> Curl(const CertFiles* as, const std::string& args,
                                   const std::string& path) {
    std::string cmd = "curl -s --max-time 10 --cacert " + ca_.ca_file();
    if (as != nullptr) cmd += " --cert " + as->cert + " --key " + as->key;
    cmd += " -w '\\n%{http_code}' " + args + " 'https://127.0.0.1:" +
           std::to_string(cluster_->admin_port(1)) + path + "'";
    auto [rc, out] = Shell(cmd);
    const size_t nl = out.rfind('\n');
    if (rc != 0 || nl == std::string::npos) return {-1, out};
    return {std::atoi(out.c_str() + nl + 1), out.substr(0, nl)};
  }

  std::string dir_;
  TestCa ca_;
  CertFiles node_, root_, alice_;
  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(HttpAuthTest, RequestsAreAuthorizedForTheCertificatesUser) {
  const std::string kvctl = KvctlBinary() + " --endpoints=" + cluster_->endpoints() +
                            " --cacert=" + ca_.ca_file() + " --cert=" + root_.cert +
                            " --key=" + root_.key;
  for (const std::string cmd : {"role add app-rw", "role grant-permission app-rw readwrite app/",
                                "user add alice", "user grant-role alice app-rw"}) {
    auto [rc, out] = Shell(kvctl + " " + cmd + " 2>&1");
    ASSERT_EQ(rc, 0) << cmd << ": " << out;
  }
  ASSERT_OK(cluster_->client().Put("app/a", "1").status());
  ASSERT_OK(cluster_->client().Put("secret/s", "2").status());

  // Node 1 authorizes its HTTP requests; wait until it has loaded alice's role.
  std::pair<int, std::string> r;
  ASSERT_TRUE(WaitUntil(
      [&] {
        r = Curl(&alice_, "", "/v1/kv/app/a");
        return r.first == 200;
      },
      15s))
      << r.first << " " << r.second;
  EXPECT_NE(r.second.find("\"value\":\"1\""), std::string::npos) << r.second;
  r = Curl(&alice_, "-X PUT --data-binary 3", "/v1/kv/app/b");
  EXPECT_EQ(r.first, 200) << r.second;
  r = Curl(&alice_, "", "/v1/kv/secret/s");
  EXPECT_EQ(r.first, 403) << r.second;
  EXPECT_NE(r.second.find("user alice may not read key"), std::string::npos) << r.second;
  EXPECT_EQ(Curl(&alice_, "-X PUT --data-binary x", "/v1/kv/secret/x").first, 403);
  EXPECT_EQ(Curl(&alice_, "-X DELETE", "/v1/kv/secret/s").first, 403);
  // A listing of every key shows her only what she may read.
  r = Curl(&alice_, "", "/v1/kv/?prefix");
  ASSERT_EQ(r.first, 200) << r.second;
  EXPECT_NE(r.second.find("app/a"), std::string::npos) << r.second;
  EXPECT_EQ(r.second.find("secret"), std::string::npos) << r.second;
  // No certificate: anonymous, which no rule grants anything.
  r = Curl(nullptr, "", "/v1/kv/app/a");
  EXPECT_EQ(r.first, 403) << r.second;
  EXPECT_NE(r.second.find("anonymous"), std::string::npos) << r.second;
  // Root may do everything.
  r = Curl(&root_, "", "/v1/kv/secret/s");
  EXPECT_EQ(r.first, 200) << r.second;

  // Revoking a lease deletes its keys: alice may not while a key she may not write is attached
  // (the node forwards her revoke with her scope), and may once it is detached.
  client::Client& admin = cluster_->client();
  auto lease = admin.LeaseGrant(30s, "{t}");
  ASSERT_OK(lease.status());
  client::CallOptions with_lease;
  with_lease.lease = lease->id;
  ASSERT_OK(admin.Put("app/{t}/lock", "1", with_lease).status());
  ASSERT_OK(admin.Put("secret/{t}/s", "2", with_lease).status());
  char hex[24];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(lease->id));
  r = Curl(&alice_, "-X DELETE", std::string("/v1/lease/") + hex);
  EXPECT_EQ(r.first, 403) << r.second;
  EXPECT_NE(r.second.find("secret/{t}/s"), std::string::npos) << r.second;
  auto both = admin.LeaseTimeToLive(lease->id, /*keys=*/true);
  ASSERT_OK(both.status());
  EXPECT_EQ(both->keys.size(), 2u);
  ASSERT_OK(admin.Put("secret/{t}/s", "3").status());  // detached
  r = Curl(&alice_, "-X DELETE", std::string("/v1/lease/") + hex);
  EXPECT_EQ(r.first, 200) << r.second;
  EXPECT_NE(r.second.find("\"deleted_keys\":1"), std::string::npos) << r.second;
}

}  // namespace
}  // namespace ringkv::integration
