#include "server/space_guard.h"

#include <glog/logging.h>
#include <sys/statvfs.h>

#include <filesystem>

namespace ringkv::server {

bool NoSpaceDue(const SpaceGuardOptions& o, const SpaceUsage& u, bool raised_before,
                std::string* why) {
  const double lw = o.low_watermark > 0 && o.low_watermark <= 1 ? o.low_watermark : 1.0;
  const bool over_quota = o.quota_bytes > 0 && u.used_bytes >= o.quota_bytes;
  const bool under_floor = o.min_free_bytes > 0 && u.free_bytes < o.min_free_bytes;
  if (over_quota) {
    *why = "the data dir holds " + std::to_string(u.used_bytes) + " bytes, at or over "
           "--storage_quota_bytes=" + std::to_string(o.quota_bytes);
    return true;
  }
  if (under_floor) {
    *why = "the disk has " + std::to_string(u.free_bytes) + " bytes free, under "
           "--min_free_disk_bytes=" + std::to_string(o.min_free_bytes);
    return true;
  }
  if (!raised_before) return false;
  // Hysteresis: stay raised until usage is clearly below both limits.
  const bool quota_clear = o.quota_bytes == 0 || u.used_bytes < o.quota_bytes * lw;
  const bool floor_clear = o.min_free_bytes == 0 || u.free_bytes >= o.min_free_bytes / lw;
  if (quota_clear && floor_clear) return false;
  *why = quota_clear ? "free disk space is still under the low watermark ("
                     + std::to_string(u.free_bytes) + " bytes free)"
                     : "the data dir is still over the low watermark (" +
                           std::to_string(u.used_bytes) + " bytes)";
  return true;
}

uint64_t DirectoryBytes(const std::string& dir) {
  namespace fs = std::filesystem;
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    // Files may vanish while we walk (RocksDB deletes obsolete ones): skip them.
    if (it->is_regular_file(fec) && !fec) {
      uint64_t size = it->file_size(fec);
      if (!fec) total += size;
    }
  }
  return total;
}

uint64_t FreeBytes(const std::string& dir) {
  struct statvfs st {};
  if (statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

SpaceGuard::SpaceGuard(SpaceGuardOptions options) : options_(std::move(options)) {}

SpaceGuard::~SpaceGuard() { Stop(); }

void SpaceGuard::Start() {
  CheckNow();
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
      lock.unlock();
      CheckNow();
      lock.lock();
    }
  });
}

void SpaceGuard::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SpaceGuard::CheckNow() {
  SpaceUsage u;
  u.used_bytes = DirectoryBytes(options_.data_dir);
  u.free_bytes = FreeBytes(options_.data_dir);
  u.quota_bytes = options_.quota_bytes;
  std::string why;
  bool changed = false, raised = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    usage_ = u;
    raised = NoSpaceDue(options_, u, nospace_.load(), &why);
    changed = raised != nospace_.load();
    reason_ = raised ? why : "";
    nospace_ = raised;
  }
  if (!changed) return;
  if (raised) {
    LOG(ERROR) << "NOSPACE alarm raised: " << why
               << "; writes other than deletes are rejected until space is freed";
  } else {
    LOG(WARNING) << "NOSPACE alarm cleared: " << u.used_bytes << " bytes used, "
                 << u.free_bytes << " bytes free; writes are accepted again";
  }
  if (options_.on_change) options_.on_change(raised, why);
}

void SpaceGuard::Disarm() {
  bool was;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was = nospace_.exchange(false);
    reason_.clear();
  }
  if (!was) return;
  LOG(WARNING) << "NOSPACE alarm disarmed by an operator (raised again if still due)";
  if (options_.on_change) options_.on_change(false, "disarmed");
}

std::vector<std::string> SpaceGuard::Alarms() const {
  if (nospace_.load()) return {"NOSPACE"};
  return {};
}

std::string SpaceGuard::Reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reason_;
}

SpaceUsage SpaceGuard::usage() const {
  std::lock_guard<std::mutex> lock(mu_);
  return usage_;
}

}  // namespace ringkv::server
