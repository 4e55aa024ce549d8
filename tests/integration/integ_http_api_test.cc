// The HTTP/JSON API against real kvd processes, through curl and through a small client in
// Python's standard library (tests/integration/http_api_client.py): REST on keys with CAS,
// prefix listing, transactions, leases, a watch as Server-Sent Events, the status codes, any
// node answering any key (it proxies to the shard's leader), and 429 + Retry-After when the
// API's admission control sheds.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/kvctl_run.h"
#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

class HttpApiTest : public ::testing::Test {
 protected:
  explicit HttpApiTest(TestClusterOptions options = {}) : cluster_(std::move(options)) {}

  void SetUp() override {
    if (RunShell("command -v curl").exit_code != 0) GTEST_SKIP() << "curl is not installed";
    ASSERT_OK(cluster_.StartAll());
    auto leader = cluster_.WaitForLeader();
    ASSERT_TRUE(leader.ok()) << leader.status().ToString();
    // The API's own client connects once the node serves its client port.
    ASSERT_TRUE(WaitUntil(
        [&] {
          return RunShell(Curl(1, "-o /dev/null -w '%{http_code}' " + Url(1, "/v1/kv/probe"))).out ==
                 "404";
        },
        20s));
  }

  std::string Url(int node, const std::string& path) {
    return "'http://" + cluster_.admin_address(node) + path + "'";
  }
  static std::string Curl(int, const std::string& args) { return "curl -s --max-time 10 " + args; }

  TestCluster cluster_;
};

TEST_F(HttpApiTest, CurlPutGetCasDeleteAndStatusCodes) {
  // Written through node 1, read through node 3: any node answers any key.
  ShellRun put = RunShell(Curl(1, "-X PUT --data-binary 'hello' " + Url(1, "/v1/kv/greeting")));
  ASSERT_EQ(put.exit_code, 0);
  auto v = nlohmann::json::parse(put.out, nullptr, false);
  ASSERT_TRUE(v.contains("version")) << put.out;
  const uint64_t version = v["version"];
  ShellRun get = RunShell(Curl(3, Url(3, "/v1/kv/greeting")));
  auto kv = nlohmann::json::parse(get.out, nullptr, false);
  EXPECT_EQ(kv["value"], "hello") << get.out;
  EXPECT_EQ(kv["version"], version);

  auto code = [&](const std::string& args) {
    return RunShell(Curl(1, "-o /dev/null -w '%{http_code}' " + args)).out;
  };
  EXPECT_EQ(code(Url(1, "/v1/kv/nothing-here")), "404");
  EXPECT_EQ(code("-X PUT -H 'If-Match: 1' --data-binary x " + Url(1, "/v1/kv/greeting")), "409");
  EXPECT_EQ(code("-X PUT -H 'If-None-Match: *' --data-binary x " + Url(1, "/v1/kv/greeting")),
            "409");
  EXPECT_EQ(code("-X PUT -H 'If-Match: " + std::to_string(version) + "' --data-binary x " +
                 Url(1, "/v1/kv/greeting")),
            "200");
  // Over --max_value_bytes (1 MiB by default): 413 before anything is sent.
  const std::string big = cluster_.dir() + "/big.bin";
  ASSERT_EQ(RunShell("head -c 1100000 /dev/zero > " + big).exit_code, 0);
  EXPECT_EQ(code("-X PUT --data-binary @" + big + " " + Url(1, "/v1/kv/big")), "413");
  EXPECT_EQ(code("-X POST --data-binary 'not json' " + Url(1, "/v1/txn")), "400");
  EXPECT_EQ(code(Url(1, "/v1/lease/00000000000000ff")), "404");
  ShellRun del = RunShell(Curl(2, "-X DELETE " + Url(2, "/v1/kv/greeting")));
  EXPECT_NE(del.out.find("\"deleted\":true"), std::string::npos) << del.out;

  // A watch as Server-Sent Events, from the version of a write, through another node.
  ShellRun w1 = RunShell(Curl(1, "-X PUT --data-binary a " + Url(1, "/v1/kv/watched")));
  const uint64_t from = nlohmann::json::parse(w1.out)["version"];
  RunShell(Curl(1, "-X PUT --data-binary b " + Url(1, "/v1/kv/watched")));
  ShellRun sse = RunShell("curl -s -N --max-time 3 " +
                          Url(2, "/v1/watch/watched?from_version=" + std::to_string(from)));
  EXPECT_NE(sse.out.find("event: created"), std::string::npos) << sse.out;
  const size_t first = sse.out.find("event: put");
  ASSERT_NE(first, std::string::npos) << sse.out;
  EXPECT_NE(sse.out.find("event: put", first + 1), std::string::npos) << sse.out;
  EXPECT_NE(sse.out.find("id: "), std::string::npos) << sse.out;
}

TEST_F(HttpApiTest, LeaseThroughCurlExpiresItsKey) {
  ShellRun grant = RunShell(Curl(1, "-X POST -d '{\"ttl_ms\":1000,\"shard_key\":\"{l}/\"}' " +
                                        Url(1, "/v1/lease")));
  auto g = nlohmann::json::parse(grant.out, nullptr, false);
  ASSERT_TRUE(g.contains("id")) << grant.out;
  const std::string lease = g["id"];
  ShellRun put = RunShell(Curl(2, "-X PUT --data-binary up " +
                                      Url(2, "/v1/kv/%7Bl%7D/n1?lease=" + lease)));
  ASSERT_NE(put.out.find("version"), std::string::npos) << put.out;
  ShellRun ka = RunShell(Curl(3, "-X POST " + Url(3, "/v1/lease/" + lease + "/keepalive")));
  EXPECT_NE(ka.out.find("\"ttl_ms\":1000"), std::string::npos) << ka.out;
  // Not kept alive any more: the key goes (TTL 1 s plus an election timeout, with margin).
  EXPECT_TRUE(WaitUntil(
      [&] {
        return RunShell(Curl(1, "-o /dev/null -w '%{http_code}' " + Url(1, "/v1/kv/%7Bl%7D/n1"))).out ==
               "404";
      },
      15s));
  EXPECT_EQ(RunShell(Curl(1, "-o /dev/null -w '%{http_code}' " + Url(1, "/v1/lease/" + lease))).out,
            "404");
}

TEST_F(HttpApiTest, PythonStandardLibraryClient) {
  const std::string script = RINGKV_HTTP_CLIENT_PY;
  ShellRun r = RunShell("python3 " + script + " http://" + cluster_.admin_address(1) +
                        " http://" + cluster_.admin_address(3) + " 2>&1");
  std::cout << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

// Admission control of the API with a node limit of one request in flight: concurrent puts are
// shed with 429, a Retry-After in whole seconds and a JSON body saying BUSY, never anything
// else; the node serves on afterwards.
class HttpApiSheddingTest : public HttpApiTest {
 protected:
  HttpApiSheddingTest() : HttpApiTest(Options()) {}
  static TestClusterOptions Options() {
    TestClusterOptions o;
    o.extra_flags = {"--admission_max_node_requests=1", "--admission_min_node_requests=1",
                     "--admission_target_latency_ms=0"};
    return o;
  }
};

TEST_F(HttpApiSheddingTest, ShedRequestsAre429WithRetryAfter) {
  std::string urls;
  std::string some_urls;  // the first 16
  for (int i = 0; i < 64; ++i) {
    urls += " " + Url(1, "/v1/kv/shed" + std::to_string(i));
    if (i == 15) some_urls = urls;
  }
  // 64 puts at once on 64 connections; each prints "<status> <Retry-After>".
  ShellRun r = RunShell("curl -s --parallel --parallel-immediate --parallel-max 64 -X PUT "
                        "--data-binary x -o /dev/null -w '%{http_code} %header{retry-after}\\n'" +
                        urls);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::map<std::string, int> statuses;
  std::istringstream lines(r.out);
  std::string status, retry_after;
  int shed = 0;
  while (lines >> status) {
    ++statuses[status];
    if (status != "429") continue;
    ++shed;
    ASSERT_TRUE(lines >> retry_after) << r.out;
    EXPECT_GE(std::stoi(retry_after), 1) << r.out;
  }
  std::string seen;
  for (const auto& [s, n] : statuses) seen += s + " x" + std::to_string(n) + " ";
  EXPECT_GT(shed, 0) << "nothing was shed: " << seen;
  EXPECT_GT(statuses["200"], 0) << seen;
  EXPECT_EQ(statuses["200"] + shed, 64) << "only 200 and 429 are expected: " << seen;
  // The shed answer's body says why.
  ShellRun one;
  ASSERT_TRUE(WaitUntil(
      [&] {
        one = RunShell("curl -s --parallel --parallel-immediate --parallel-max 16 -X PUT --data-binary x" +
                  some_urls);
        return one.out.find("\"code\":\"BUSY\"") != std::string::npos;
      },
      20s))
      << one.out;
  EXPECT_NE(one.out.find("too many requests"), std::string::npos) << one.out;
  // And the node serves on.
  EXPECT_EQ(RunShell(Curl(1, "-o /dev/null -w '%{http_code}' -X PUT --data-binary y " +
                            Url(1, "/v1/kv/after"))).out,
            "200");
}

}  // namespace
}  // namespace ringkv::integration
