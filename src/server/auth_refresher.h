// AuthRefresher: keeps a node's Authorizer in step with the permission rules stored in the
// cluster. Every `interval` it reads the reserved key kAuthConfigKey (a linearizable get through
// the client library, as the node itself: with a node certificate, which is a superuser) and
// installs the compiled rules. An absent key means "no users or roles yet" (only superusers
// may do anything). A failed read keeps the previous rules; the Authorizer stops serving
// non-superusers once they are older than its staleness bound.
//
// Why a read loop and not a push: the rules are one key of one shard, replicated by that shard's
// Raft group like any value; a node need not host that shard, and the client library already
// finds its leader. Changes reach every node within `interval` (plus one read).
//
// Thread-safety: Start/Stop from the owner thread; the loop runs on its own thread.
#ifndef RINGKV_SERVER_AUTH_REFRESHER_H_
#define RINGKV_SERVER_AUTH_REFRESHER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ringkv/client.h"
#include "server/authorizer.h"

namespace ringkv::server {

struct AuthRefresherOptions {
  // Client addresses to read through (this node's first). REQUIRES: non-empty.
  std::vector<std::string> endpoints;
  uint64_t cluster_id = 0;
  // TLS of the reads: the node's certificate, key and the client port's CA.
  client::ClientOptions::Tls tls;
  // How often the rules are read. Default: 1 s.
  std::chrono::milliseconds interval{1000};
};

class AuthRefresher {
 public:
  AuthRefresher(AuthRefresherOptions options, Authorizer* authorizer);
  ~AuthRefresher();  // Stop()s

  void Start();
  void Stop();
  // Reads and installs the rules once, now. OK, or why not (the rules stay as they were).
  Status RefreshOnce();

 private:
  void Loop();

  const AuthRefresherOptions options_;
  Authorizer* const authorizer_;
  std::unique_ptr<client::Client> client_;   // loop thread (or RefreshOnce's caller)
  bool failing_ = false;                     // loop thread: the last read failed (logged once)
  uint64_t installed_version_ = UINT64_MAX;  // loop thread: for "rules changed" log lines
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_AUTH_REFRESHER_H_
