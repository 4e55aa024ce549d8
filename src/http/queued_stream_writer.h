// QueuedStreamWriter: the StreamWriter (http/stream_writer.h) an HttpServer session hands to a
// streaming handler. Write and Close queue under a mutex and ask the session, once per batch,
// to flush (`post_flush` posts to the session's thread); the session takes what is queued
// (TakeQueued), writes it as chunks, reports the bytes written (Written) and, when the stream
// ends for any reason, MarkClosed, which runs the OnClose callbacks once.
//
// Memory: bytes queued or being written stay at most `max_bytes`; a Write past it is refused.
//
// Thread-safety: every method is thread-safe. OnClose callbacks run on the thread that calls
// MarkClosed (the session's), never under the mutex.
#ifndef RINGKV_HTTP_QUEUED_STREAM_WRITER_H_
#define RINGKV_HTTP_QUEUED_STREAM_WRITER_H_

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/thread_annotations.h"
#include "http/stream_writer.h"

namespace ringkv::http {

class QueuedStreamWriter final : public StreamWriter {
 public:
  QueuedStreamWriter(size_t max_bytes, std::function<void()> post_flush)
      : max_bytes_(max_bytes), post_flush_(std::move(post_flush)) {}

  bool Write(std::string data) override;
  void Close() override;
  bool closed() const override;
  void OnClose(std::function<void()> fn) override;

  // Session side: the pieces to write now, and whether the stream ends after them.
  std::vector<std::string> TakeQueued(bool* closing);
  // `bytes` of what TakeQueued returned left the process (or were dropped).
  void Written(size_t bytes);
  // The stream ended (closed, peer gone, server stopped). Idempotent.
  void MarkClosed();

 private:
  const size_t max_bytes_;
  const std::function<void()> post_flush_;
  mutable std::mutex mu_;
  std::vector<std::string> queue_ GUARDED_BY(mu_);
  size_t queued_bytes_ GUARDED_BY(mu_) = 0;  // queued or being written
  bool flush_posted_ GUARDED_BY(mu_) = false;
  bool closing_ GUARDED_BY(mu_) = false;  // Close called
  bool closed_ GUARDED_BY(mu_) = false;   // the stream ended
  std::vector<std::function<void()>> on_close_ GUARDED_BY(mu_);
};

}  // namespace ringkv::http

#endif  // RINGKV_HTTP_QUEUED_STREAM_WRITER_H_
