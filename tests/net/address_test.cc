// Tests of host:port parsing and formatting.
#include "net/address.h"

#include <gtest/gtest.h>

#include "testutil/status_matchers.h"

namespace ringkv::net {
namespace {

TEST(AddressTest, ParsesV4NameAndV6) {
  auto a = ParseHostPort("127.0.0.1:7000");
  ASSERT_OK(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7000);
  auto b = ParseHostPort("node-1.example:0");
  ASSERT_OK(b);
  EXPECT_EQ(b->host, "node-1.example");
  EXPECT_EQ(b->port, 0);
  auto c = ParseHostPort("[::1]:65535");
  ASSERT_OK(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 65535);
}

TEST(AddressTest, RejectsMalformed) {
  for (const char* bad :
       {"", "host", ":80", "host:", "host:65536", "host:8x", "::1:80", "[::1]", "[::1]80"}) {
    auto r = ParseHostPort(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_TRUE(r.status().IsInvalidArgument()) << bad;
    }
  }
}

TEST(AddressTest, FormatRoundTrips) {
  EXPECT_EQ(FormatHostPort("10.0.0.1", 5), "10.0.0.1:5");
  EXPECT_EQ(FormatHostPort("::1", 80), "[::1]:80");
  auto r = ParseHostPort(FormatHostPort("::1", 80));
  ASSERT_OK(r);
  EXPECT_EQ(r->host, "::1");
}

}  // namespace
}  // namespace ringkv::net
