// Byte-safe output helpers of kvctl (tools/kvctl/format.h).
#include "format.h"

#include <gtest/gtest.h>

#include "testutil/status_matchers.h"

namespace ringkv::kvctl {
namespace {

using namespace std::string_literals;

TEST(EscapeTest, PrintableAsIsOthersEscaped) {
  EXPECT_EQ(Escape("hello world"), "hello world");
  EXPECT_EQ(Escape("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(Escape("back\\slash"), "back\\\\slash");
  EXPECT_EQ(Escape("\x00\x01\x7f"s), "\\x00\\x01\\x7f");
  EXPECT_EQ(Escape("h\xc3\xa9llo"), "h\xc3\xa9llo");         // valid UTF-8 é stays
  EXPECT_EQ(Escape("\xff\xfe"), "\\xff\\xfe");                // invalid UTF-8
  EXPECT_EQ(Escape("\xc3"), "\\xc3");                         // truncated sequence
  EXPECT_EQ(Escape("\xc2\x85"), "\\xc2\\x85");                // C1 control U+0085
  EXPECT_EQ(Escape("\xc0\xaf"), "\\xc0\\xaf");                // overlong '/'
  EXPECT_EQ(Escape("\xed\xa0\x80"), "\\xed\\xa0\\x80");       // surrogate
  EXPECT_EQ(Escape(""), "");
}

TEST(HexTest, EveryByte) {
  EXPECT_EQ(Hex("\x00\xff" "a"s), "00ff61");
  EXPECT_EQ(Show("\n", true), "0a");
  EXPECT_EQ(Show("\n", false), "\\n");
}

TEST(Utf8Test, Validity) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));      // €
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));  // emoji
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64("\xff\x00"s), "/wA=");
}

TEST(JsonBytesTest, Utf8OrB64) {
  nlohmann::json j = nlohmann::json::object();
  SetBytes(j, "key", "k\xc3\xa9");
  SetBytes(j, "value", "\xff\x00"s);
  EXPECT_EQ(j.dump(), R"({"key":"ké","value_b64":"/wA="})");
}

TEST(TableTest, RendersAlignedColumns) {
  EXPECT_EQ(RenderTable({"KEY", "VERSION"}, {{"a", "1"}, {"long-key", "12"}}),
            "+----------+---------+\n"
            "| KEY      | VERSION |\n"
            "+----------+---------+\n"
            "| a        | 1       |\n"
            "| long-key | 12      |\n"
            "+----------+---------+\n");
}

TEST(PrefixEndTest, IncrementsLastNonFfByte) {
  EXPECT_EQ(PrefixEnd("abc"), "abd");
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd("\xff\xff"), "");
  EXPECT_EQ(PrefixEnd(""), "");
}

TEST(DurationTest, UnitsAndErrors) {
  EXPECT_EQ(*ParseDuration("2s"), std::chrono::milliseconds(2000));
  EXPECT_EQ(*ParseDuration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseDuration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(*ParseDuration("3"), std::chrono::milliseconds(3000));
  EXPECT_EQ(*ParseDuration("1m"), std::chrono::milliseconds(60000));
  EXPECT_EQ(ParseDuration("abc").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDuration("5 parsecs").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDuration("-1s").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ringkv::kvctl
