// FetchNodeStatus: asks another node's client port for its NodeStatus (one attempt, one
// connection, a deadline), without blocking: the answer arrives in a callback. The admin
// port's /status uses it to show the whole cluster from any one node, quorum or not.
//
// Thread-safety: call from any thread; `done` runs exactly once on `io`'s thread.
#ifndef RINGKV_SERVER_REMOTE_STATUS_H_
#define RINGKV_SERVER_REMOTE_STATUS_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "common/result.h"
#include "net/tls.h"
#include "proto/kv.pb.h"

namespace ringkv::server {

// `io` must be run by the caller and outlive the call's completion.
// `tls`: the client-role TLS context for a cluster with TLS on its client ports, else null.
void FetchNodeStatus(boost::asio::io_context& io, const std::string& address, uint64_t cluster_id,
                     std::chrono::milliseconds timeout, std::shared_ptr<net::TlsContext> tls,
                     std::function<void(Result<kvpb::NodeStatus>)> done);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_REMOTE_STATUS_H_
