// kvbench's etcd target: loads an etcd v3 cluster through its gRPC KV service (Put, and Range of
// one key, serializable or not after LoadOptions::consistency), with the protos of etcd/rpc.proto.
// Built only when gRPC C++ is present (tools/install_deps.sh bench-etcd); see CMakeLists.txt.
//
// Each Connection is one completion queue with one thread, and one HTTP/2 connection (gRPC
// channel) to every endpoint; calls go round-robin over the endpoints, as etcd 3.4's Go client
// (clientv3) balances one client's calls. Followers forward writes to the leader, and serve
// linearizable reads after a ReadIndex round with it, as etcd does for that client.
//
// Thread-safety: as target.h.
#ifndef RINGKV_TOOLS_KVBENCH_ETCD_TARGET_H_
#define RINGKV_TOOLS_KVBENCH_ETCD_TARGET_H_

#include <memory>

#include "load.h"
#include "target.h"

namespace ringkv::kvbench {

// Uses options.endpoints (host:port of the members' client URLs, plain TCP), op_timeout (each
// call's deadline) and consistency. Connect returns kUnavailable when an endpoint does not
// accept a connection within op_timeout. options.tls is not supported (kInvalidArgument if set).
Result<std::unique_ptr<Target>> MakeEtcdTarget(const LoadOptions& options);

}  // namespace ringkv::kvbench

#endif  // RINGKV_TOOLS_KVBENCH_ETCD_TARGET_H_
