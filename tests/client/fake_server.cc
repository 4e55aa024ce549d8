#include "client/fake_server.h"

#include <gtest/gtest.h>

namespace ringkv::client::testing {

FakeServer::FakeServer(uint64_t node_id) : node_id_(node_id) {}

FakeServer::~FakeServer() { Stop(); }

void FakeServer::Start() {
  net::FrameServerOptions o;
  o.node_id = NodeId(node_id_);
  server_ = std::make_unique<net::FrameServer>(
      o, [this](std::shared_ptr<net::Connection> conn, std::string payload) {
        OnFrame(conn, payload);
      });
  Status st = server_->Start();
  ASSERT_TRUE(st.ok()) << st;
}

void FakeServer::Stop() {
  if (server_) server_->Stop();
}

void FakeServer::SetHandler(Handler h) {
  std::lock_guard<std::mutex> l(mu_);
  handler_ = std::move(h);
}

std::string FakeServer::address() const {
  return "127.0.0.1:" + std::to_string(server_->port());
}

std::vector<kvpb::Request> FakeServer::requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}

int FakeServer::request_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<int>(requests_.size());
}

bool FakeServer::WaitForRequests(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout, [&] { return static_cast<int>(requests_.size()) >= n; });
}

FakeServer::Reply FakeServer::Ok(kvpb::Response r) { return Reply{Act::kAnswer, std::move(r)}; }

FakeServer::Reply FakeServer::Error(kvpb::ErrorCode code, bool definite,
                                    const std::string& leader_address, uint32_t retry_after_ms,
                                    uint64_t leader_hint) {
  Reply r;
  auto* e = r.response.mutable_error();
  e->set_code(code);
  e->set_definite(definite);
  e->set_message("scripted " + kvpb::ErrorCode_Name(code));
  e->set_leader_address(leader_address);
  e->set_leader_hint(leader_hint);
  e->set_retry_after_ms(retry_after_ms);
  return r;
}

void FakeServer::OnFrame(const std::shared_ptr<net::Connection>& conn, const std::string& payload) {
  kvpb::Request req;
  ASSERT_TRUE(req.ParseFromString(payload));
  if (req.has_status() && !answer_status_with_handler_) {
    // The client asks a node's status once at connect (to learn the shard ring); a fake
    // server has no ring, and these requests are not what the tests count.
    kvpb::Response resp;
    resp.set_request_id(req.request_id());
    resp.mutable_status()->set_node_id(1);
    conn->Send(resp.SerializeAsString()).IgnoreError();
    return;
  }
  Handler h;
  int n;
  {
    std::lock_guard<std::mutex> l(mu_);
    n = static_cast<int>(requests_.size());
    requests_.push_back(req);
    h = handler_;
  }
  cv_.notify_all();
  Reply reply = h ? h(req, n) : Silent();
  switch (reply.act) {
    case Act::kSilent:
      return;
    case Act::kDropConnection:
      conn->Close(Status::OK());
      return;
    case Act::kAnswer:
      reply.response.set_request_id(req.request_id());
      reply.response.set_served_by(node_id_);
      if (reply.response.group_id() == 0) reply.response.set_group_id(1);
      conn->Send(reply.response.SerializeAsString()).IgnoreError();  // test: a closed conn is fine
      return;
  }
}

FakeServer::Reply MemoryStore::Handle(const kvpb::Request& req) {
  std::lock_guard<std::mutex> l(mu_);
  kvpb::Response r;
  auto set_kv = [&](kvpb::KeyValue* kv, const std::string& key) {
    kv->set_key(key);
    kv->set_value(data_[key].first);
    kv->set_version(data_[key].second);
  };
  switch (req.op_case()) {
    case kvpb::Request::kGet: {
      auto it = data_.find(req.get().key());
      r.mutable_get()->set_found(it != data_.end());
      if (it != data_.end()) set_kv(r.mutable_get()->mutable_kv(), it->first);
      break;
    }
    case kvpb::Request::kPut:
      data_[req.put().key()] = {req.put().value(), ++index_};
      r.mutable_put()->set_version(index_);
      break;
    case kvpb::Request::kDelete: {
      const bool existed = data_.erase(req.delete_().key()) > 0;
      r.mutable_delete_()->set_deleted(existed);
      r.mutable_delete_()->set_version(++index_);
      break;
    }
    case kvpb::Request::kCas: {
      const auto& c = req.cas();
      auto it = data_.find(c.key());
      const bool found = it != data_.end();
      bool ok = false;
      if (c.has_expected_value()) ok = found && it->second.first == c.expected_value();
      if (c.has_expected_version()) {
        ok = found ? it->second.second == c.expected_version() : c.expected_version() == 0;
      }
      if (c.has_expect_absent()) ok = !found;
      auto* cr = r.mutable_cas();
      if (ok) {
        data_[c.key()] = {c.new_value(), ++index_};
        cr->set_succeeded(true);
        cr->set_version(index_);
      } else {
        r.mutable_error()->set_code(kvpb::CAS_FAILED);
        r.mutable_error()->set_definite(true);
        cr->set_found(found);
        if (found) set_kv(cr->mutable_current(), c.key());
      }
      break;
    }
    case kvpb::Request::kAppend: {
      auto& v = data_[req.append().key()];
      v.first += req.append().suffix();
      v.second = ++index_;
      r.mutable_append()->set_version(index_);
      r.mutable_append()->set_value(v.first);
      break;
    }
    case kvpb::Request::kScan: {
      const auto& s = req.scan();
      auto* sr = r.mutable_scan();
      for (auto it = data_.lower_bound(s.start());
           it != data_.end() && (s.end().empty() || it->first < s.end()); ++it) {
        if (s.limit() != 0 && sr->kvs_size() == static_cast<int>(s.limit())) {
          sr->set_more(true);
          break;
        }
        auto* kv = sr->add_kvs();
        kv->set_key(it->first);
        if (!s.keys_only()) kv->set_value(it->second.first);
        kv->set_version(it->second.second);
      }
      break;
    }
    default:
      return FakeServer::Error(kvpb::INVALID_ARGUMENT, true);
  }
  return FakeServer::Ok(std::move(r));
}

}  // namespace ringkv::client::testing
