// EDN reader/writer, history readers/writers, pairing and well-formedness.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jepsen/checker/edn.h"
#include "jepsen/checker/history_io.h"
#include "jepsen/checker/well_formed.h"
#include "testutil/status_matchers.h"
#include "tests/jepsen/test_histories.h"

namespace ringkv::jepsen {
namespace {

TEST(Edn, ParsesJepsenValues) {
  auto v = edn::ParseAll(
      "; comment\n[{:process 22  :type :invoke, :f :cas, :value [1 -2]} (nil \"a\\\"b\" true) "
      "#{3} sym 42N]");
  ASSERT_OK(v);
  ASSERT_EQ(v->size(), 1u);
  const edn::Value& top = (*v)[0];
  ASSERT_EQ(top.items.size(), 5u);
  const edn::Value& m = top.items[0];
  EXPECT_EQ(*m.Get("process"), edn::Value::Int(22));
  EXPECT_TRUE(m.Get("type")->IsKeyword("invoke"));
  EXPECT_EQ(m.Get("value")->items[1], edn::Value::Int(-2));
  EXPECT_EQ(top.items[1].kind, edn::Kind::kList);
  EXPECT_EQ(top.items[1].items[1], edn::Value::String("a\"b"));
  EXPECT_EQ(top.items[2].kind, edn::Kind::kSet);
  EXPECT_EQ(top.items[4], edn::Value::Int(42));
  EXPECT_EQ(edn::Write(top), "[{:process 22, :type :invoke, :f :cas, :value [1 -2]} "
                             "(nil \"a\\\"b\" true) #{3} sym 42]");
}

TEST(Edn, RejectsMalformedInput) {
  EXPECT_TRUE(edn::ParseAll("[1 2").status().IsInvalidArgument());
  EXPECT_TRUE(edn::ParseAll("{:a}").status().IsInvalidArgument());
  EXPECT_TRUE(edn::ParseAll("1.5").status().IsInvalidArgument());
  EXPECT_TRUE(edn::ParseAll("]").status().IsInvalidArgument());
  EXPECT_TRUE(edn::ParseAll("\"open").status().IsInvalidArgument());
}

TEST(HistoryIo, VectorAndLineFormsAgree) {
  auto a = HistoryFromEdn("[{:process 0, :type :invoke, :f :read, :value nil}\n"
                          " {:process 0, :type :ok, :f :read, :value 3}]");
  auto b = HistoryFromEdn("{:process 0, :type :invoke, :f :read, :value nil}\n"
                          "{:process 0, :type :ok, :f :read, :value 3}\n");
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ((*a)[1].index, 1);
}

TEST(HistoryIo, EdnRoundTripAndJson) {
  auto h = HistoryFromEdn(
      "{:process 3, :type :invoke, :f :append, :key \"k\", :value 7, :time 10, :index 4}\n"
      "{:process :nemesis, :type :info, :f :kill, :value nil, :time 11, :index 5}\n"
      "{:process 3, :type :ok, :f :append, :key \"k\", :value 7, :time 12, :index 6, :version 9}\n");
  ASSERT_OK(h);
  std::string edn = WriteHistoryEdn(*h);
  EXPECT_EQ(edn.substr(0, edn.find('\n')),
            "{:type :invoke, :f :append, :key \"k\", :value 7, :process 3, :time 10, :index 4}");
  auto again = HistoryFromEdn(edn);
  ASSERT_OK(again);
  EXPECT_EQ(*again, *h);
  nlohmann::json j = nlohmann::json::parse(WriteHistoryJson(*h));
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[1]["process"], "nemesis");
  EXPECT_EQ(j[2]["version"], 9);
  EXPECT_EQ(j[2]["type"], "ok");
  EXPECT_EQ(j[0]["key"], "k");
}

TEST(HistoryIo, EtcdLogLines) {
  auto h = HistoryFromEtcdLog(
      "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n"
      "some other line\n"
      "INFO  jepsen.util - 2\t:info\t:cas\t:timed-out\n"
      "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
      "INFO  jepsen.util - 0\t:ok\t:read\t3\n");
  ASSERT_OK(h);
  ASSERT_EQ(h->size(), 4u);
  EXPECT_EQ((*h)[0].value, edn::Value::Vector({edn::Value::Int(3), edn::Value::Int(0)}));
  EXPECT_EQ((*h)[1].type, OpType::kInfo);
  EXPECT_EQ((*h)[3].value, edn::Value::Int(3));
  EXPECT_TRUE(HistoryFromEtcdLog("INFO  jepsen.util - x\t:ok\n").status().IsInvalidArgument());
}

TEST(HistoryIo, PairingUsesPositionsAndUnknownOutcomes) {
  History h = testing::H({"0 invoke write 1", "1 invoke read nil", "1 ok read 1",
                          "0 info write 1", "2 invoke write 2"});
  auto pairs = PairOps(h);
  ASSERT_OK(pairs);
  ASSERT_EQ(pairs->size(), 3u);
  EXPECT_EQ((*pairs)[0].ret, OpPair::kNever);
  EXPECT_EQ((*pairs)[1].call, 1);
  EXPECT_EQ((*pairs)[1].ret, 2);
  EXPECT_EQ((*pairs)[2].outcome, OpType::kInfo);
  EXPECT_FALSE((*pairs)[2].complete_pos.has_value());
}

TEST(WellFormed, AcceptsJepsenShapes) {
  EXPECT_TRUE(CheckWellFormed(testing::H({"0 invoke write 1", "1 invoke read nil", "1 ok read 1",
                                          "0 info write 1", "2 invoke read nil"}))
                  .empty());
}

TEST(WellFormed, ReportsEachRule) {
  EXPECT_EQ(CheckWellFormed(testing::H({"0 invoke write 1", "0 invoke write 2"})).size(), 1u);
  EXPECT_EQ(CheckWellFormed(testing::H({"0 ok write 1"})).size(), 1u);
  EXPECT_EQ(CheckWellFormed(testing::H({"0 invoke write 1", "0 ok read 1"})).size(), 1u);
  EXPECT_EQ(CheckWellFormed(testing::H({"0 invoke write 1", "0 info write 1", "0 invoke read nil"}))
                .size(),
            1u);
  History h = testing::H({"0 invoke write 1", "0 ok write 1"});
  h[1].index = 0;
  std::vector<std::string> problems = CheckWellFormed(h);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("index"), std::string::npos);
}

// Found by the edn_history fuzz target: a symbol of non-UTF-8 bytes made the JSON writer throw
// and end the process.
TEST(HistoryIo, JsonOfNonUtf8BytesReplacesThem) {
  auto h = HistoryFromEdn("{:type :invoke, :f :read, :value [:r 1 \xf7\xf7nil], :process 3}\n");
  ASSERT_TRUE(h.ok()) << h.status();
  const std::string json = WriteHistoryJson(*h);
  EXPECT_NE(json.find("\xef\xbf\xbd"), std::string::npos) << json;  // U+FFFD
}

// Found by the edn_history fuzz target: an op without :f was written as ":f :", which does not
// read back.
TEST(HistoryIo, OpWithoutFRoundTrips) {
  auto h = HistoryFromEdn("{:type :invoke, :value 1, :process 0}\n");
  ASSERT_TRUE(h.ok()) << h.status();
  auto again = HistoryFromEdn(WriteHistoryEdn(*h));
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << WriteHistoryEdn(*h);
  EXPECT_EQ(WriteHistoryEdn(*again), WriteHistoryEdn(*h));
}

// Found by the edn_history fuzz target (CI, stop 20): an :f given as a string with a comma was
// written as the keyword ":write,k1", which reads back as two values and breaks the map.
TEST(HistoryIo, FStringThatIsNoKeywordRoundTrips) {
  for (const char* f : {"write,k1", "a b", "x]", "q\"uote"}) {
    auto h = HistoryFromEdn(std::string("{:type :invoke, :f ") +
                            edn::Write(edn::Value::String(f)) + ", :value 1, :process 0}\n");
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ((*h)[0].f, f);
    auto again = HistoryFromEdn(WriteHistoryEdn(*h));
    ASSERT_TRUE(again.ok()) << again.status() << "\n" << WriteHistoryEdn(*h);
    EXPECT_EQ((*again)[0].f, f);
  }
  EXPECT_TRUE(edn::IsKeywordName("write"));
  EXPECT_FALSE(edn::IsKeywordName(""));
  EXPECT_FALSE(edn::IsKeywordName("write,k1"));
}

}  // namespace
}  // namespace ringkv::jepsen
