// JsonLogSink: kvd's --log_format=json. Every glog line becomes one JSON object on stderr:
//   {"ts":"2026-12-05T21:55:09.123456Z","level":"INFO","node":1,"file":"node.cc","line":42,
//    "msg":"..."}
// so a log shipper needs no parser of glog's text prefix. Installing it turns glog's own
// stderr and file output off, so each line is written once.
//
// Thread-safety: glog calls send() from any thread; writes are serialized by a mutex.
#ifndef RINGKV_SERVER_JSON_LOG_SINK_H_
#define RINGKV_SERVER_JSON_LOG_SINK_H_

#include <glog/logging.h>

#include <cstdint>
#include <mutex>
#include <string>

namespace ringkv::server {

class JsonLogSink final : public google::LogSink {
 public:
  explicit JsonLogSink(uint64_t node_id) : node_id_(node_id) {}
  void send(google::LogSeverity severity, const char* full_filename, const char* base_filename,
            int line, const struct ::tm* tm_time, const char* message,
            size_t message_len) override;

  // One JSON line (with the trailing newline), for tests. `usec`: microseconds of the second.
  static std::string Format(uint64_t node_id, google::LogSeverity severity, const char* file,
                            int line, const struct ::tm* tm_time, int32_t usec,
                            const std::string& message);

  // Installs a process-wide sink and silences glog's own output. Call once, after
  // InitGoogleLogging.
  static void Install(uint64_t node_id);

 private:
  const uint64_t node_id_;
  std::mutex mu_;
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_JSON_LOG_SINK_H_
