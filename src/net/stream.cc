#include "net/stream.h"

#include <openssl/ssl.h>

namespace ringkv::net {

std::string RemoteAddress(const boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  return ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

std::string Stream::protocol() const {
  if (!tls_) return "plain";
  return SSL_get_version(const_cast<TlsSocket&>(*tls_).native_handle());
}

}  // namespace ringkv::net
