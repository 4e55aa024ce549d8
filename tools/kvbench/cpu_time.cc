#include "cpu_time.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace ringkv::kvbench {

Result<double> ParseProcStatCpuSeconds(std::string_view stat) {
  // "pid (comm) state ppid ..." : utime and stime are fields 14 and 15, i.e. the 12th and 13th
  // after the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return Status::InvalidArgument("no ')' in stat");
  std::string_view rest = stat.substr(close + 1);
  uint64_t ticks = 0;
  for (int field = 1; field <= 13; ++field) {
    const size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return Status::InvalidArgument("stat too short");
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find(' '), rest.size());
    if (field >= 12) {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(rest.data(), rest.data() + end, v);
      if (ec != std::errc() || p != rest.data() + end) {
        return Status::InvalidArgument("bad CPU field in stat");
      }
      ticks += v;
    }
    rest.remove_prefix(end);
  }
  static const long hz = sysconf(_SC_CLK_TCK);
  return static_cast<double>(ticks) / static_cast<double>(hz > 0 ? hz : 100);
}

Result<double> ProcessesCpuSeconds(const std::vector<int>& pids) {
  double total = 0;
  for (int pid : pids) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return Status::NotFound("process " + std::to_string(pid) + " is gone");
    Result<double> s = ParseProcStatCpuSeconds(text.str());
    if (!s.ok()) return s.status();
    total += *s;
  }
  return total;
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

}  // namespace ringkv::kvbench
