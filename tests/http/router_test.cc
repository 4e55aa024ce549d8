#include "http/router.h"

#include <gtest/gtest.h>

namespace ringkv::http {
namespace {

Handler Named(std::string* hit, std::string name) {
  return [hit, name](const HttpRequest&, Responder) { *hit = name; };
}

TEST(RouterTest, ExactBeforePrefixAndMethods) {
  Router r;
  std::string hit;
  r.Handle("", "/v1/kv/*", Named(&hit, "prefix"));
  r.Handle("GET", "/v1/kv/special", Named(&hit, "exact"));
  r.Handle("POST", "/only-post", Named(&hit, "post"));

  auto m = r.Find("GET", "/v1/kv/special");
  ASSERT_NE(m.handler, nullptr);
  (*m.handler)(HttpRequest{}, nullptr);
  EXPECT_EQ(hit, "exact");

  m = r.Find("PUT", "/v1/kv/a/b");
  ASSERT_NE(m.handler, nullptr);
  (*m.handler)(HttpRequest{}, nullptr);
  EXPECT_EQ(hit, "prefix");

  m = r.Find("GET", "/only-post");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_known);

  m = r.Find("GET", "/nothing");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_FALSE(m.path_known);
  EXPECT_EQ(r.Paths(), (std::vector<std::string>{"/v1/kv/*", "/v1/kv/special", "/only-post"}));
}

TEST(RouterTest, HeadMatchesGet) {
  Router r;
  r.Get("/livez", [](const HttpRequest&) { return HttpResponse::Text(200, "ok"); });
  EXPECT_NE(r.Find("HEAD", "/livez").handler, nullptr);
  EXPECT_EQ(r.Find("POST", "/livez").handler, nullptr);
}

TEST(RouterTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(PercentDecode("%00"), std::string(1, '\0'));
}

TEST(RouterTest, ParamList) {
  HttpRequest req;
  req.query.emplace("exclude", "a,b");
  req.query.emplace("exclude", "c");
  req.query.emplace("verbose", "");
  EXPECT_EQ(req.ParamList("exclude"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(req.HasParam("verbose"));
  EXPECT_EQ(req.Param("missing", "x"), "x");
}

}  // namespace
}  // namespace ringkv::http
