// HttpServer: a small HTTP/1.1 server (Boost.Beast) on its own io thread, serving a Router.
// The admin port (health checks, /metrics, the status page) and the HTTP/JSON API both
// register their handlers on one instance (kvd's --listen_admin).
//
// It is off the request path of the client port and of the store's loop: it never blocks on
// them (handlers answer through a Responder, see router.h), so it keeps answering when the
// cluster has no quorum or the store's loop is stuck — a handler that does not answer within
// `handler_timeout` gets a 503 on its behalf.
//
// Limits: request head 16 KiB, body `max_body_bytes`, `max_connections` open connections
// (extra ones are closed at accept), an idle or slow connection is closed after
// `idle_timeout`. Keep-alive; one request at a time per connection. A streamed answer
// (Server-Sent Events, http/stream_writer.h) holds its connection until the stream ends, with
// at most `max_stream_buffer_bytes` unsent.
//
// The one place a listener is created (net::OpenListener) is Start(); with `tls` every accepted
// socket is wrapped in TLS there (handshake within idle_timeout; refusals logged at WARNING).
//
// Thread-safety: register routes on router() before Start(); Start/Stop from the owner thread;
// port() from any thread. Handlers run on the server's io thread and must not block.
#ifndef RINGKV_HTTP_HTTP_SERVER_H_
#define RINGKV_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "http/router.h"
#include "net/io_thread.h"
#include "net/tls.h"

namespace ringkv::http {

struct HttpServerOptions {
  // "ip:port" to listen on; port 0 lets the OS choose. Default: 127.0.0.1:0.
  std::string listen_address = "127.0.0.1:0";
  // Largest request body accepted (413 above). Default: 8 MiB.
  uint64_t max_body_bytes = uint64_t{8} << 20;
  // Open connections beyond this are closed at accept. Default: 256.
  size_t max_connections = 256;
  // A connection with no complete request for this long is closed. Default: 30 s.
  std::chrono::milliseconds idle_timeout{30000};
  // A handler that has not answered after this long is answered 503 for it. Default: 10 s.
  std::chrono::milliseconds handler_timeout{10000};
  // A streamed answer (HttpResponse::Stream) holds at most this much unsent. Default: 8 MiB.
  size_t max_stream_buffer_bytes = size_t{8} << 20;
  // Shown in logs ("admin", "api").
  std::string name = "admin";
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Router& router() { return router_; }
  // TLS (server-role credentials; null = plain HTTP, the default). With client certificates
  // (optional or required), HttpRequest::peer names the client, for handlers that authorize
  // requests. REQUIRES: before Start().
  void SetTls(std::shared_ptr<net::TlsCredentials> tls) { tls_ = std::move(tls); }

  // Binds and starts serving. Unavailable when the address cannot be bound, InvalidArgument
  // when it is malformed. REQUIRES: called once.
  Status Start();
  // Closes the listener and every connection; answers not yet sent are dropped. Idempotent.
  void Stop();

  uint16_t port() const { return port_.load(); }
  // The address actually bound ("ip:port"), after Start.
  std::string bound_address() const { return bound_address_; }

 private:
  template <class Stream>
  class Session;
  struct PostTarget;
  void DoAccept();

  const HttpServerOptions options_;
  Router router_;
  std::shared_ptr<net::TlsCredentials> tls_;  // set before Start; null = plain HTTP
  net::IoThread io_thread_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::atomic<uint16_t> port_{0};
  std::string bound_address_;
  bool started_ = false;
  // Shared with every session so that sessions outliving Stop() see it.
  std::shared_ptr<std::atomic<size_t>> connections_ = std::make_shared<std::atomic<size_t>>(0);
  std::shared_ptr<std::atomic<bool>> stopping_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<PostTarget> target_;
};

}  // namespace ringkv::http

#endif  // RINGKV_HTTP_HTTP_SERVER_H_
