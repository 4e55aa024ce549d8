// ClientRequestHandler: the client port's edge, without the network. One frame from a client
// goes through, in order: parse (a frame that is not a Request is answered INVALID_ARGUMENT and
// the connection is closed), draining (new requests get a retryable UNAVAILABLE during
// shutdown), the permission check (Authorizer::Check, for every request type), the node's own
// answers (the `intercept` hook: NOSPACE, a node that left, alarm disarm) and then the sink
// (the store). Watch and watch-cancel requests go, after the same checks, to the caller's
// `stream` function instead of the sink (a watch answers many times, on its connection). Scan
// answers come back through a filter that drops keys the principal may not read and reserved
// keys, and tells the client where the scan got to (scanned_through), so a filtered page never
// ends a scan early; the keys of a lease time-to-live and the events of a watch are filtered
// the same way.
//
// ClientService (server/client_service.h) feeds it frames from the network; the fuzz target of
// the client request handler feeds it bytes, with a stub sink.
//
// Thread-safety: Handle may be called from any thread; `reply` may run on the caller's thread
// or, later, on the sink's.
#ifndef RINGKV_SERVER_REQUEST_HANDLER_H_
#define RINGKV_SERVER_REQUEST_HANDLER_H_

#include <atomic>
#include <functional>
#include <string>
#include <string_view>

#include "common/ids.h"
#include "proto/kv.pb.h"
#include "server/auth_rules.h"
#include "server/authorizer.h"

namespace ringkv::server {

// Where admitted requests go. `reply` runs exactly once.
class RequestSink {
 public:
  virtual ~RequestSink() = default;
  virtual void HandleRequest(kvpb::Request req, std::function<void(kvpb::Response)> reply) = 0;
};

class ClientRequestHandler {
 public:
  // `close_after`: the connection must be closed once the response is sent (protocol error).
  using Reply = std::function<void(const kvpb::Response& resp, bool close_after)>;
  // Sees every parsed request; the function it returns sees that request's answer (request
  // metrics, slow-request log). Runs where Handle and the reply run.
  using Observer =
      std::function<std::function<void(const kvpb::Response&)>(const kvpb::Request&)>;
  // Answers a permitted request without the sink: true and `resp` filled (request id and
  // served_by are set by the handler). Runs on Handle's thread; must not block.
  using Interceptor = std::function<bool(const kvpb::Request&, kvpb::Response*)>;
  // Takes a permitted watch or watch-cancel request (it answers on its own). Null: such
  // requests are answered INVALID_ARGUMENT (this caller has no stream to send events on).
  using Streamer = std::function<void(kvpb::Request)>;

  // `authorizer` may be null: every principal is then allowed (authentication off). Neither
  // pointer is owned; both must outlive the handler and every reply.
  ClientRequestHandler(NodeId self, RequestSink* sink, const Authorizer* authorizer);

  // `reply` is not called for a request handed to `stream`.
  void Handle(std::string_view payload, const Principal& principal, Reply reply,
              const Observer& observe = nullptr, const Streamer& stream = nullptr);
  // Set before the first Handle.
  void SetInterceptor(Interceptor f) { intercept_ = std::move(f); }
  // From now on new requests get a retryable UNAVAILABLE.
  void SetDraining() { draining_ = true; }

  // Removes what `p` may not read under `authorizer` (null: authentication off) and reserved
  // keys from a scan answer; records in scanned_through how far the scan got when more keys
  // remain. Static: it runs when the store answers, which may be after the handler is gone.
  static void FilterScan(const Authorizer* authorizer, const Principal& p, kvpb::Response* resp);
  // Removes what `p` may not read and reserved keys from a lease time-to-live's key list.
  static void FilterLeaseKeys(const Authorizer* authorizer, const Principal& p,
                              kvpb::Response* resp);
  // Removes events of keys `p` may not read and of reserved keys from a watch message (the
  // message itself stays: its progress_version still holds).
  static void FilterWatchEvents(const Authorizer* authorizer, const Principal& p,
                                kvpb::Response* resp);
  // Whether `p` may see an event or a key named in an answer: not reserved, and readable.
  static bool MayRead(const Authorizer* authorizer, const Principal& p, std::string_view key);

 private:
  const NodeId self_;
  RequestSink* const sink_;
  const Authorizer* const authorizer_;
  Interceptor intercept_;
  std::atomic<bool> draining_{false};
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_REQUEST_HANDLER_H_
