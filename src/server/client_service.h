// ClientService: the client port. Thin glue (LogCabin's RaftService style) between the frame
// server and the client request handler (server/request_handler.h): each frame is handed, with
// the principal its connection's certificate names, to the handler (parse, draining, the
// permission check, this node's own answers, the store), whose answers go back on the same
// connection whenever they are ready, timed for the request metrics. A frame that is not a
// Request is answered with INVALID_ARGUMENT and the connection is closed with a log line; the
// server keeps serving.
//
// Overload: before a frame is parsed, admission control (server/admission.h) reads only its
// request id and operation (server/request_header.h) and either admits it — it then holds a
// ticket until its answer is queued on the connection — or answers BUSY "too many requests"
// with retry_after_ms at once, without parsing the value or touching the store. Status and
// admin requests are never shed. An admitted request that waited in the store's queue past its
// deadline is answered BUSY without being executed (store/). Every BUSY answer carries the
// controller's retry_after_ms.
//
//
// Watches: a WatchRequest that passes the handler's checks (server/request_handler.h) opens a
// stream on the store (its messages go out on the same connection, tagged with the request's id,
// until one with an error ends it; events of keys the principal may not read are dropped, as
// scans drop them); a WatchCancelRequest ends one; a closed connection ends all of its watches.
// A watch whose connection holds more than `watch_max_unread_bytes` of unsent data is slow and
// is ended by the store with CANCELED (replica/watch_hub.h). An open watch holds no admission
// ticket: its ticket is returned once the stream is handed to the store.
//
// Thread-safety: Start/Stop from the owner thread; handlers run on the frame server's thread;
// admission() from any thread.
#ifndef RINGKV_SERVER_CLIENT_SERVICE_H_
#define RINGKV_SERVER_CLIENT_SERVICE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/ids.h"
#include "common/status.h"
#include "net/frame_server.h"
#include "net/tls.h"
#include "server/admission.h"
#include "server/authorizer.h"
#include "server/request_handler.h"
#include "proto/kv.pb.h"
#include "store/store.h"

namespace ringkv::server {

// The controller's counters now, as the status answer carries them.
void FillAdmissionStatus(AdmissionController& admission, AdmissionController::Clock::time_point now,
                         kvpb::AdmissionStatus* out);

class ClientService {
 public:
  // `tls`: the client port's TLS credentials; null = plain TCP. `authorizer`: the permission
  // rules, required when `tls` asks for client certificates, else may be null.
  // `watch_max_unread_bytes`: see above. Default: 8 MiB (half the connection's queue, so
  // answers to other requests still fit). `io`: the io_context the port runs on when not a
  // thread of its own (net/io_thread.h; kvd: the store loop's).
  ClientService(store::Store* store, std::string listen_address, uint64_t cluster_id, NodeId self,
                std::shared_ptr<net::TlsCredentials> tls = nullptr,
                const Authorizer* authorizer = nullptr, AdmissionOptions admission = {},
                size_t watch_max_unread_bytes = size_t{8} << 20, net::SharedIo io = {});
  Status Start();
  void Stop();
  uint16_t port() const { return server_->port(); }
  // Connections refused in the TLS handshake.
  uint64_t tls_refused() const { return server_->tls_refused(); }
  // While draining, new requests get a retryable UNAVAILABLE.
  void SetDraining() {
    draining_ = true;
    handler_.SetDraining();
  }
  bool draining() const { return draining_; }
  // Fills node-level fields of status answers the store does not know (version, admin
  // address, alarms, disk use). Runs on the store's loop; must be cheap. Set before Start.
  void SetStatusDecorator(std::function<void(kvpb::NodeStatus*)> f) { decorate_ = std::move(f); }
  // Returns why writes are refused now ("" = accepted): the NOSPACE alarm of some member.
  // Consulted for put, cas, append, transactions that put and lease grants (deletes and lease
  // revokes free space and always pass). Set before Start.
  void SetWriteGate(std::function<std::string()> f) { write_gate_ = std::move(f); }
  // Returns why this node serves no data requests at all ("" = it does): it left the cluster.
  // Status and admin requests still pass. Set before Start.
  void SetServingGate(std::function<std::string()> f) { serving_gate_ = std::move(f); }
  // Handles `kvctl alarm disarm` (AdminRequest.disarm_alarms); returns the answer's message.
  void SetDisarmHandler(std::function<std::string()> f) { disarm_ = std::move(f); }
  // Handles `kvctl compact`'s storage compaction (AdminRequest.compact_storage), which answers
  // when the compaction ends: the handler calls its argument once, from any thread, with the
  // response (request id and served_by are filled in here). Set before Start.
  using AsyncAdminHandler = std::function<void(std::function<void(kvpb::Response)>)>;
  void SetCompactStorageHandler(AsyncAdminHandler f) { compact_storage_ = std::move(f); }
  // Requests answered later than this are logged as slow. Default: 300 ms. Set before Start.
  void SetSlowRequestThreshold(std::chrono::milliseconds t) { slow_request_ = t; }
  // The client port's admission control (its counters are in every status answer; the node's
  // decorator also puts them in the admin port's status and metrics).
  AdmissionController& admission() { return *admission_; }

 private:
  // The store as the handler's sink; storage compaction goes to its handler instead.
  class StoreSink final : public RequestSink {
   public:
    StoreSink(store::Store* store, NodeId self, const AsyncAdminHandler* compact_storage)
        : store_(store), self_(self), compact_storage_(compact_storage) {}
    void HandleRequest(kvpb::Request req, std::function<void(kvpb::Response)> reply) override {
      if (req.has_admin() && req.admin().op_case() == kvpb::AdminRequest::kCompactStorage &&
          *compact_storage_) {
        (*compact_storage_)([reply = std::move(reply), id = req.request_id(),
                             self = self_](kvpb::Response resp) {
          resp.set_request_id(id);
          resp.set_served_by(self.value());
          reply(std::move(resp));
        });
        return;
      }
      store_->HandleRequest(std::move(req), std::move(reply));
    }

   private:
    store::Store* store_;
    const NodeId self_;
    const AsyncAdminHandler* compact_storage_;  // the service's member: set before Start
  };

  void OnFrame(const std::shared_ptr<net::Connection>& conn, const std::string& payload);
  // Requests answered here without the store (NOSPACE rejections, a node that left, alarm
  // disarm), after the permission check: true and `resp` filled.
  bool Intercept(const kvpb::Request& req, kvpb::Response* resp);
  // A request over the frame maximum: answered INVALID_ARGUMENT (definite) by its request id,
  // read from the first bytes of the payload; the rest of it is never read.
  void OnOversized(const std::shared_ptr<net::Connection>& conn, uint64_t length,
                   const std::string& prefix);
  void OnClose(const std::shared_ptr<net::Connection>& conn);
  // Answers `request_id` on `conn` with BUSY: the request was not executed.
  void Shed(const std::shared_ptr<net::Connection>& conn, uint64_t request_id,
            const std::string& reason, uint32_t retry_after_ms);
  // Watch and watch-cancel requests, after the handler's checks.
  void OnWatchRequest(const std::shared_ptr<net::Connection>& conn, const Principal& principal,
                      kvpb::Request req);

  const net::ClientCertAuth client_auth_;
  NodeId self_;
  store::Store* const store_;
  const Authorizer* const authorizer_;
  const size_t watch_max_unread_bytes_;
  std::atomic<bool> draining_{false};  // for draining(); the handler has its own flag
  std::function<void(kvpb::NodeStatus*)> decorate_;
  std::function<std::string()> write_gate_;
  std::function<std::string()> serving_gate_;
  std::function<std::string()> disarm_;
  AsyncAdminHandler compact_storage_;
  std::chrono::milliseconds slow_request_{300};
  // Each open connection's admission account, by connection id. Frame server thread only.
  std::unordered_map<uint64_t, std::shared_ptr<AdmissionController::Account>> accounts_;
  std::shared_ptr<AdmissionController> admission_;
  StoreSink sink_;
  ClientRequestHandler handler_;
  std::unique_ptr<net::FrameServer> server_;
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_CLIENT_SERVICE_H_
