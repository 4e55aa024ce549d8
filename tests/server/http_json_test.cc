// The HTTP/JSON API's pure parts: bytes as UTF-8 or base64, lease ids, the transaction body.
// (How an outcome becomes a status code: health_test.cc, HttpErrorsTest.)
#include "server/http_json.h"

#include <gtest/gtest.h>

#include "testutil/status_matchers.h"

namespace ringkv::server {
namespace {

using nlohmann::json;

TEST(HttpJsonTest, BytesAreUtf8OrFlaggedBase64) {
  json j = json::object();
  SetBytes(j, "key", "héllo");
  SetBytes(j, "value", std::string("\x00\xff\x80", 3));
  EXPECT_EQ(j["key"], "héllo");
  EXPECT_FALSE(j.contains("value"));
  EXPECT_EQ(j["value_b64"], "AP+A");
  auto v = GetBytes(j, "value", true);
  ASSERT_OK(v);
  EXPECT_EQ(*v, std::string("\x00\xff\x80", 3));
  EXPECT_TRUE(GetBytes(j, "missing", true).status().IsInvalidArgument());
  EXPECT_EQ(*GetBytes(j, "missing", false), "");
  // Overlong encodings and surrogates are not UTF-8 (the JSON writer would refuse them).
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\1\2\3\4", 5)}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_OK(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_TRUE(Base64Decode("a===").status().IsInvalidArgument());
  EXPECT_TRUE(Base64Decode("abc").status().IsInvalidArgument());
}

TEST(HttpJsonTest, LeaseIds) {
  EXPECT_EQ(LeaseHex(0x30000000005ull), "0000030000000005");
  EXPECT_EQ(*ParseLeaseHex("0000030000000005"), 0x30000000005ull);
  EXPECT_TRUE(ParseLeaseHex("xyz").status().IsInvalidArgument());
  EXPECT_TRUE(ParseLeaseHex("0").status().IsInvalidArgument());
}

TEST(HttpJsonTest, TransactionBody) {
  auto t = ParseTxnJson(R"({"compare": [{"key": "k", "target": "value", "op": "!=", "value": "x"},
                                        {"key": "k", "target": "version", "op": ">", "version": 3}],
                            "success": [{"put": {"key": "k", "value_b64": "AP8=", "lease": "0a"}},
                                        {"get": {"key": "k"}}],
                            "failure": [{"delete": {"key": "k"}}]})");
  ASSERT_OK(t);
  ASSERT_EQ(t->compare.size(), 2u);
  EXPECT_EQ(t->compare[0].op, client::Compare::Op::kNotEqual);
  EXPECT_EQ(t->compare[1].version, 3u);
  EXPECT_EQ(t->success[0].value, std::string("\x00\xff", 2));
  EXPECT_EQ(t->success[0].lease, 10u);
  EXPECT_EQ(t->failure[0].kind, client::TxnOp::Kind::kDelete);
  EXPECT_TRUE(ParseTxnJson("[]").status().IsInvalidArgument());
  EXPECT_TRUE(ParseTxnJson(R"({"success": [{"put": {}}]})").status().IsInvalidArgument());
  EXPECT_TRUE(ParseTxnJson(R"({"compare": [{"key": "k", "op": "~"}]})").status().IsInvalidArgument());
}

}  // namespace
}  // namespace ringkv::server
