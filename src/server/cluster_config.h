// Parsing of the static cluster description given to kvd on the command line
// (--initial_cluster "1=127.0.0.1:7101,2=..." as etcd's --initial-cluster).
//
// Thread-safety: pure functions.
#ifndef RINGKV_SERVER_CLUSTER_CONFIG_H_
#define RINGKV_SERVER_CLUSTER_CONFIG_H_

#include <map>
#include <string>

#include "common/ids.h"
#include "common/result.h"

namespace ringkv::server {

// Parses "id=host:port,id=host:port". InvalidArgument naming the bad item on error: empty,
// missing '=', id not a positive integer, duplicate id, address without a port.
Result<std::map<NodeId, std::string>> ParseMemberList(const std::string& spec);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_CLUSTER_CONFIG_H_
