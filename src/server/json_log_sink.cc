#include "server/json_log_sink.h"

#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace ringkv::server {

std::string JsonLogSink::Format(uint64_t node_id, google::LogSeverity severity, const char* file,
                                int line, const struct ::tm* tm_time, int32_t usec,
                                const std::string& message) {
  char ts[96];  // roomy: the compiler cannot bound the int fields
  std::snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm_time->tm_year + 1900,
                tm_time->tm_mon + 1, tm_time->tm_mday, tm_time->tm_hour, tm_time->tm_min,
                tm_time->tm_sec, usec);
  static const char* const kLevels[] = {"INFO", "WARNING", "ERROR", "FATAL"};
  nlohmann::json j = {{"ts", ts},
                      {"level", severity >= 0 && severity < 4 ? kLevels[severity] : "UNKNOWN"},
                      {"node", node_id},
                      {"file", file},
                      {"line", line},
                      // Invalid UTF-8 (a key's raw bytes in a message) is replaced, not fatal.
                      {"msg", message}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void JsonLogSink::send(google::LogSeverity severity, const char* /*full_filename*/,
                       const char* base_filename, int line, const struct ::tm* tm_time,
                       const char* message, size_t message_len) {
  // glog's broken-down time is local and whole seconds: take UTC with microseconds instead.
  (void)tm_time;
  timeval tv{};
  gettimeofday(&tv, nullptr);
  struct ::tm utc {};
  gmtime_r(&tv.tv_sec, &utc);
  std::string out = Format(node_id_, severity, base_filename, line, &utc,
                           static_cast<int32_t>(tv.tv_usec), std::string(message, message_len));
  std::lock_guard<std::mutex> lock(mu_);
  ssize_t ignored = ::write(STDERR_FILENO, out.data(), out.size());
  (void)ignored;  // nowhere to report a failed log write
}

void JsonLogSink::Install(uint64_t node_id) {
  static JsonLogSink* sink = new JsonLogSink(node_id);  // lives as long as the process
  FLAGS_logtostderr = false;
  FLAGS_alsologtostderr = false;
  FLAGS_stderrthreshold = google::NUM_SEVERITIES;  // nothing through glog's stderr
  for (int s = 0; s < google::NUM_SEVERITIES; ++s) google::SetLogDestination(s, "");
  google::AddLogSink(sink);
}

}  // namespace ringkv::server
