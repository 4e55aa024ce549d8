#include "server/kvd_config.h"

#include <gflags/gflags.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace ringkv::server {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string EnvName(const std::string& flag) {
  std::string env = "KVD_" + flag;
  for (auto& c : env) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return env;
}

// Takes --flagfile=X / --flagfile X / -flagfile=X out of argv; returns X ("" if absent).
std::string ExtractFlagfile(int* argc, char*** argv) {
  std::string path;
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    std::string a = (*argv)[i];
    for (const char* prefix : {"--flagfile=", "-flagfile="}) {
      if (a.rfind(prefix, 0) == 0) {
        path = a.substr(std::strlen(prefix));
        a.clear();
      }
    }
    if ((a == "--flagfile" || a == "-flagfile") && i + 1 < *argc) {
      path = (*argv)[++i];
      continue;
    }
    if (a.empty()) continue;
    (*argv)[out++] = (*argv)[i];
  }
  *argc = out;
  return path;
}

}  // namespace

const char* FlagSourceName(FlagSource s) {
  switch (s) {
    case FlagSource::kDefault: return "default";
    case FlagSource::kFile: return "flagfile";
    case FlagSource::kEnv: return "env";
    case FlagSource::kCommandLine: return "flag";
  }
  return "?";
}

Result<std::map<std::string, FlagSource>> ResolveFlags(int* argc, char*** argv,
                                                       const GetEnv& getenv) {
  std::string flagfile = ExtractFlagfile(argc, argv);
  gflags::ParseCommandLineFlags(argc, argv, true);

  std::map<std::string, FlagSource> sources;
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const auto& f : flags) {
    sources[f.name] = f.is_default ? FlagSource::kDefault : FlagSource::kCommandLine;
  }
  for (const auto& f : flags) {
    if (sources[f.name] != FlagSource::kDefault) continue;
    // gflags' own flags (flagfile, fromenv, help, ...) act when set: not from the environment.
    if (f.filename.find("gflags") != std::string::npos) continue;
    const char* v = getenv(EnvName(f.name));
    if (v == nullptr) continue;
    if (gflags::SetCommandLineOption(f.name.c_str(), v).empty()) {
      return Status::InvalidArgument("environment variable " + EnvName(f.name) + "='" + v +
                                     "' is not a valid value for --" + f.name);
    }
    sources[f.name] = FlagSource::kEnv;
  }
  if (flagfile.empty()) {
    if (const char* v = getenv("KVD_FLAGFILE")) flagfile = v;
  }
  if (flagfile.empty()) return sources;
  std::ifstream in(flagfile);
  if (!in) return Status::InvalidArgument("cannot read --flagfile " + flagfile);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    const std::string where = flagfile + ":" + std::to_string(n);
    if (line[0] != '-') return Status::InvalidArgument(where + ": expected --name=value: " + line);
    std::string body = line.substr(line.rfind("--", 0) == 0 ? 2 : 1);
    size_t eq = body.find('=');
    std::string name = body.substr(0, eq);
    std::string value = eq == std::string::npos ? "true" : body.substr(eq + 1);
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(name.c_str(), &info)) {
      if (eq == std::string::npos && name.rfind("no", 0) == 0 &&
          gflags::GetCommandLineFlagInfo(name.substr(2).c_str(), &info) && info.type == "bool") {
        name = name.substr(2);
        value = "false";
      } else {
        return Status::InvalidArgument(where + ": unknown flag --" + name);
      }
    }
    if (sources[name] != FlagSource::kDefault && sources[name] != FlagSource::kFile) continue;
    if (gflags::SetCommandLineOption(name.c_str(), value.c_str()).empty()) {
      return Status::InvalidArgument(where + ": '" + value + "' is not a valid value for --" + name);
    }
    sources[name] = FlagSource::kFile;
  }
  return sources;
}

std::string GroupedHelp(const std::string& usage,
                        const std::vector<std::pair<std::string, std::vector<std::string>>>& groups,
                        const std::string& file_suffix) {
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  std::map<std::string, gflags::CommandLineFlagInfo> ours;
  for (const auto& f : flags) {
    if (EndsWith(f.filename, file_suffix)) ours[f.name] = f;
  }
  std::ostringstream out;
  out << usage << "\n";
  auto print = [&](const gflags::CommandLineFlagInfo& f) {
    std::string def = f.type == "string" ? "\"" + f.default_value + "\"" : f.default_value;
    out << "  --" << f.name << "=" << def << "\n      " << f.description << "\n";
  };
  std::set<std::string> shown;
  for (const auto& [title, names] : groups) {
    out << "\n" << title << ":\n";
    for (const auto& n : names) {
      auto it = ours.find(n);
      if (it == ours.end()) continue;
      print(it->second);
      shown.insert(n);
    }
  }
  bool other = false;
  for (const auto& [name, f] : ours) {
    if (shown.count(name) > 0) continue;
    if (!other) out << "\nOther:\n";
    other = true;
    print(f);
  }
  out << "\nConfiguration sources, strongest first: command-line flags, KVD_<FLAG> environment "
         "variables (e.g. KVD_DATA_DIR), --flagfile=PATH (or KVD_FLAGFILE; lines --name=value), "
         "defaults.\nLogging flags (glog: --v, --log_dir, ...): --helpfull.\n";
  return out.str();
}

std::string EffectiveConfig(const std::map<std::string, FlagSource>& sources,
                            const std::string& file_suffix) {
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  std::string out;
  for (const auto& f : flags) {
    if (!EndsWith(f.filename, file_suffix)) continue;
    auto it = sources.find(f.name);
    FlagSource src = it == sources.end() ? FlagSource::kDefault : it->second;
    out += (out.empty() ? "" : " ") + f.name + "=" + f.current_value + " (" +
           FlagSourceName(src) + ")";
  }
  return out;
}

}  // namespace ringkv::server
