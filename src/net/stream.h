// Stream: a connected TCP socket, either plain or wrapped in TLS (OpenSSL through Asio's
// ssl::stream), with one read and one write interface for both. Connection (net/connection.h)
// reads and writes frames through it without knowing which one it is; the TLS handshake that
// makes a TLS Stream is in net/tls_handshake.h.
//
// Thread-safety: as the socket: one outstanding read and one outstanding write at a time, both
// started on the socket's executor (the Connection guarantees this).
#ifndef RINGKV_NET_STREAM_H_
#define RINGKV_NET_STREAM_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "net/tls.h"

namespace ringkv::net {

// "ip:port" of a connected socket's remote end, "?" when unknown. For log lines.
std::string RemoteAddress(const boost::asio::ip::tcp::socket& socket);

class Stream {
 public:
  using TlsSocket = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  // A plain TCP stream.
  explicit Stream(boost::asio::ip::tcp::socket socket) : plain_(std::move(socket)) {}
  // A TLS stream whose handshake completed. `context` is the one `tls` was made from; the
  // stream keeps it alive.
  Stream(std::shared_ptr<TlsContext> context, std::unique_ptr<TlsSocket> tls, PeerIdentity peer)
      : context_(std::move(context)), tls_(std::move(tls)), peer_(std::move(peer)) {}
  Stream(Stream&&) = default;
  Stream& operator=(Stream&&) = default;

  // The TCP socket underneath (for endpoints, options, shutdown and close).
  boost::asio::ip::tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  bool is_tls() const { return tls_ != nullptr; }
  // What the TLS handshake proved about the remote; empty for plain streams.
  const PeerIdentity& peer() const { return peer_; }
  // "TLSv1.3", "TLSv1.2" or "plain", for log lines.
  std::string protocol() const;

  template <typename MutableBuffer, typename Handler>
  void AsyncReadSome(const MutableBuffer& buffer, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffer, std::forward<Handler>(handler));
    } else {
      plain_->async_read_some(buffer, std::forward<Handler>(handler));
    }
  }

  template <typename ConstBuffers, typename Handler>
  void AsyncWrite(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_) {
      boost::asio::async_write(*tls_, buffers, std::forward<Handler>(handler));
    } else {
      boost::asio::async_write(*plain_, buffers, std::forward<Handler>(handler));
    }
  }

 private:
  std::optional<boost::asio::ip::tcp::socket> plain_;  // set for plain streams
  std::shared_ptr<TlsContext> context_;                // TLS streams: kept alive with tls_
  std::unique_ptr<TlsSocket> tls_;                     // set for TLS streams
  PeerIdentity peer_;
};

}  // namespace ringkv::net

#endif  // RINGKV_NET_STREAM_H_
