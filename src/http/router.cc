#include "http/router.h"

namespace ringkv::http {

std::string HttpRequest::Param(const std::string& key, const std::string& fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

std::vector<std::string> HttpRequest::ParamList(const std::string& key) const {
  std::vector<std::string> out;
  auto [lo, hi] = query.equal_range(key);
  for (auto it = lo; it != hi; ++it) {
    size_t pos = 0;
    while (pos <= it->second.size()) {
      size_t comma = it->second.find(',', pos);
      if (comma == std::string::npos) comma = it->second.size();
      if (comma > pos) out.push_back(it->second.substr(pos, comma - pos));
      pos = comma + 1;
    }
  }
  return out;
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Html(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Stream(std::string content_type,
                                  std::function<void(std::shared_ptr<StreamWriter>)> on_open) {
  HttpResponse r;
  r.status = 200;
  r.content_type = std::move(content_type);
  r.on_stream = std::move(on_open);
  return r;
}

void Router::Handle(std::string method, std::string path, Handler handler) {
  Route r;
  r.method = std::move(method);
  r.prefix = path.size() >= 2 && path.compare(path.size() - 2, 2, "/*") == 0;
  if (r.prefix) path.pop_back();
  r.path = std::move(path);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::Get(std::string path, SyncHandler handler) {
  Handle("GET", std::move(path), [h = std::move(handler)](const HttpRequest& req, Responder done) {
    done(h(req));
  });
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match m;
  auto method_ok = [&](const Route& r) {
    return r.method.empty() || r.method == method || (r.method == "GET" && method == "HEAD");
  };
  for (bool prefix : {false, true}) {
    for (const Route& r : routes_) {
      if (r.prefix != prefix) continue;
      bool path_ok = prefix ? path.substr(0, r.path.size()) == r.path : path == r.path;
      if (!path_ok) continue;
      if (!method_ok(r)) {
        m.path_known = true;
        continue;
      }
      m.handler = &r.handler;
      return m;
    }
  }
  return m;
}

std::vector<std::string> Router::Paths() const {
  std::vector<std::string> out;
  for (const Route& r : routes_) out.push_back(r.prefix ? r.path + "*" : r.path);
  return out;
}

std::string PercentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace ringkv::http
