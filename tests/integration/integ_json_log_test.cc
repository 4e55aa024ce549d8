// kvd --log_format=json: every line a node writes, from start to graceful stop, is one JSON
// object with ts, level, node, file, line and msg.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

TEST(JsonLogTest, EveryLineIsAJsonObject) {
  TestClusterOptions o;
  o.nodes = 1;
  o.extra_flags = {"--log_format=json"};
  TestCluster cluster(o);
  ASSERT_OK(cluster.StartAll());
  ASSERT_TRUE(cluster.WaitForLeader().ok());
  ASSERT_OK(cluster.client().Put("k", "v"));
  EXPECT_EQ(cluster.Stop(1), 0);
  std::istringstream log(cluster.process(1).ReadLog());
  std::string line;
  int lines = 0;
  bool config = false, stopped = false;
  while (std::getline(log, line)) {
    ++lines;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << "not JSON: " << line;
    for (const char* field : {"ts", "level", "node", "file", "line", "msg"}) {
      EXPECT_TRUE(j.contains(field)) << field << " missing: " << line;
    }
    EXPECT_EQ(j["node"], 1);
    const std::string msg = j["msg"];
    config = config || msg.find("effective configuration") != std::string::npos;
    stopped = stopped || msg.find("kvd stopped") != std::string::npos;
  }
  EXPECT_GT(lines, 3);
  EXPECT_TRUE(config);
  EXPECT_TRUE(stopped);
}

}  // namespace
}  // namespace ringkv::integration
