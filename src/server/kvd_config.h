// kvd's configuration sources and their precedence: a flag on the command line beats a KVD_*
// environment variable, which beats a line of the --flagfile (or KVD_FLAGFILE), which beats
// the default. Also the grouped --help and the effective configuration logged at start.
//
// Why not gflags' own --flagfile: gflags expands it inside the command line, so a file value
// would beat the environment; here the file is read last and only fills what nothing else set.
//
// Thread-safety: call from main() before other threads start (gflags state is global).
#ifndef RINGKV_SERVER_KVD_CONFIG_H_
#define RINGKV_SERVER_KVD_CONFIG_H_

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace ringkv::server {

enum class FlagSource { kDefault, kFile, kEnv, kCommandLine };
const char* FlagSourceName(FlagSource s);

using GetEnv = std::function<const char*(const std::string&)>;

// Parses argv (gflags; removes the flags it consumed), then applies KVD_<FLAG> variables to
// flags not given on the command line, then the flagfile (--flagfile=PATH on the command line,
// else $KVD_FLAGFILE; lines "--name=value", "#" comments) to flags set by neither. Returns
// every flag's source, or InvalidArgument naming the file line with an unknown flag or a bad
// value (for the environment: the variable).
Result<std::map<std::string, FlagSource>> ResolveFlags(int* argc, char*** argv,
                                                       const GetEnv& getenv);

// Help with flags grouped by topic: `groups` lists (title, flag names); flags of `file_suffix`
// (e.g. "kvd_main.cc") not named in a group go under "Other". Each flag with its default.
std::string GroupedHelp(const std::string& usage,
                        const std::vector<std::pair<std::string, std::vector<std::string>>>& groups,
                        const std::string& file_suffix);

// "name=value (source)" for every flag defined in `file_suffix`, sorted, space separated.
std::string EffectiveConfig(const std::map<std::string, FlagSource>& sources,
                            const std::string& file_suffix);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_KVD_CONFIG_H_
