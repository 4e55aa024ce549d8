#include "net/connector.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "net/address.h"

namespace ringkv::net {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// One dial attempt; kept alive by the handlers that reference it.
struct Dial : std::enable_shared_from_this<Dial> {
  Dial(const asio::any_io_executor& ex, ConnectCallback cb)
      : resolver(ex), socket(ex), timer(ex), done(std::move(cb)) {}

  void Finish(Status s) {
    if (finished) return;
    finished = true;
    timer.cancel();
    resolver.cancel();
    error_code ignored;
    if (!s.ok()) socket.close(ignored);
    done(std::move(s), std::move(socket));
  }

  void ConnectTo(const tcp::endpoint& ep) {
    error_code ec;
    socket.open(ep.protocol(), ec);
    if (ec) return Finish(Status::Unavailable("socket: " + ec.message()));
    if (!local_host.empty()) {
      error_code parse_ec;
      auto local = asio::ip::make_address(local_host, parse_ec);
      if (!parse_ec && !local.is_unspecified() && local.is_v4() == ep.address().is_v4()) {
        socket.bind(tcp::endpoint(local, 0), ec);
        if (ec) {
          return Finish(Status::Unavailable("bind to " + local_host + ": " + ec.message()));
        }
      }
    }
    socket.async_connect(ep, [self = shared_from_this()](const error_code& ec) {
      if (self->finished) return;
      if (ec) {
        return self->Finish(
            Status::Unavailable("connect to " + self->address + ": " + ec.message()));
      }
      if (IsSelfConnected(self->socket)) {  // see connector.h; seen in integ_multiraft_heal_test
        return self->Finish(Status::Unavailable("connect to " + self->address +
                                                ": connected to itself (nothing listens there)"));
      }
      self->Finish(Status::OK());
    });
  }

  tcp::resolver resolver;
  tcp::socket socket;
  asio::steady_timer timer;
  ConnectCallback done;
  std::string address;
  std::string local_host;
  bool finished = false;
};

}  // namespace

bool IsSelfConnected(const tcp::socket& socket) {
  error_code local_ec, remote_ec;
  const tcp::endpoint local = socket.local_endpoint(local_ec);
  const tcp::endpoint remote = socket.remote_endpoint(remote_ec);
  return !local_ec && !remote_ec && local == remote;
}

void AsyncConnect(const asio::any_io_executor& executor, const std::string& address,
                  const std::string& local_host, std::chrono::milliseconds timeout,
                  ConnectCallback done) {
  auto dial = std::make_shared<Dial>(executor, std::move(done));
  dial->address = address;
  dial->local_host = local_host;
  asio::post(executor, [dial, timeout] {
    auto hp = ParseHostPort(dial->address);
    if (!hp.ok()) return dial->Finish(hp.status());
    dial->timer.expires_after(timeout);
    dial->timer.async_wait([dial](const error_code& ec) {
      if (ec || dial->finished) return;
      dial->Finish(Status::DeadlineExceeded("connect to " + dial->address + " timed out"));
    });
    error_code ec;
    auto ip = asio::ip::make_address(hp->host, ec);
    if (!ec) return dial->ConnectTo(tcp::endpoint(ip, hp->port));
    dial->resolver.async_resolve(
        hp->host, std::to_string(hp->port),
        [dial](const error_code& ec, tcp::resolver::results_type results) {
          if (dial->finished) return;
          if (ec || results.empty()) {
            return dial->Finish(Status::Unavailable("resolve " + dial->address + ": " +
                                                    (ec ? ec.message() : "no addresses")));
          }
          dial->ConnectTo(results.begin()->endpoint());
        });
  });
}

}  // namespace ringkv::net
