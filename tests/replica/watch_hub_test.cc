// The watch hub: a watch gets every change of its keys from its start version, in order, once,
// whether it comes from the history (catching up) or from applied batches; older versions are
// COMPACTED; slow clients are cancelled with where to resume; idle watches get progress.
#include "replica/watch_hub.h"

#include <gtest/gtest.h>

#include "kv_fixture.h"
#include "storage/change_history.h"

namespace ringkv::replica {
namespace {

using std::chrono::milliseconds;

class FakeStream : public WatchStream {
 public:
  FakeStream(uint64_t conn, uint64_t req) : conn_(conn), req_(req) {}
  SendResult Send(const kvpb::Response& r) override {
    if (closed) return SendResult::kClosed;
    if (slow) return SendResult::kSlow;
    sent.push_back(r);
    return SendResult::kOk;
  }
  bool SendFinal(const kvpb::Response& r) override {
    final_messages.push_back(r);
    return true;
  }
  uint64_t connection_id() const override { return conn_; }
  uint64_t request_id() const override { return req_; }

  // The versions of every event sent, in order.
  std::vector<uint64_t> Versions() const {
    std::vector<uint64_t> v;
    for (const auto& r : sent) {
      for (const auto& e : r.watch().events()) v.push_back(e.version());
    }
    return v;
  }

  bool slow = false;
  bool closed = false;
  std::vector<kvpb::Response> sent;
  std::vector<kvpb::Response> final_messages;

 private:
  uint64_t conn_, req_;
};

class WatchHubTest : public KvFixture {
 protected:
  void SetUp() override {
    KvFixture::SetUp();
    history_ = std::make_unique<storage::ChangeHistory>(engine_.get(), GroupId(1),
                                                        storage::ChangeHistoryOptions{5, 1 << 20});
    ASSERT_OK(history_->Load(Index(0)));
    hub_ = std::make_unique<WatchHub>(GroupId(1), WatchOptions{milliseconds(1000), 2, 100},
                                      history_.get(), Index(0));
  }

  // Applies a put of `key` at `index`, records it in the history and tells the hub.
  void Put(const std::string& key, uint64_t index) {
    storage::WriteBatch batch;
    Applier a(kv_.get(), &batch, leases_.get());
    ASSERT_OK(a.Apply(PutCmd(key, "v" + std::to_string(index)), Index(index)));
    auto changes = a.TakeChanges();
    for (const auto& c : changes) history_->Append(&batch, c);
    ASSERT_OK(engine_->Write(batch, false));
    hub_->OnApplied(changes, Index(index), now_);
  }

  std::shared_ptr<FakeStream> Watch(uint64_t req, const std::string& key, uint64_t start,
                                    const std::string& range_end = "") {
    auto s = std::make_shared<FakeStream>(1, req);
    kvpb::WatchRequest w;
    w.set_key(key);
    w.set_range_end(range_end);
    w.set_start_version(start);
    hub_->Add(w, s, now_);
    return s;
  }

  std::unique_ptr<storage::ChangeHistory> history_;
  std::unique_ptr<WatchHub> hub_;
  WatchHub::Clock::time_point now_ = WatchHub::Clock::time_point() + std::chrono::hours(1);
};

TEST_F(WatchHubTest, CatchesUpFromHistoryThenFollowsLiveChanges) {
  Put("a", 10);
  Put("b", 11);
  Put("a", 12);
  Put("a", 13);
  auto s = Watch(1, "a", 10);
  ASSERT_FALSE(s->sent.empty());
  EXPECT_TRUE(s->sent[0].watch().created());
  EXPECT_EQ(s->sent[0].watch().start_version(), 10u);
  // A catch-up step reads 2 events (10, and 11 for another key): the rest comes on later ticks.
  EXPECT_EQ(s->Versions(), (std::vector<uint64_t>{10}));
  Put("a", 14);  // still catching up: not sent live, read from the history later
  hub_->Tick(now_);
  hub_->Tick(now_);
  Put("a", 15);  // caught up: sent live
  EXPECT_EQ(s->Versions(), (std::vector<uint64_t>{10, 12, 13, 14, 15}));
}

TEST_F(WatchHubTest, RangesAndFromNow) {
  Put("a", 10);
  auto range = Watch(1, "b", 0, "d");
  auto all = Watch(2, "", 0, std::string(1, '\0'));
  EXPECT_EQ(range->sent[0].watch().start_version(), 11u);
  Put("c", 11);
  Put("d", 12);
  Put("bb", 13);
  EXPECT_EQ(range->Versions(), (std::vector<uint64_t>{11, 13}));
  EXPECT_EQ(all->Versions(), (std::vector<uint64_t>{11, 12, 13}));
}

TEST_F(WatchHubTest, CompactedStartIsRefusedWithWhereToResume) {
  for (uint64_t i = 10; i < 20; ++i) Put("a", i);
  EXPECT_EQ(history_->first_index(), Index(15));
  auto s = Watch(1, "a", 12);
  EXPECT_TRUE(s->sent.empty());
  ASSERT_EQ(s->final_messages.size(), 1u);
  EXPECT_EQ(s->final_messages[0].error().code(), kvpb::COMPACTED);
  EXPECT_EQ(s->final_messages[0].error().resume_version(), 15u);
  EXPECT_EQ(hub_->size(), 0u);
  auto ok = Watch(2, "a", 15);
  EXPECT_EQ(hub_->size(), 1u);
}

TEST_F(WatchHubTest, SlowClientIsCancelledWithItsResumeVersion) {
  auto s = Watch(1, "a", 0);
  Put("a", 10);
  s->slow = true;
  Put("a", 11);
  ASSERT_EQ(s->final_messages.size(), 1u);
  EXPECT_EQ(s->final_messages[0].error().code(), kvpb::CANCELED);
  EXPECT_EQ(s->final_messages[0].error().resume_version(), 11u);
  EXPECT_EQ(hub_->size(), 0u);
}

TEST_F(WatchHubTest, IdleWatchGetsProgress) {
  auto s = Watch(1, "a", 0);
  Put("b", 10);
  EXPECT_EQ(s->sent.size(), 1u);  // only `created`
  hub_->Tick(now_ + milliseconds(999));
  EXPECT_EQ(s->sent.size(), 1u);
  // The hub looks for idle watches every 50 ms: the notification comes within that of the interval.
  hub_->Tick(now_ + milliseconds(1050));
  ASSERT_EQ(s->sent.size(), 2u);
  EXPECT_EQ(s->sent[1].watch().progress_version(), 10u);
}

TEST_F(WatchHubTest, CancelAndEnd) {
  auto a = Watch(1, "a", 0);
  auto b = Watch(2, "a", 0);
  auto other = std::make_shared<FakeStream>(2, 1);
  kvpb::WatchRequest w;
  w.set_key("a");
  hub_->Add(w, other, now_);
  hub_->Cancel(1, 1);
  hub_->CancelConnection(2);
  EXPECT_EQ(hub_->size(), 1u);
  Put("a", 10);
  EXPECT_EQ(a->Versions().size(), 0u);
  EXPECT_EQ(b->Versions(), std::vector<uint64_t>{10});
  kvpb::Response err;
  err.mutable_error()->set_code(kvpb::NOT_LEADER);
  hub_->EndAll(err);
  EXPECT_EQ(hub_->size(), 0u);
  ASSERT_EQ(b->final_messages.size(), 1u);
  EXPECT_EQ(b->final_messages[0].error().code(), kvpb::NOT_LEADER);
  EXPECT_TRUE(a->final_messages.empty());
}

}  // namespace
}  // namespace ringkv::replica
