#include "integration/http_get.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ringkv::integration {

Result<HttpAnswer> HttpGet(uint16_t port, const std::string& target,
                           std::chrono::milliseconds timeout, const std::string& method,
                           const std::string& body) {
  namespace beast = boost::beast;
  namespace bhttp = boost::beast::http;
  namespace asio = boost::asio;
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(timeout);
  boost::system::error_code ec;
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return Status::Unavailable("connect to admin port " + std::to_string(port) + ": " + ec.message());
  bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
  req.set(bhttp::field::host, "127.0.0.1");
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req, ec);
  if (ec) return Status::Unavailable("write: " + ec.message());
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buf, res, ec);
  if (ec == beast::error::timeout) return Status::DeadlineExceeded("no answer to " + target);
  if (ec) return Status::Unavailable("read: " + ec.message());
  HttpAnswer a;
  a.status = res.result_int();
  a.content_type = std::string(res[bhttp::field::content_type]);
  a.body = res.body();
  return a;
}

}  // namespace ringkv::integration
