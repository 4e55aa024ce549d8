// kvctl's command line (CLI11): global flags with KVCTL_* environment fallbacks (a flag beats its
// variable silently; --debug notes it on stderr), the command tree, usage errors (exit 2), and
// dispatch to commands.h.
//
// Thread-safety: RunCli uses only its arguments.
#ifndef RINGKV_TOOLS_KVCTL_CLI_H_
#define RINGKV_TOOLS_KVCTL_CLI_H_

#include "commands.h"

namespace ringkv::kvctl {

// The default client endpoint (kvd's default client port).
inline constexpr char kDefaultEndpoint[] = "127.0.0.1:7001";

// Parses argv, connects, runs the command, and returns the process exit code.
int RunCli(int argc, const char* const* argv, Streams& s);

}  // namespace ringkv::kvctl

#endif  // RINGKV_TOOLS_KVCTL_CLI_H_
