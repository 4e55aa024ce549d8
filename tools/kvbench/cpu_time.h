// CPU time of processes, for kvbench's CPU per operation: the servers' (by pid, from
// /proc/PID/stat) and kvbench's own (getrusage), sampled at the edges of the measured window.
//
// Thread-safety: free functions without shared state.
#ifndef RINGKV_TOOLS_KVBENCH_CPU_TIME_H_
#define RINGKV_TOOLS_KVBENCH_CPU_TIME_H_

#include <string_view>
#include <vector>

#include "common/result.h"

namespace ringkv::kvbench {

// utime + stime in seconds from the text of a /proc/PID/stat file. kInvalidArgument if the text
// does not have that shape. (The command name in parentheses may contain spaces and ')'.)
Result<double> ParseProcStatCpuSeconds(std::string_view stat);

// The summed utime + stime of `pids`, in seconds. kNotFound if a process is gone.
Result<double> ProcessesCpuSeconds(const std::vector<int>& pids);

// This process's user + system CPU time, in seconds.
double SelfCpuSeconds();

}  // namespace ringkv::kvbench

#endif  // RINGKV_TOOLS_KVBENCH_CPU_TIME_H_
