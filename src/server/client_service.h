// ClientService: the client port. Thin glue (LogCabin's RaftService style): each frame is a
// kvpb::Request, handed to the store; the answer goes back on the same connection, tagged with
// the request id, whenever it is ready. A frame that is not a Request is answered with
// INVALID_ARGUMENT and the connection is closed with a log line; the server keeps serving.
//
// Thread-safety: Start/Stop from the owner thread; handlers run on the frame server's thread.
#ifndef RINGKV_SERVER_CLIENT_SERVICE_H_
#define RINGKV_SERVER_CLIENT_SERVICE_H_

#include <atomic>
#include <memory>
#include <string>

#include "common/ids.h"
#include "common/status.h"
#include "net/frame_server.h"
#include "store/store.h"

namespace ringkv::server {

class ClientService {
 public:
  ClientService(store::Store* store, std::string listen_address, uint64_t cluster_id, NodeId self);
  Status Start();
  void Stop();
  uint16_t port() const { return server_->port(); }
  // While draining, new requests get a retryable UNAVAILABLE.
  void SetDraining() { draining_ = true; }

 private:
  void OnFrame(const std::shared_ptr<net::Connection>& conn, const std::string& payload);

  store::Store* store_;
  NodeId self_;
  std::atomic<bool> draining_{false};
  std::unique_ptr<net::FrameServer> server_;
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_CLIENT_SERVICE_H_
