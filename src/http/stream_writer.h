// StreamWriter: the body of an HTTP response written over time (Server-Sent Events). A handler
// answers with HttpResponse::Stream(content_type, on_open): the server sends the head (chunked
// transfer encoding), then calls on_open with a StreamWriter through which the handler writes
// body pieces, from any thread, until it closes the stream or the client goes away.
//
// Memory: at most HttpServerOptions::max_stream_buffer_bytes wait to be written; a Write that
// would exceed it is refused (the client is not reading) and the writer should give up.
//
// Thread-safety: every method is thread-safe.
#ifndef RINGKV_HTTP_STREAM_WRITER_H_
#define RINGKV_HTTP_STREAM_WRITER_H_

#include <functional>
#include <string>

namespace ringkv::http {

class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Queues `data` for the client. False (nothing queued) once the stream is closed, or when the
  // bytes waiting would exceed the limit (a client that does not read).
  virtual bool Write(std::string data) = 0;
  // Sends what is queued, ends the response and closes the connection. Idempotent.
  virtual void Close() = 0;
  virtual bool closed() const = 0;
  // Runs `fn` once when the stream ends for any reason (Close, the client went away, the server
  // stopped), on the server's thread; at once when already closed.
  virtual void OnClose(std::function<void()> fn) = 0;
};

}  // namespace ringkv::http

#endif  // RINGKV_HTTP_STREAM_WRITER_H_
