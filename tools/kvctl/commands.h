// kvctl's commands, independent of flag parsing: each takes a connected client, its parsed
// arguments and the output streams, prints in the requested format, and returns the exit code
// (errors.h). cli.cc maps the command line onto these.
//
// Thread-safety: each call uses only its arguments; the client is thread-safe.
#ifndef RINGKV_TOOLS_KVCTL_COMMANDS_H_
#define RINGKV_TOOLS_KVCTL_COMMANDS_H_

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "ringkv/client.h"

namespace ringkv::kvctl {

enum class OutputFormat { kSimple, kTable, kJson };

struct GlobalOptions {
  std::vector<std::string> endpoints;
  std::chrono::milliseconds dial_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
  OutputFormat format = OutputFormat::kSimple;
  bool hex = false;
  bool debug = false;
  std::string EndpointsString() const;
};

struct Streams {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
};

struct PutArgs {
  std::string key;
  std::optional<std::string> value;  // nullopt: read all of stdin
  bool if_absent = false;
  std::optional<uint64_t> if_version;
  std::optional<std::string> if_value;
};

struct GetArgs {
  std::string key;
  std::optional<std::string> range_end;
  bool prefix = false;
  bool from_key = false;
  uint64_t limit = 0;  // 0 = all
  bool keys_only = false;
  bool print_value_only = false;
  bool count_only = false;
  client::Consistency consistency = client::Consistency::kLinearizable;
};

struct DelArgs {
  std::string key;
  std::optional<std::string> range_end;
  bool prefix = false;
  bool from_key = false;
};

struct AppendArgs {
  std::string key;
  std::optional<std::string> suffix;  // nullopt: read all of stdin
};

int RunPut(client::Client& c, const GlobalOptions& g, const PutArgs& a, Streams& s);
int RunGet(client::Client& c, const GlobalOptions& g, const GetArgs& a, Streams& s);
int RunDel(client::Client& c, const GlobalOptions& g, const DelArgs& a, Streams& s);
int RunAppend(client::Client& c, const GlobalOptions& g, const AppendArgs& a, Streams& s);
// Queries every endpoint in g.endpoints; exit 0 when all answered, 5 when any did not (the
// others are still printed).
int RunClusterStatus(client::Client& c, const GlobalOptions& g, Streams& s);
int RunNodeDecommission(client::Client& c, const GlobalOptions& g, uint64_t node_id, Streams& s);

}  // namespace ringkv::kvctl

#endif  // RINGKV_TOOLS_KVCTL_COMMANDS_H_
