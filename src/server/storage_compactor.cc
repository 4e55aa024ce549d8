#include "server/storage_compactor.h"

#include <glog/logging.h>

#include <chrono>

namespace ringkv::server {

StorageCompactor::StorageCompactor(storage::Engine* engine, uint64_t node)
    : engine_(engine), node_(node) {}

StorageCompactor::~StorageCompactor() {
  canceled_ = true;
  std::thread t;
  {
    std::lock_guard<std::mutex> l(mu_);
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
}

void StorageCompactor::Compact(Done done) {
  std::lock_guard<std::mutex> l(mu_);
  waiters_.push_back(std::move(done));
  if (running_) return;
  running_ = true;
  // The previous run has finished (running_ was false), so its thread ends at once.
  if (thread_.joinable()) thread_.join();
  thread_ = std::thread([this] { Run(); });
}

void StorageCompactor::Run() {
  const auto start = std::chrono::steady_clock::now();
  const uint64_t before = engine_->SstBytes();
  LOG(INFO) << "storage compaction started on node " << node_ << " (" << before
            << " bytes in SST files)";
  Status s = engine_->CompactAll(&canceled_);
  const uint64_t after = engine_->SstBytes();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  kvpb::AdminResponse resp;
  resp.set_storage_bytes_before(before);
  resp.set_storage_bytes_after(after);
  resp.set_took_ms(static_cast<uint64_t>(took.count()));
  if (s.ok()) {
    resp.set_message("node " + std::to_string(node_) + ": storage compacted from " +
                     std::to_string(before) + " to " + std::to_string(after) +
                     " bytes of SST files in " + std::to_string(took.count()) + " ms");
    LOG(INFO) << resp.message();
  } else {
    s = Status::IOError("node " + std::to_string(node_) + ": storage compaction failed after " +
                        std::to_string(took.count()) + " ms: " + std::string(s.message()));
    LOG(WARNING) << s;
  }
  std::vector<Done> waiters;
  {
    std::lock_guard<std::mutex> l(mu_);
    waiters.swap(waiters_);
    running_ = false;
  }
  for (Done& d : waiters) d(s, resp);
}

}  // namespace ringkv::server
