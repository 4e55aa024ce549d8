#include "net/listener.h"

namespace ringkv::net {

Result<HostPort> OpenListener(boost::asio::io_context& io, const std::string& address,
                              std::optional<boost::asio::ip::tcp::acceptor>* acceptor) {
  namespace asio = boost::asio;
  using asio::ip::tcp;
  auto hp = ParseHostPort(address);
  if (!hp.ok()) return hp.status();
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(hp->host, ec);
  if (ec) return Status::InvalidArgument("listen host must be a literal IP: " + hp->host);
  tcp::endpoint ep(ip, hp->port);
  acceptor->emplace(io);
  (*acceptor)->open(ep.protocol(), ec);
  if (!ec) (*acceptor)->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) (*acceptor)->bind(ep, ec);
  if (!ec) (*acceptor)->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor->reset();
    return Status::Unavailable("listen on " + address + ": " + ec.message());
  }
  HostPort bound = *hp;
  bound.port = (*acceptor)->local_endpoint().port();
  return bound;
}

}  // namespace ringkv::net
