// HTTP request/response values and the Router: path -> handler, for the admin port (health,
// metrics, status page) and the HTTP/JSON API, which share one HttpServer (http_server.h).
//
// A handler gets the parsed request and a Responder. It answers by calling the Responder
// exactly once, from any thread, now or later: a handler that needs the store posts its work
// and answers from the store's callback, so the HTTP thread never blocks on the store (and the
// admin port keeps answering while the cluster has no quorum). Handlers that compute their
// answer at once use Router::Get (a plain function returning the response).
//
// Thread-safety: add routes before HttpServer::Start; Match is then safe from any thread.
#ifndef RINGKV_HTTP_ROUTER_H_
#define RINGKV_HTTP_ROUTER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/tls.h"

namespace ringkv::http {

class StreamWriter;  // http/stream_writer.h

struct HttpRequest {
  std::string method;  // "GET", "POST", ... (upper case, as sent)
  std::string target;  // as sent: path and query, e.g. "/readyz?verbose"
  std::string path;    // target without the query, percent-decoded
  // Query parameters, percent-decoded; a key without '=' maps to "". A repeated key keeps
  // every value (e.g. /readyz?exclude=a&exclude=b).
  std::multimap<std::string, std::string> query;
  // Header names in lower case.
  std::map<std::string, std::string> headers;
  std::string body;
  std::string remote;  // "ip:port" of the peer
  // TLS with client certificates: who the client is (server/auth_rules.h Principal::From makes
  // the principal every handler that touches data must authorize). Empty otherwise.
  net::PeerIdentity peer;

  bool HasParam(const std::string& key) const { return query.count(key) > 0; }
  // The first value of `key`, or `fallback` when absent.
  std::string Param(const std::string& key, const std::string& fallback = "") const;
  // Every value of `key`, each also split at commas ("a,b" -> a, b).
  std::vector<std::string> ParamList(const std::string& key) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra headers (e.g. "Retry-After").
  std::vector<std::pair<std::string, std::string>> headers;
  // Set for a streamed answer (Stream): `body` is ignored; the head goes out with chunked
  // transfer encoding, then this runs on the server's thread with the writer of the body.
  std::function<void(std::shared_ptr<StreamWriter>)> on_stream;

  static HttpResponse Text(int status, std::string body);
  static HttpResponse Json(int status, std::string body);
  static HttpResponse Html(int status, std::string body);
  // A 200 whose body is written over time (Server-Sent Events: "text/event-stream"). The
  // connection closes when the stream ends.
  static HttpResponse Stream(std::string content_type,
                             std::function<void(std::shared_ptr<StreamWriter>)> on_open);
};

// Answers a request; call exactly once (later calls are ignored), from any thread.
using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(const HttpRequest&, Responder)>;
using SyncHandler = std::function<HttpResponse(const HttpRequest&)>;

class Router {
 public:
  // `method` "" matches any method. A `path` ending in "/*" matches that prefix and everything
  // under it ("/v1/kv/*" matches "/v1/kv/" and "/v1/kv/a/b"); other paths match exactly.
  // Later routes do not override earlier ones: the first match wins, exact routes before
  // prefix routes.
  void Handle(std::string method, std::string path, Handler handler);
  // Shorthands: GET (HEAD too) with a handler that answers at once.
  void Get(std::string path, SyncHandler handler);

  struct Match {
    const Handler* handler = nullptr;  // null: nothing matched
    bool path_known = false;           // the path matched under another method (405)
  };
  Match Find(std::string_view method, std::string_view path) const;
  // Every registered path, for the 404 page.
  std::vector<std::string> Paths() const;

 private:
  struct Route {
    std::string method;
    std::string path;  // without the trailing "*" for prefix routes
    bool prefix = false;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Percent-decodes `s` ('+' stays '+'); malformed escapes are kept as they are.
std::string PercentDecode(std::string_view s);

}  // namespace ringkv::http

#endif  // RINGKV_HTTP_ROUTER_H_
