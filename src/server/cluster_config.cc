#include "server/cluster_config.h"

#include <cstdlib>

namespace ringkv::server {

Result<std::map<NodeId, std::string>> ParseMemberList(const std::string& spec) {
  std::map<NodeId, std::string> out;
  if (spec.empty()) return out;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t eq = item.find('=');
    if (item.empty() || eq == std::string::npos) {
      return Status::InvalidArgument("member list item '" + item + "' is not id=host:port");
    }
    std::string id_str = item.substr(0, eq);
    std::string addr = item.substr(eq + 1);
    char* end = nullptr;
    unsigned long long id = std::strtoull(id_str.c_str(), &end, 10);
    if (id_str.empty() || *end != '\0' || id == 0) {
      return Status::InvalidArgument("member id '" + id_str + "' is not a positive integer");
    }
    size_t colon = addr.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == addr.size()) {
      return Status::InvalidArgument("member address '" + addr + "' is not host:port");
    }
    if (!out.emplace(NodeId(id), addr).second) {
      return Status::InvalidArgument("member id " + id_str + " appears twice");
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace ringkv::server
