// CredentialWatcher: renewed certificate files are picked up by polling and on demand (SIGHUP's
// ReloadAll), a file that does not load keeps the previous certificate and counts a failure,
// other sources (the gossip key ring) reload through the same loop, and the remaining lifetime
// of each certificate is reported.
#include "server/credential_watcher.h"

#include <gtest/gtest.h>

#include <glog/logging.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "net/test_certs.h"
#include "testutil/status_matchers.h"

namespace ringkv::server {
namespace {

using net::testing::CertSpec;
using net::testing::TestCa;

bool WaitFor(const std::function<bool()>& pred) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

class CredentialWatcherTest : public ::testing::Test {
 protected:
  CredentialWatcherTest() {
    char tmpl[] = "/tmp/ringkv_watcher_XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ca_ = std::make_unique<TestCa>(dir_, "ca");
  }
  ~CredentialWatcherTest() override { std::filesystem::remove_all(dir_); }
  std::shared_ptr<net::TlsCredentials> Creds(const std::string& cn, int64_t days) {
    CertSpec spec;
    spec.common_name = cn;
    spec.not_after_s = days * 86400;
    auto f = ca_->Issue("node", spec);
    net::TlsOptions o;
    o.cert_file = f.cert;
    o.key_file = f.key;
    return *net::TlsCredentials::Create(net::TlsRole::kServer, o);
  }
  std::string dir_;
  std::unique_ptr<TestCa> ca_;
};

TEST_F(CredentialWatcherTest, PollsForChangedFilesAndKeepsOldOnFailure) {
  auto creds = Creds("first", 20);
  CredentialWatcherOptions o;
  o.interval = std::chrono::milliseconds(20);
  CredentialWatcher w(o);
  w.AddTls("client port", creds);
  w.Start();
  auto left = w.ExpirySeconds();
  ASSERT_EQ(left.count("client port"), 1u);
  EXPECT_GT(left["client port"], 19 * 86400);
  EXPECT_LE(left["client port"], 20 * 86400);

  CertSpec spec;
  spec.common_name = "second";
  spec.not_after_s = 200 * 86400;
  ca_->Issue("node", spec);
  EXPECT_TRUE(
      WaitFor([&] { return creds->Current()->subject().find("CN=second") != std::string::npos; }));
  EXPECT_GT(w.ExpirySeconds()["client port"], 199 * 86400);

  // (A poll between the rewrite of the certificate and of its key may have failed once.)
  const uint64_t failures = w.reload_failures();
  net::testing::WriteFile(dir_ + "/node.crt", "garbage");
  EXPECT_TRUE(WaitFor([&] { return w.reload_failures() == failures + 1; }));
  EXPECT_NE(creds->Current()->subject().find("CN=second"), std::string::npos);
  EXPECT_FALSE(w.ReloadAll().ok());  // forced: the file is still bad
  EXPECT_EQ(w.reload_failures(), failures + 2);
}

TEST_F(CredentialWatcherTest, ReloadAllForcesEverySource) {
  auto creds = Creds("only", 5);
  CredentialWatcherOptions o;
  o.interval = std::chrono::milliseconds(0);  // SIGHUP only
  CredentialWatcher w(o);
  w.AddTls("peer port", creds);
  std::atomic<int> calls{0};
  std::atomic<bool> last_force{false};
  w.AddOther("gossip key ring", [&](bool force) -> Result<bool> {
    ++calls;
    last_force = force;
    return true;
  });
  w.Start();
  EXPECT_EQ(calls.load(), 0);
  auto before = creds->Current();
  EXPECT_OK(w.ReloadAll());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(last_force.load());
  EXPECT_NE(creds->Current(), before);  // reloaded although unchanged
}

// Counts glog WARNING-and-above lines containing `needle` while alive.
class WarningCounter : public google::LogSink {
 public:
  explicit WarningCounter(std::string needle) : needle_(std::move(needle)) {
    google::AddLogSink(this);
  }
  ~WarningCounter() override { google::RemoveLogSink(this); }
  void send(google::LogSeverity severity, const char*, const char*, int, const struct ::tm*,
            const char* message, size_t len) override {
    if (severity < google::GLOG_WARNING) return;
    if (std::string_view(message, len).find(needle_) == std::string_view::npos) return;
    std::lock_guard<std::mutex> l(mu_);
    ++count_;
  }
  int count() const {
    std::lock_guard<std::mutex> l(mu_);
    return count_;
  }

 private:
  const std::string needle_;
  mutable std::mutex mu_;
  int count_ = 0;
};

// The node registers the same certificate files more than once (a port's server side and its
// dialing side): the expiry is warned about once, and still reported for every source.
TEST_F(CredentialWatcherTest, SecondSourceOfSameFilesIsNotWarnedAbout) {
  auto server = Creds("twice", 5);
  net::TlsOptions o;
  o.cert_file = dir_ + "/node.crt";
  o.key_file = dir_ + "/node.key";
  auto dialing = *net::TlsCredentials::Create(net::TlsRole::kClient, o);
  WarningCounter warnings("expires in");
  CredentialWatcherOptions wo;
  wo.interval = std::chrono::milliseconds(0);
  CredentialWatcher w(wo);
  w.AddTls("peer port", server);
  w.AddTls("peer port (dialing)", dialing, /*warn_expiry=*/false);
  w.Start();
  EXPECT_EQ(warnings.count(), 1);
  EXPECT_OK(w.ReloadAll());  // a reload judges the expiry afresh: again one warning
  EXPECT_EQ(warnings.count(), 2);
  auto left = w.ExpirySeconds();
  EXPECT_EQ(left.count("peer port"), 1u);
  EXPECT_EQ(left.count("peer port (dialing)"), 1u);
}

}  // namespace
}  // namespace ringkv::server
