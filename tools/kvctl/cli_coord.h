// kvctl's coordination commands on the command line: txn, lease, watch, lock, elect. Kept apart
// from cli.cc (the key-value and cluster commands) so each file stays one screenful per job.
//
// Thread-safety: single-threaded (command-line parsing).
#ifndef RINGKV_TOOLS_KVCTL_CLI_COORD_H_
#define RINGKV_TOOLS_KVCTL_CLI_COORD_H_

#include <memory>
#include <optional>

#include <CLI/CLI.hpp>

#include "commands.h"

namespace ringkv::kvctl {

struct CoordCommands;

// Adds the commands to `app`; the returned object holds their parsed arguments.
std::unique_ptr<CoordCommands, void (*)(CoordCommands*)> AddCoordCommands(CLI::App& app);
// Runs the parsed command if it is one of these (nullopt otherwise). Usage errors found after
// parsing (a malformed lease id) exit 2.
std::optional<int> RunCoordCommand(const CoordCommands& cmds, client::Client& c,
                                   const GlobalOptions& g, Streams& s);

}  // namespace ringkv::kvctl

#endif  // RINGKV_TOOLS_KVCTL_CLI_COORD_H_
