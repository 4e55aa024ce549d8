#include "http/http_server.h"

#include <glog/logging.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <array>
#include <cstdio>
#include <mutex>
#include <type_traits>
#include <vector>

#include "http/queued_stream_writer.h"
#include "net/address.h"
#include "net/listener.h"

namespace ringkv::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

void ParseTarget(HttpRequest* r) {
  size_t q = r->target.find('?');
  r->path = PercentDecode(std::string_view(r->target).substr(0, q));
  if (q == std::string::npos) return;
  std::string_view rest = std::string_view(r->target).substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string key = PercentDecode(part.substr(0, eq));
      std::string value = eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1));
      r->query.emplace(std::move(key), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
}

}  // namespace

// Where responders post their answers: the server's io_context until Stop(), then nothing —
// a responder called late (a store callback after shutdown) must not touch a stopped server.
struct HttpServer::PostTarget {
  std::mutex mu;
  asio::io_context* io = nullptr;  // guarded by mu; null once stopped
};

// One connection: (TLS handshake,) read a request, dispatch, wait for the responder, write,
// repeat. Runs on the server's io thread only; the responder may be called from any thread and
// posts back here. `Stream` is beast::tcp_stream (plain) or beast::ssl_stream of one (TLS).
template <class Stream>
class HttpServer::Session : public std::enable_shared_from_this<HttpServer::Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(tcp::socket socket, std::shared_ptr<net::TlsContext> tls,
          const HttpServerOptions& options, const Router& router,
          std::shared_ptr<std::atomic<size_t>> connections,
          std::shared_ptr<std::atomic<bool>> stopping, std::shared_ptr<PostTarget> target)
      : tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())),
        options_(options),
        router_(router),
        connections_(std::move(connections)),
        stopping_(std::move(stopping)),
        target_(std::move(target)),
        handler_timer_(stream_.get_executor()) {
    error_code ec;
    auto ep = Lowest().socket().remote_endpoint(ec);
    if (!ec) remote_ = net::FormatHostPort(ep.address().to_string(), ep.port());
  }
  ~Session() {
    connections_->fetch_sub(1);
    if (writer_) writer_->MarkClosed();  // the server stopped with the stream open
  }

  void Start() {
    if constexpr (!kTls) {
      ReadNext();
    } else {
      Lowest().expires_after(options_.idle_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                self->OnHandshake(ec);
                              });
    }
  }

 private:
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;
  using std::enable_shared_from_this<Session<Stream>>::weak_from_this;

  static Stream MakeStream(tcp::socket socket, net::TlsContext* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), tls->ctx());
    } else {
      return Stream(std::move(socket));
    }
  }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void OnHandshake(error_code ec) {
    if constexpr (kTls) {
      if (ec) {
        // Named as OpenSSL reports it: "http request" for plain HTTP on this port, a
        // certificate check's reason when a client certificate was refused.
        std::string why = ec.message();
        const long verify = SSL_get_verify_result(stream_.native_handle());
        if (verify != X509_V_OK) why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
        if (ec != asio::error::eof && ec != asio::ssl::error::stream_truncated &&
            ec != beast::error::timeout) {
          LOG_EVERY_N(WARNING, 100) << "http: " << options_.name
                                    << " port refused TLS connection from " << remote_ << ": "
                                    << why;
        }
        return Close();
      }
      peer_ = net::IdentityOfPeer(stream_.native_handle());
    }
    ReadNext();
  }

  void ReadNext() {
    if (stopping_->load()) return Close();
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(options_.max_body_bytes);
    Lowest().expires_after(options_.idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof) {
      return Close();
    }
    if (ec) {
      // Malformed or over a limit: say so and close (the stream may be out of sync).
      int status = ec == bhttp::error::body_limit ? 413
                   : ec == bhttp::error::header_limit ? 431
                                                       : 400;
      keep_alive_ = false;
      return Write(HttpResponse::Text(status, "bad request: " + ec.message() + "\n"), 11);
    }
    Lowest().expires_never();
    auto& msg = parser_->get();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[name] = std::string(field.value());
    }
    req.body = std::move(msg.body());
    req.remote = remote_;
    req.peer = peer_;
    ParseTarget(&req);
    keep_alive_ = msg.keep_alive();
    const unsigned version = msg.version();
    head_only_ = req.method == "HEAD";
    Dispatch(req, version);
  }

  void Dispatch(const HttpRequest& req, unsigned version) {
    Router::Match m = router_.Find(req.method, req.path);
    if (m.handler == nullptr) {
      if (m.path_known) {
        HttpResponse r = HttpResponse::Text(405, "method " + req.method + " not allowed on " +
                                                     req.path + "\n");
        return Write(std::move(r), version);
      }
      std::string body = "no such path: " + req.path + "\nknown paths:\n";
      for (const auto& p : router_.Paths()) body += "  " + p + "\n";
      return Write(HttpResponse::Text(404, body), version);
    }
    // Exactly one answer wins: the handler's, or the timeout's.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    std::weak_ptr<Session> weak = weak_from_this();
    Responder respond = [weak, answered, target = target_, version](HttpResponse r) {
      if (answered->exchange(true)) return;
      // Alive here: the pending handler timer holds the session until it fires or is
      // cancelled. The posted write holds it from now on.
      auto self = weak.lock();
      if (!self) return;
      std::lock_guard<std::mutex> lock(target->mu);
      if (target->io == nullptr) return;  // the server stopped: nobody to answer
      asio::post(*target->io, [self, version, r = std::move(r)]() mutable {
        self->handler_timer_.cancel();
        self->Write(std::move(r), version);
      });
    };
    handler_timer_.expires_after(options_.handler_timeout);
    // The pending timer keeps the session alive while the handler works (the responder holds
    // only a weak reference, so a responder kept after shutdown pins nothing).
    handler_timer_.async_wait([self = shared_from_this(), respond, path = req.path](error_code ec) {
      if (ec) return;
      LOG(WARNING) << "http: handler for " << path << " did not answer in time";
      respond(HttpResponse::Text(503, "the handler for " + path + " did not answer in time\n"));
    });
    (*m.handler)(req, std::move(respond));
  }

  void Write(HttpResponse r, unsigned version) {
    if (r.on_stream) return StartStream(std::move(r), version);
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), version);
    res->set(bhttp::field::server, "ringkv");
    res->set(bhttp::field::content_type, r.content_type);
    res->set(bhttp::field::cache_control, "no-store");
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive_);
    const size_t body_size = r.body.size();
    if (!head_only_) res->body() = std::move(r.body);
    res->content_length(body_size);
    Lowest().expires_after(options_.idle_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](error_code ec, size_t) {
                         if (ec || !self->keep_alive_) return self->Close();
                         self->ReadNext();
                       });
  }

  // A streamed answer: the head with chunked encoding, then the writer's pieces as chunks until
  // it closes (last chunk, then close) or the peer goes away (a read completes with an error).
  void StartStream(HttpResponse r, unsigned version) {
    keep_alive_ = false;
    auto head = std::make_shared<bhttp::response<bhttp::empty_body>>(
        static_cast<bhttp::status>(r.status), version);
    head->set(bhttp::field::server, "ringkv");
    head->set(bhttp::field::content_type, r.content_type);
    head->set(bhttp::field::cache_control, "no-store");
    for (const auto& [k, v] : r.headers) head->set(k, v);
    head->chunked(true);
    head->keep_alive(false);
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*head);
    std::weak_ptr<Session> weak = weak_from_this();
    writer_ = std::make_shared<QueuedStreamWriter>(
        options_.max_stream_buffer_bytes, [weak, target = target_] {
          auto self = weak.lock();
          if (!self) return;
          std::lock_guard<std::mutex> lock(target->mu);
          if (target->io == nullptr) return;
          asio::post(*target->io, [self] { self->Flush(); });
        });
    Lowest().expires_never();  // a stream lives as long as its writer or its peer
    bhttp::async_write_header(
        stream_, *sr,
        [self = shared_from_this(), head, sr, on_open = std::move(r.on_stream)](error_code ec,
                                                                                 size_t) {
          if (ec) {
            self->writer_->MarkClosed();
            return self->Close();
          }
          self->WatchPeer();
          on_open(self->writer_);
        });
  }

  // The peer sends nothing on a stream; a read completes only when it goes away.
  void WatchPeer() {
    stream_.async_read_some(asio::buffer(peer_buf_),
                            [self = shared_from_this()](error_code ec, size_t) {
                              if (!ec) return self->WatchPeer();
                              self->writer_->MarkClosed();
                              self->Close();
                            });
  }

  void Flush() {
    if (writing_ || !writer_ || closed_) return;
    bool closing = false;
    std::vector<std::string> pieces = writer_->TakeQueued(&closing);
    if (pieces.empty() && !closing) return;
    auto out = std::make_shared<std::string>();
    size_t bytes = 0;
    for (const std::string& p : pieces) {
      bytes += p.size();
      if (p.empty()) continue;  // an empty chunk would end the body
      char size[20];
      std::snprintf(size, sizeof(size), "%zx\r\n", p.size());
      *out += size;
      *out += p;
      *out += "\r\n";
    }
    if (closing) *out += "0\r\n\r\n";
    writing_ = true;
    asio::async_write(stream_, asio::buffer(*out),
                      [self = shared_from_this(), out, bytes, closing](error_code ec, size_t) {
                        self->writing_ = false;
                        self->writer_->Written(bytes);
                        if (ec || closing) {
                          self->writer_->MarkClosed();
                          return self->Close();
                        }
                        self->Flush();  // what was queued meanwhile
                      });
  }

  void Close() {
    closed_ = true;
    error_code ignored;
    // No TLS close_notify: HTTP messages carry their length, and a close must not wait.
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().socket().close(ignored);
    handler_timer_.cancel();
  }

  std::shared_ptr<net::TlsContext> tls_;  // TLS sessions: outlives stream_ (declared first)
  Stream stream_;
  net::PeerIdentity peer_;                // TLS: the client certificate's identity, if any
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  const HttpServerOptions& options_;
  const Router& router_;
  std::shared_ptr<std::atomic<size_t>> connections_;
  std::shared_ptr<std::atomic<bool>> stopping_;
  std::shared_ptr<PostTarget> target_;
  asio::steady_timer handler_timer_;
  std::string remote_;
  bool keep_alive_ = true;
  bool head_only_ = false;
  // A streamed answer's writer (null otherwise), whether a chunk write is in flight, and
  // whether the connection was closed.
  std::shared_ptr<QueuedStreamWriter> writer_;
  bool writing_ = false;
  bool closed_ = false;
  std::array<char, 512> peer_buf_{};
};

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)),
      io_thread_("ringkv-http-" + options_.name),
      target_(std::make_shared<PostTarget>()) {
  target_->io = &io_thread_.io();
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  CHECK(!started_) << "HttpServer::Start called twice";
  auto hp = net::OpenListener(io_thread_.io(), options_.listen_address, &acceptor_);
  if (!hp.ok()) return hp.status();
  port_ = hp->port;
  bound_address_ = net::FormatHostPort(hp->host, hp->port);
  started_ = true;
  LOG(INFO) << "http: " << options_.name << " port listening on " << bound_address_
            << (tls_ != nullptr ? " (TLS)" : " (plain HTTP)");
  io_thread_.Start();
  asio::post(io_thread_.io(), [this] { DoAccept(); });
  return Status::OK();
}

void HttpServer::Stop() {
  if (!started_) return;
  started_ = false;
  stopping_->store(true);
  {
    std::lock_guard<std::mutex> lock(target_->mu);
    target_->io = nullptr;
  }
  io_thread_.RunSync([this] {
    error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
  });
  // Stopping the io_context drops every pending handler, and with them the sessions.
  io_thread_.Stop();
}

void HttpServer::DoAccept() {
  if (stopping_->load()) return;
  acceptor_->async_accept(io_thread_.io(), [this](const error_code& ec, tcp::socket socket) {
    if (stopping_->load() || ec == asio::error::operation_aborted) return;
    if (ec) {
      LOG(WARNING) << "http: " << options_.name << " accept failed: " << ec.message();
    } else if (connections_->load() >= options_.max_connections) {
      LOG_EVERY_N(WARNING, 100) << "http: " << options_.name << " port has "
                                << options_.max_connections
                                << " connections (the limit); closing a new one";
      error_code ignored;
      socket.close(ignored);
    } else {
      connections_->fetch_add(1);
      if (tls_ != nullptr) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
            std::move(socket), tls_->Current(), options_, router_, connections_,
            stopping_, target_)
            ->Start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(std::move(socket), nullptr, options_,
                                                     router_, connections_, stopping_, target_)
            ->Start();
      }
    }
    DoAccept();
  });
}

}  // namespace ringkv::http
