#include "client/scan_fan_out.h"

#include <algorithm>
#include <utility>

namespace ringkv::client {

void ScanFanOut::OnShard(Result<ScanResult> r) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!r.ok()) {
    if (error_.ok()) error_ = r.status();
  } else {
    if (r->more) {
      more_ = true;
      if (!bound_ || r->continue_after < *bound_) {
        bound_ = r->continue_after;
      }
    }
    for (auto& kv : r->kvs) kvs_.push_back(std::move(kv));
    revisions_.insert(r->revisions.begin(), r->revisions.end());
  }
  if (--pending_ > 0) return;
  Callback<ScanResult> cb = std::move(done_);
  if (!error_.ok()) {
    Status err = error_;
    lock.unlock();
    cb(err);
    return;
  }
  ScanResult out;
  out.kvs = std::move(kvs_);
  std::sort(out.kvs.begin(), out.kvs.end(),
            [](const KeyValue& a, const KeyValue& b) { return a.key < b.key; });
  out.more = more_;
  out.revisions = std::move(revisions_);
  if (bound_) {
    while (!out.kvs.empty() && out.kvs.back().key > *bound_) out.kvs.pop_back();
    out.continue_after = *bound_;
  }
  if (limit_ != 0 && out.kvs.size() > limit_) {
    out.kvs.resize(limit_);
    out.more = true;
    out.continue_after = out.kvs.back().key;  // cut short by the limit
  }
  lock.unlock();
  cb(std::move(out));
}

}  // namespace ringkv::client
