// The outputs of one run besides the history files: the scan of node logs for crashes, the
// latency/throughput plot (data files, a gnuplot script, and plot.png when gnuplot is on PATH),
// and report.txt.
//
// Thread-safety: pure functions apart from the files they write.
#ifndef RINGKV_JEPSEN_HARNESS_REPORT_H_
#define RINGKV_JEPSEN_HARNESS_REPORT_H_

#include <string>
#include <vector>

#include "jepsen/checker/history.h"
#include "jepsen/checker/verdict.h"
#include "jepsen/harness/nemesis.h"

namespace ringkv::jepsen {

// Lines of `log_path` that report a crash: glog FATAL lines ("F" + digits), "Check failed",
// sanitizer reports ("AddressSanitizer", "ThreadSanitizer", "LeakSanitizer", "runtime error"),
// "terminate called". At most `max_lines`, each prefixed with the file name.
std::vector<std::string> ScanLogForCrashes(const std::string& log_path, size_t max_lines);

// Writes latency.dat, throughput.dat, faults.dat and plot.gp into `dir` and runs gnuplot.
// Returns a one-line note ("plot.png written", or why not).
std::string WritePlot(const std::string& dir, const History& history,
                      const std::vector<FaultWindow>& windows, const std::string& title);

// Counts of completions per :f and :type, e.g. "read: 120 ok, 3 fail, 1 info".
std::vector<std::string> OpCounts(const History& history);

struct ReportInput {
  std::string command;
  Verdict verdict = Verdict::kUnknown;
  std::vector<std::string> reasons;  // why the verdict is not valid (empty when valid)
  std::vector<std::string> notes;    // everything else worth reading
  std::string checker_text;
  std::vector<FaultWindow> windows;
  std::vector<std::string> counts;
};

// report.txt.
std::string RenderReport(const ReportInput& in);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_HARNESS_REPORT_H_
