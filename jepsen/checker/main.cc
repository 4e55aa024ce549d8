// ringkv-check: checks a Jepsen-style history file and prints the verdict and anomalies.
//
//   ringkv-check --model register|append|set|kv --history FILE [--time-limit S] [--json]
//                [--no-versions]
//
// Exit code: 0 valid, 1 invalid, 2 unknown (budget exhausted), malformed history or usage error.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "jepsen/checker/check.h"

namespace {

constexpr int kExitUsage = 2;

void Usage() {
  std::cerr << "usage: ringkv-check --model register|append|set|kv --history FILE "
               "[--time-limit SECONDS] [--json] [--no-versions]\n"
               "  --time-limit  search budget per key for register/kv (default 60)\n"
               "  --json        print the report as JSON instead of text\n"
               "  --no-versions don't use returned :version values (fast path)\n"
               "exit: 0 valid, 1 invalid, 2 unknown / malformed history / usage error\n";
}

}  // namespace

int main(int argc, char** argv) {
  ringkv::jepsen::CheckRequest req;
  bool json = false;
  bool have_model = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--model") {
      const char* v = value();
      auto kind = v ? ringkv::jepsen::ParseCheckModel(v) : std::nullopt;
      if (!kind) {
        Usage();
        return kExitUsage;
      }
      req.model = *kind;
      have_model = true;
    } else if (arg == "--history") {
      const char* v = value();
      if (!v) {
        Usage();
        return kExitUsage;
      }
      req.history_path = v;
    } else if (arg == "--time-limit") {
      const char* v = value();
      char* end = nullptr;
      double s = v ? std::strtod(v, &end) : 0;
      if (!v || *end != '\0' || !(s > 0)) {
        Usage();
        return kExitUsage;
      }
      req.linearizability.time_limit_per_key_s = s;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--no-versions") {
      req.linearizability.use_versions = false;
    } else if (arg == "--help" || arg == "-h") {
      Usage();
      return 0;
    } else {
      std::cerr << "unknown argument " << arg << "\n";
      Usage();
      return kExitUsage;
    }
  }
  if (!have_model || req.history_path.empty()) {
    Usage();
    return kExitUsage;
  }
  ringkv::jepsen::CheckOutcome outcome = ringkv::jepsen::RunCheck(req);
  std::cout << (json ? outcome.json : outcome.text);
  switch (outcome.verdict) {
    case ringkv::jepsen::Verdict::kValid: return 0;
    case ringkv::jepsen::Verdict::kInvalid: return 1;
    default: return 2;
  }
}
