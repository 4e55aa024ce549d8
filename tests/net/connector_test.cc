#include "net/connector.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace ringkv::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Linux joins a socket bound to 127.0.0.1:P and connecting to 127.0.0.1:P to itself (a TCP
// simultaneous open): what a dial to a free ephemeral port sometimes does by chance, and what
// AsyncConnect must refuse.
TEST(Connector, DetectsASocketConnectedToItself) {
  asio::io_context io;
  tcp::socket s(io);
  s.open(tcp::v4());
  s.set_option(tcp::socket::reuse_address(true));
  s.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const tcp::endpoint self = s.local_endpoint();
  boost::system::error_code ec;
  s.connect(self, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(IsSelfConnected(s));
}

TEST(Connector, AConnectionToAListenerIsNotSelfConnected) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket s(io);
  s.connect(acceptor.local_endpoint());
  EXPECT_FALSE(IsSelfConnected(s));
  tcp::socket unconnected(io);
  EXPECT_FALSE(IsSelfConnected(unconnected));
}

}  // namespace
}  // namespace ringkv::net
