// ClientImpl: watches — opening a watch of a key, prefix or range over the shards that hold
// it, and the handle that cancels it (see client_impl.h). Split from client_impl.cc by concern.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "client/client_impl.h"
#include "client/watcher.h"

namespace ringkv::client {

namespace {

class WatchHandleImpl final : public WatchHandle {
 public:
  explicit WatchHandleImpl(std::shared_ptr<ClientImpl::WatchControl> control)
      : control_(std::move(control)) {}
  ~WatchHandleImpl() override { Cancel(); }

  void Cancel() override {
    std::lock_guard<std::mutex> l(control_->mu);
    if (control_->io == nullptr || !control_->watcher) return;
    auto watcher = control_->watcher;
    control_->io->RunSync([watcher] { watcher->Cancel(); });
  }

  std::map<uint32_t, uint64_t> Positions() const override {
    return control_->watcher ? control_->watcher->Positions() : std::map<uint32_t, uint64_t>();
  }

 private:
  std::shared_ptr<ClientImpl::WatchControl> control_;
};

// The smallest key greater than every key starting with `prefix`; "\0" (every key >= prefix)
// when there is none (prefix empty or all 0xff bytes).
std::string WatchPrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::string(1, '\0');
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

}  // namespace

Result<std::unique_ptr<WatchHandle>> ClientImpl::Watch(
    std::string_view key, const WatchOptions& options,
    std::function<void(const WatchUpdate&)> on_update,
    std::function<void(const WatchEnd&)> on_end) {
  std::string range_end;
  if (options.prefix + options.from_key + !options.range_end.empty() > 1) {
    return Status::InvalidArgument("watch: choose one of prefix, from_key and range_end");
  }
  if (options.prefix) range_end = WatchPrefixEnd(key);
  if (options.from_key) range_end = std::string(1, '\0');
  if (!options.range_end.empty()) {
    if (options.range_end <= key) {
      return Status::InvalidArgument("watch: range_end must be greater than the key");
    }
    range_end = options.range_end;
  }
  if (key.empty() && range_end.empty()) return Status::InvalidArgument("watch: empty key");
  std::vector<GroupId> shards;
  if (range_end.empty()) {
    shards.push_back(core_->router.GroupFor(key));
  } else if (GroupId one = core_->router.GroupForRange(key, range_end); one.value() != 0) {
    shards.push_back(one);  // a hash-tagged range lives on one shard
  } else {
    if (core_->router.num_groups() == 0) LearnRing();
    const uint32_t n = core_->router.num_groups();
    if (n == 0) {
      return Status::Unavailable("watch of a key range: cannot learn the cluster's shards from " +
                                 std::string(options_.endpoints.front()) + " and the others");
    }
    for (uint32_t g = 1; g <= n; ++g) shards.push_back(GroupId(g));
  }
  auto control = std::make_shared<WatchControl>();
  control->io = &io_thread_;
  ClientCore* core = core_.get();
  io_thread_.RunSync([&] {
    const uint64_t id = core->next_watch_id++;
    control->watcher = std::make_shared<Watcher>(core, id, std::string(key), range_end, options,
                                                 std::move(shards), std::move(on_update),
                                                 std::move(on_end));
    if (core->shutting_down) {
      control->watcher->Abort(Status::Unavailable("client closed"));
      return;
    }
    core->watchers.emplace(id, control->watcher);
    control->watcher->Start();
  });
  {
    std::lock_guard<std::mutex> l(controls_mu_);
    controls_.erase(std::remove_if(controls_.begin(), controls_.end(),
                                   [](const auto& w) { return w.expired(); }),
                    controls_.end());
    controls_.push_back(control);
  }
  return std::unique_ptr<WatchHandle>(std::make_unique<WatchHandleImpl>(std::move(control)));
}

}  // namespace ringkv::client
