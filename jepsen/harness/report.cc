#include "jepsen/harness/report.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "jepsen/harness/process.h"

namespace ringkv::jepsen {

std::vector<std::string> ScanLogForCrashes(const std::string& log_path, size_t max_lines) {
  static const std::regex kFatal("^F[0-9]{4}");
  static const char* kNeedles[] = {"Check failed",    "AddressSanitizer", "ThreadSanitizer",
                                   "LeakSanitizer",   "runtime error",    "terminate called",
                                   "Segmentation fault"};
  std::vector<std::string> out;
  std::ifstream in(log_path);
  std::string line;
  const std::string name = log_path.substr(log_path.find_last_of('/') + 1);
  while (std::getline(in, line) && out.size() < max_lines) {
    bool hit = std::regex_search(line, kFatal);
    for (const char* n : kNeedles) hit = hit || line.find(n) != std::string::npos;
    if (hit) out.push_back(name + ": " + line.substr(0, 300));
  }
  return out;
}

std::vector<std::string> OpCounts(const History& history) {
  std::map<std::string, std::map<OpType, int>> counts;
  for (const Op& op : history) {
    if (op.process == kNemesisProcess || op.type == OpType::kInvoke) continue;
    ++counts[op.f][op.type];
  }
  std::vector<std::string> out;
  for (auto& [f, c] : counts) {
    out.push_back(f + ": " + std::to_string(c[OpType::kOk]) + " ok, " +
                  std::to_string(c[OpType::kFail]) + " fail, " + std::to_string(c[OpType::kInfo]) +
                  " info");
  }
  return out;
}

std::string WritePlot(const std::string& dir, const History& history,
                      const std::vector<FaultWindow>& windows, const std::string& title) {
  std::map<int64_t, const Op*> pending;  // process -> invocation
  std::ofstream lat(dir + "/latency.dat");
  std::map<int64_t, std::array<int, 3>> per_second;
  lat << "# time_s latency_ms type(0=ok 1=fail 2=info) f\n";
  double end_s = 1;
  for (const Op& op : history) {
    if (op.process == kNemesisProcess) continue;
    end_s = std::max(end_s, op.time_ns / 1e9);
    if (op.type == OpType::kInvoke) {
      pending[op.process] = &op;
      continue;
    }
    auto it = pending.find(op.process);
    if (it == pending.end()) continue;
    const double t = it->second->time_ns / 1e9;
    const double ms = (op.time_ns - it->second->time_ns) / 1e6;
    const int type = op.type == OpType::kOk ? 0 : op.type == OpType::kFail ? 1 : 2;
    lat << t << " " << ms << " " << type << " " << op.f << "\n";
    ++per_second[op.time_ns / 1000000000][static_cast<size_t>(type)];
    pending.erase(it);
  }
  lat.close();
  std::ofstream thr(dir + "/throughput.dat");
  thr << "# second ok fail info (completions per second)\n";
  for (const auto& [s, c] : per_second) {
    thr << s << " " << c[0] << " " << c[1] << " " << c[2] << "\n";
  }
  thr.close();
  std::ofstream faults(dir + "/faults.dat");
  for (const FaultWindow& w : windows) {
    faults << w.start_s << " " << w.end_s << " " << w.kind << "\n";
  }
  faults.close();

  std::ofstream gp(dir + "/plot.gp");
  gp << "set terminal pngcairo size 1400,900 noenhanced\n"
     << "set output '" << dir << "/plot.png'\n"
     << "set multiplot layout 2,1 title '" << title << "'\n"
     << "set xrange [0:" << end_s << "]\n"
     << "set xlabel 'time (s)'\n";
  int obj = 1;
  for (const FaultWindow& w : windows) {
    gp << "set object " << obj++ << " rect from " << w.start_s << ", graph 0 to " << w.end_s
       << ", graph 1 behind fillcolor rgb '#ffcccc' fillstyle solid 0.5 noborder\n";
    gp << "set label " << obj << " '" << w.kind << "' at " << w.start_s
       << ", graph 0.97 front font ',8'\n";
  }
  gp << "set ylabel 'latency (ms)'\nset logscale y\n"
     << "plot '" << dir << "/latency.dat' using 1:($3==0?$2:1/0) with points pt 7 ps 0.3 "
     << "lc rgb '#1f77b4' title 'ok', '' using 1:($3==1?$2:1/0) with points pt 7 ps 0.4 "
     << "lc rgb '#ff7f0e' title 'fail', '' using 1:($3==2?$2:1/0) with points pt 7 ps 0.5 "
     << "lc rgb '#d62728' title 'info'\n"
     << "unset logscale y\nset ylabel 'completions / s'\n"
     << "plot '" << dir << "/throughput.dat' using 1:2 with steps lw 2 lc rgb '#1f77b4' "
     << "title 'ok', '' using 1:3 with steps lc rgb '#ff7f0e' title 'fail', '' using 1:4 with "
     << "steps lc rgb '#d62728' title 'info'\n"
     << "unset multiplot\n";
  gp.close();
  std::string out;
  Result<int> rc = RunCommand({"gnuplot", dir + "/plot.gp"}, &out);
  if (!rc.ok()) return "plot not drawn: " + rc.status().ToString();
  if (*rc == 127) return "plot not drawn: gnuplot not installed (apt-get install gnuplot-nox)";
  if (*rc != 0) return "plot not drawn: gnuplot failed: " + out.substr(0, 300);
  return "plot.png written";
}

std::string RenderReport(const ReportInput& in) {
  std::ostringstream o;
  o << "RingKV Jepsen-style test\n" << "command: " << in.command << "\n\n";
  o << "VERDICT: " << VerdictName(in.verdict) << "\n";
  for (const auto& r : in.reasons) o << "  - " << r << "\n";
  o << "\noperations:\n";
  for (const auto& c : in.counts) o << "  " << c << "\n";
  o << "\nfaults (" << in.windows.size() << "):\n";
  char buf[64];
  for (const FaultWindow& w : in.windows) {
    std::snprintf(buf, sizeof(buf), "  %7.2f-%7.2f s  ", w.start_s, w.end_s);
    o << buf << w.kind << ": " << w.detail << "\n";
  }
  o << "\nnotes:\n";
  for (const auto& n : in.notes) o << "  " << n << "\n";
  o << "\nchecker:\n" << in.checker_text << "\n";
  return o.str();
}

}  // namespace ringkv::jepsen
