// kvctl end to end (argv in, stdout/stderr/exit code out) against the client tests' fake server
// holding an in-memory store.
#include "cli.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "client/fake_server.h"
#include "ringkv/version.h"

namespace ringkv::kvctl {
namespace {

using client::testing::FakeServer;
using client::testing::MemoryStore;
using namespace std::string_literals;

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

class KvctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("KVCTL_ENDPOINTS");
    server_.AnswerStatusWithHandler();
    server_.Start();
    server_.SetHandler([this](const kvpb::Request& r, int) {
      if (r.has_status()) {
        kvpb::Response resp;
        auto* s = resp.mutable_status();
        s->set_node_id(3);
        auto* g = s->add_groups();
        g->set_group_id(1);
        g->set_role("leader");
        g->set_term(4);
        g->set_leader(3);
        g->set_commit(10);
        g->set_applied(9);
        return FakeServer::Ok(resp);
      }
      return store_.Handle(r);
    });
  }

  CliRun Kvctl(std::vector<std::string> args, const std::string& stdin_data = "",
            bool with_endpoint = true) {
    std::vector<std::string> argv = {"kvctl"};
    if (with_endpoint) argv.push_back("--endpoints=" + server_.address());
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<const char*> cargv;
    for (const auto& a : argv) cargv.push_back(a.c_str());
    std::ostringstream out, err;
    std::istringstream in(stdin_data);
    Streams s{out, err, in};
    const int code = RunCli(static_cast<int>(cargv.size()), cargv.data(), s);
    return {code, out.str(), err.str()};
  }

  FakeServer server_;
  MemoryStore store_;
};

TEST_F(KvctlTest, PutGetRoundTripsRawBytesFromStdin) {
  const std::string value = "line1\nbin\x00\xff"s;
  auto put = Kvctl({"put", "k"}, value);
  ASSERT_EQ(put.code, 0) << put.err;
  EXPECT_EQ(put.out, "OK\n");
  auto raw = Kvctl({"get", "k", "--print-value-only"});
  ASSERT_EQ(raw.code, 0) << raw.err;
  EXPECT_EQ(raw.out, value);
  auto simple = Kvctl({"get", "k"});
  EXPECT_EQ(simple.out, "k\nline1\\nbin\\x00\\xff\n");
  auto hex = Kvctl({"get", "k", "--hex"});
  EXPECT_EQ(hex.out, "6b\n6c696e65310a62696e00ff\n");
  auto json = Kvctl({"get", "k", "-w", "json"});
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["kvs"][0]["key"], "k");
  EXPECT_EQ(j["kvs"][0]["value_b64"], "bGluZTEKYmluAP8=");
  EXPECT_EQ(j["count"], 1);
}

TEST_F(KvctlTest, MissingKeyExits3AndRangeWithNoKeysExits0) {
  auto r = Kvctl({"get", "absent"});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("Error: key \"absent\" not found"), std::string::npos) << r.err;
  auto range = Kvctl({"get", "x", "--prefix"});
  EXPECT_EQ(range.code, 0);
  EXPECT_EQ(range.out, "");
}

TEST_F(KvctlTest, PrefixLimitCountAndDelete) {
  for (const char* k : {"a/1", "a/2", "a/3", "b/1"}) ASSERT_EQ(Kvctl({"put", k, "v"}).code, 0);
  EXPECT_EQ(Kvctl({"get", "a/", "--prefix", "--keys-only"}).out, "a/1\na/2\na/3\n");
  EXPECT_EQ(Kvctl({"get", "a/", "--prefix", "--count-only"}).out, "3\n");
  EXPECT_EQ(Kvctl({"get", "a/2", "--from-key", "--keys-only"}).out, "a/2\na/3\nb/1\n");
  EXPECT_EQ(Kvctl({"get", "a/1", "a/3", "--keys-only"}).out, "a/1\na/2\n");
  auto limited = Kvctl({"get", "a/", "--prefix", "--limit", "2", "-w", "json"});
  auto j = nlohmann::json::parse(limited.out);
  EXPECT_EQ(j["count"], 2);
  EXPECT_EQ(j["more"], true);
  auto del = Kvctl({"del", "a/", "--prefix"});
  EXPECT_EQ(del.code, 0);
  EXPECT_EQ(del.out, "3\n");
  EXPECT_EQ(Kvctl({"get", "", "--from-key", "--keys-only"}).out, "b/1\n");
  EXPECT_EQ(Kvctl({"del", "b/1"}).out, "1\n");
  EXPECT_EQ(Kvctl({"del", "b/1"}).out, "0\n");
}

TEST_F(KvctlTest, ConditionalPutExits4WithCurrentVersion) {
  ASSERT_EQ(Kvctl({"put", "k", "v1", "--if-absent"}).code, 0);
  auto again = Kvctl({"put", "k", "v2", "--if-absent"});
  EXPECT_EQ(again.code, 4);
  EXPECT_NE(again.err.find("compare failed for key \"k\": current version 1 (expected absent)"),
            std::string::npos)
      << again.err;
  EXPECT_EQ(Kvctl({"put", "k", "v2", "--if-version", "7"}).code, 4);
  EXPECT_EQ(Kvctl({"put", "k", "v2", "--if-version", "1"}).code, 0);
  EXPECT_EQ(Kvctl({"put", "k", "v3", "--if-value", "v2"}).code, 0);
  EXPECT_EQ(Kvctl({"get", "k", "--print-value-only"}).out, "v3");
}

TEST_F(KvctlTest, DashValueAfterDoubleDashAndAppend) {
  ASSERT_EQ(Kvctl({"put", "k", "--", "-v"}).code, 0);
  EXPECT_EQ(Kvctl({"get", "k", "--print-value-only"}).out, "-v");
  auto app = Kvctl({"append", "k", "x", "-w", "json"});
  ASSERT_EQ(app.code, 0) << app.err;
  EXPECT_EQ(nlohmann::json::parse(app.out)["value"], "-vx");
}

TEST_F(KvctlTest, UsageErrorsExit2) {
  EXPECT_EQ(Kvctl({"get"}).code, 2);
  EXPECT_EQ(Kvctl({"put", "k", "v", "--if-absent", "--if-version", "1"}).code, 2);
  EXPECT_EQ(Kvctl({"get", "k", "--prefix", "--from-key"}).code, 2);
  EXPECT_EQ(Kvctl({"get", "k", "-w", "yaml"}).code, 2);
  EXPECT_EQ(Kvctl({"--command-timeout=soon", "get", "k"}).code, 2);
  EXPECT_EQ(Kvctl({"frobnicate"}).code, 2);
}

TEST_F(KvctlTest, FlagBeatsEnvAndEnvIsUsedWithoutFlag) {
  ASSERT_EQ(Kvctl({"put", "k", "v"}).code, 0);
  setenv("KVCTL_ENDPOINTS", server_.address().c_str(), 1);
  EXPECT_EQ(Kvctl({"get", "k", "--print-value-only"}, "", /*with_endpoint=*/false).out, "v");
  setenv("KVCTL_ENDPOINTS", "127.0.0.1:1", 1);  // unreachable; the flag must win
  EXPECT_EQ(Kvctl({"get", "k", "--print-value-only"}).code, 0);
  EXPECT_EQ(Kvctl({"get", "k"}, "", /*with_endpoint=*/false).code, 5);
  unsetenv("KVCTL_ENDPOINTS");
}

TEST_F(KvctlTest, ClusterStatusNamesLeaderByNodeId) {
  auto r = Kvctl({"cluster", "status", "-w", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["groups"].size(), 1u);
  EXPECT_EQ(j["groups"][0]["group_id"], 1);
  EXPECT_EQ(j["groups"][0]["leader"], 3);
  EXPECT_EQ(j["nodes"][0]["node_id"], 3);
  EXPECT_EQ(j["nodes"][0]["groups"][0]["role"], "leader");
  auto table = Kvctl({"cluster", "status", "-w", "table"});
  EXPECT_NE(table.out.find("| ENDPOINT"), std::string::npos);
  auto simple = Kvctl({"cluster", "status"});
  EXPECT_EQ(simple.out, server_.address() + ", 3, 1, leader, 4, 3, 10, 9\n");
  // One endpoint down: the others still print, exit 5.
  auto partial = Kvctl({"--endpoints=" + server_.address() + ",127.0.0.1:1", "cluster", "status"},
                       "", false);
  EXPECT_EQ(partial.code, 5);
  EXPECT_NE(partial.out.find("unreachable"), std::string::npos);
}

TEST_F(KvctlTest, UnknownCommandIsNamedWithTheNearestOne) {
  auto r = Kvctl({"shard", "lst"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'lst' for 'kvctl shard' (did you mean 'shard list'?)"),
            std::string::npos)
      << r.err;
  r = Kvctl({"-w", "json", "membr", "list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'membr' for 'kvctl' (did you mean 'member'?)"),
            std::string::npos)
      << r.err;
  r = Kvctl({"zzzzzzzz"});
  EXPECT_NE(r.err.find("(commands: put get"), std::string::npos) << r.err;
}

TEST_F(KvctlTest, VersionHonoursJson) {
  auto r = Kvctl({"version", "-w", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["client_version"], RINGKV_VERSION_STRING);
  EXPECT_TRUE(j.contains("server_version"));
}

TEST_F(KvctlTest, ShardStatusAndUnknownShard) {
  auto list = Kvctl({"shard", "list", "-w", "json"});
  ASSERT_EQ(list.code, 0) << list.err;
  auto j = nlohmann::json::parse(list.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["leader"], 3);
  EXPECT_EQ(j[0]["commit"], 10);
  auto one = Kvctl({"shard", "status", "1"});
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_NE(one.out.find("leader:     node 3"), std::string::npos) << one.out;
  EXPECT_EQ(Kvctl({"shard", "status", "99"}).code, 5);  // no ring known: nobody to ask
}

}  // namespace
}  // namespace ringkv::kvctl
