// CredentialWatcher: keeps a node's key material current without a restart. It owns a list of
// sources (the TLS credentials of the client and peer ports, the gossip key ring) and reloads
// each one when its files change (polled every `interval`) or on demand (SIGHUP -> ReloadAll).
// A reload that fails keeps the previous material and logs an ERROR naming the file; a
// successful one logs at INFO. Certificates close to expiry are logged at WARNING (at load and
// then once a day), expired ones at ERROR, and their remaining lifetime is readable for metrics.
//
// Thread-safety: Add before Start; everything else from any thread.
#ifndef RINGKV_SERVER_CREDENTIAL_WATCHER_H_
#define RINGKV_SERVER_CREDENTIAL_WATCHER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/thread_annotations.h"
#include "net/tls.h"

namespace ringkv::server {

struct CredentialWatcherOptions {
  // How often files are checked for changes. 0 = never (SIGHUP only). Default: 5 s.
  std::chrono::milliseconds interval{5000};
  // A certificate expiring within this window is warned about. Default: 30 days.
  std::chrono::seconds expiry_warning{30 * 86400};
};

class CredentialWatcher {
 public:
  explicit CredentialWatcher(CredentialWatcherOptions options) : options_(options) {}
  ~CredentialWatcher();  // Stop()s

  // A TLS certificate source named e.g. "client port"; its expiry is tracked under that name
  // and, with `warn_expiry`, logged (false for a second source of the same files, so one
  // certificate is warned about once).
  void AddTls(std::string name, std::shared_ptr<net::TlsCredentials> creds,
              bool warn_expiry = true);
  // Any other reloadable material: `reload(force)` returns true when it loaded something new.
  void AddOther(std::string name, std::function<Result<bool>(bool force)> reload);

  // Logs the expiry state of every certificate once, then polls on a thread of its own.
  void Start();
  void Stop();
  // Reloads every source now, changed or not (SIGHUP). Returns the first error (all are tried
  // and logged).
  Status ReloadAll();

  // Seconds until each TLS source's certificate expires (negative: expired), by source name.
  std::map<std::string, int64_t> ExpirySeconds() const;
  // Failed reloads since start (all sources).
  uint64_t reload_failures() const;

 private:
  struct Source {
    std::string name;
    std::shared_ptr<net::TlsCredentials> tls;  // null for other sources
    bool warn_expiry = true;
    std::function<Result<bool>(bool force)> reload;
    std::chrono::steady_clock::time_point last_expiry_warning{};
    bool warned = false;
  };
  Status ReloadOne(Source& s, bool force) REQUIRES(mu_);
  void CheckExpiry(Source& s) REQUIRES(mu_);
  void Loop();

  const CredentialWatcherOptions options_;
  std::thread thread_;

  // State below is protected by mu_.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Source> sources_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  uint64_t failures_ GUARDED_BY(mu_) = 0;
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_CREDENTIAL_WATCHER_H_
