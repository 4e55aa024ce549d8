// Unit tests of the pure frame codec: round trips, arbitrary splits, and every way a stream can
// be broken (truncated, oversized, corrupted, garbage).
#include "net/frame.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/coding.h"
#include "testutil/status_matchers.h"

namespace ringkv::net {
namespace {

// Feeds `bytes` and collects every frame until the decoder needs more input or fails.
Status DrainInto(FrameDecoder* d, std::vector<std::string>* out) {
  while (true) {
    auto next = d->Next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) return Status::OK();
    out->push_back(std::move(**next));
  }
}

TEST(FrameTest, EncodeLayoutIsLengthCrcPayload) {
  std::string f = EncodeFrame("123456789");
  ASSERT_EQ(f.size(), kFrameHeaderSize + 9);
  EXPECT_EQ(DecodeFixed32BE(f.data()), 9u);
  EXPECT_EQ(DecodeFixed32BE(f.data() + 4), 0xE3069283u);  // CRC-32C check value
  EXPECT_EQ(f.substr(8), "123456789");
}

TEST(FrameTest, RoundTripsSeveralFramesInOneFeed) {
  std::string stream = EncodeFrame("a") + EncodeFrame("") + EncodeFrame(std::string(1000, 'x'));
  FrameDecoder d;
  d.Feed(stream);
  std::vector<std::string> got;
  ASSERT_OK(DrainInto(&d, &got));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "a");
  EXPECT_EQ(got[1], "");
  EXPECT_EQ(got[2], std::string(1000, 'x'));
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

TEST(FrameTest, ByteAtATimeFeedYieldsSameFrames) {
  std::string stream = EncodeFrame("hello") + EncodeFrame("world!");
  FrameDecoder d;
  std::vector<std::string> got;
  for (char c : stream) {
    d.Feed(std::string_view(&c, 1));
    ASSERT_OK(DrainInto(&d, &got));
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "hello");
  EXPECT_EQ(got[1], "world!");
}

TEST(FrameTest, RandomSplitsYieldSameFrames) {
  std::mt19937_64 rng(::testing::UnitTest::GetInstance()->random_seed());
  std::vector<std::string> want;
  std::string stream;
  for (int i = 0; i < 200; ++i) {
    std::string p(rng() % 300, '\0');
    for (char& c : p) c = static_cast<char>(rng());
    stream += EncodeFrame(p);
    want.push_back(std::move(p));
  }
  FrameDecoder d;
  std::vector<std::string> got;
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t n = std::min<size_t>(stream.size() - pos, 1 + rng() % 700);
    d.Feed(std::string_view(stream).substr(pos, n));
    pos += n;
    ASSERT_OK(DrainInto(&d, &got));
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

TEST(FrameTest, TruncatedFrameWaitsAndReportsBufferedBytes) {
  std::string f = EncodeFrame("truncated payload");
  FrameDecoder d;
  d.Feed(std::string_view(f).substr(0, f.size() - 3));
  std::vector<std::string> got;
  ASSERT_OK(DrainInto(&d, &got));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(d.buffered_bytes(), f.size() - 3);  // the caller sees a truncated frame at EOF
  d.Feed(std::string_view(f).substr(f.size() - 3));
  ASSERT_OK(DrainInto(&d, &got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "truncated payload");
}

TEST(FrameTest, HeaderOnlyIsIncomplete) {
  FrameDecoder d;
  d.Feed(EncodeFrame("xyz").substr(0, 5));
  auto next = d.Next();
  ASSERT_OK(next);
  EXPECT_FALSE(next->has_value());
}

TEST(FrameTest, OversizedFrameIsResourceExhaustedAssoonAsHeaderArrives) {
  FrameDecoder d(/*max_frame_size=*/16);
  std::string f = EncodeFrame(std::string(17, 'x'));
  d.Feed(f.substr(0, kFrameHeaderSize));  // payload has not arrived: still rejected
  auto next = d.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(next.status().message().find("17"), std::string_view::npos);
}

TEST(FrameTest, SkippedOversizedFrameYieldsItsPrefixAndTheStreamGoesOn) {
  FrameDecoder d(/*max_frame_size=*/16);
  d.set_skip_oversized(true);
  const std::string big(1000, 'b');
  const std::string stream = EncodeFrame("before") + EncodeFrame(big) + EncodeFrame("after");
  std::vector<std::string> frames;
  std::vector<uint64_t> oversized;
  // Fed 7 bytes at a time: the skip spans many feeds.
  for (size_t at = 0; at < stream.size(); at += 7) {
    d.Feed(stream.substr(at, 7));
    while (true) {
      auto next = d.Next();
      ASSERT_OK(next);
      if (!next->has_value()) break;
      frames.push_back(**next);
      oversized.push_back(d.last_oversized_length());
    }
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], "before");
  EXPECT_EQ(frames[1], big.substr(0, FrameDecoder::kOversizedPrefixBytes));
  EXPECT_EQ(frames[2], "after");
  EXPECT_EQ(oversized, (std::vector<uint64_t>{0, 1000, 0}));
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

TEST(FrameTest, SkippedOversizedFrameShorterThanThePrefixIsWhole) {
  FrameDecoder d(/*max_frame_size=*/4);
  d.set_skip_oversized(true);
  d.Feed(EncodeFrame("0123456789"));
  auto next = d.Next();
  ASSERT_OK(next);
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ(**next, "0123456789");
  EXPECT_EQ(d.last_oversized_length(), 10u);
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

TEST(FrameTest, FrameOfExactlyMaxIsAccepted) {
  FrameDecoder d(16);
  d.Feed(EncodeFrame(std::string(16, 'y')));
  auto next = d.Next();
  ASSERT_OK(next);
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ(**next, std::string(16, 'y'));
}

TEST(FrameTest, CrcMismatchIsCorruption) {
  std::string f = EncodeFrame("payload");
  f.back() ^= 0x01;
  FrameDecoder d;
  d.Feed(f);
  auto next = d.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE(next.status().IsCorruption()) << next.status();
}

TEST(FrameTest, ErrorsAreSticky) {
  std::string bad = EncodeFrame("payload");
  bad[5] ^= 0x40;  // corrupt the crc
  FrameDecoder d;
  d.Feed(bad);
  ASSERT_FALSE(d.Next().ok());
  d.Feed(EncodeFrame("good"));  // a valid frame after the error does not revive the stream
  auto next = d.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE(next.status().IsCorruption());
}

TEST(FrameTest, GarbageIsRejected) {
  // Text as a header announces ~2 GB: over any maximum. (HTTP is named as such, below.)
  FrameDecoder d;
  d.Feed("xyzw: some text\r\n\r\n");
  auto next = d.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kResourceExhausted);

  // A small length with a wrong checksum.
  FrameDecoder d2;
  std::string g;
  PutFixed32BE(&g, 4);
  PutFixed32BE(&g, 0xDEADBEEF);
  g += "abcd";
  d2.Feed(g);
  auto next2 = d2.Next();
  ASSERT_FALSE(next2.ok());
  EXPECT_TRUE(next2.status().IsCorruption());
}

}  // namespace
}  // namespace ringkv::net

namespace ringkv::net {
namespace {

// curl on a RingKV port (issue 14): named as HTTP, not as a frame of 1,195,725,856 bytes.
TEST(FrameTest, HttpAndTlsOnARingkvPortAreNamed) {
  FrameDecoder d;
  d.Feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = d.Next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not a RingKV frame: the peer speaks HTTP (\"GET ...\")"),
            std::string_view::npos)
      << r.status().ToString();
  FrameDecoder tls;
  tls.Feed(std::string("\x16\x03\x01\x02\x00\x01\x00\x01", 8));
  EXPECT_NE(tls.Next().status().message().find("TLS"), std::string_view::npos);
}

}  // namespace
}  // namespace ringkv::net
