#include "server/json_log_sink.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ringkv::server {
namespace {

TEST(JsonLogSinkTest, OneParsableObjectPerLineWithEveryField) {
  struct ::tm t {};
  t.tm_year = 126;
  t.tm_mon = 11;
  t.tm_mday = 5;
  t.tm_hour = 21;
  t.tm_min = 55;
  t.tm_sec = 9;
  std::string line = JsonLogSink::Format(3, google::GLOG_WARNING, "node.cc", 42, &t, 123,
                                         "slow request \"a\"\nsecond line \xff");
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // the message's newline is escaped
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], "2026-12-05T21:55:09.000123Z");
  EXPECT_EQ(j["level"], "WARNING");
  EXPECT_EQ(j["node"], 3);
  EXPECT_EQ(j["file"], "node.cc");
  EXPECT_EQ(j["line"], 42);
  EXPECT_EQ(j["msg"].get<std::string>().substr(0, 17), "slow request \"a\"\n");
}

}  // namespace
}  // namespace ringkv::server
