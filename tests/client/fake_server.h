// FakeServer: a scripted stand-in for kvd's client port, built on net::FrameServer, for testing
// the client library without a cluster. A test installs a handler that sees every Request (with
// the index of the attempt, counting from 0) and decides: answer with a Response, stay silent,
// or drop the connection. Every request is recorded for assertions.
//
// Thread-safety: the handler runs on the server's io thread; the accessors are thread-safe.
#ifndef RINGKV_TESTS_CLIENT_FAKE_SERVER_H_
#define RINGKV_TESTS_CLIENT_FAKE_SERVER_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/frame_server.h"
#include "proto/kv.pb.h"

namespace ringkv::client::testing {

class FakeServer {
 public:
  enum class Act { kAnswer, kSilent, kDropConnection };
  struct Reply {
    Act act = Act::kAnswer;
    kvpb::Response response;  // kAnswer: request_id is filled in by the server
  };
  // `n` counts the requests this server received before this one.
  using Handler = std::function<Reply(const kvpb::Request& req, int n)>;

  explicit FakeServer(uint64_t node_id = 1);
  ~FakeServer();

  // Starts listening on 127.0.0.1 with an OS-chosen port. Aborts the test on failure.
  void Start();
  void Stop();
  void SetHandler(Handler h);

  std::string address() const;
  std::vector<kvpb::Request> requests() const;
  int request_count() const;
  // By default status requests (sent by the client at connect) are answered with an empty
  // NodeStatus and not recorded; tests of admin calls route them to the handler instead.
  void AnswerStatusWithHandler() { answer_status_with_handler_ = true; }
  // Waits until at least `n` requests arrived; false on timeout.
  bool WaitForRequests(int n, std::chrono::milliseconds timeout) const;

  // Helpers for handlers.
  static Reply Ok(kvpb::Response r = {});
  static Reply Error(kvpb::ErrorCode code, bool definite, const std::string& leader_address = "",
                     uint32_t retry_after_ms = 0, uint64_t leader_hint = 0);
  static Reply Silent() { return Reply{Act::kSilent, {}}; }
  static Reply Drop() { return Reply{Act::kDropConnection, {}}; }

 private:
  void OnFrame(const std::shared_ptr<net::Connection>& conn, const std::string& payload);
  bool answer_status_with_handler_ = false;

  const uint64_t node_id_;
  std::unique_ptr<net::FrameServer> server_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Handler handler_;
  std::vector<kvpb::Request> requests_;
};

// A simple in-memory KV store handler: put/get/delete/cas/append/scan with versions.
class MemoryStore {
 public:
  FakeServer::Reply Handle(const kvpb::Request& req);

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, uint64_t>> data_;
  uint64_t index_ = 0;
};

}  // namespace ringkv::client::testing

#endif  // RINGKV_TESTS_CLIENT_FAKE_SERVER_H_
