#include "store/asio_node_env.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <utility>

#include "common/run_sync.h"

namespace ringkv::store {
namespace {

class AsioTimer final : public LoopTimer {
 public:
  explicit AsioTimer(boost::asio::io_context& io) : timer_(io) {}
  ~AsioTimer() override { timer_.cancel(); }

  void RunAfter(std::chrono::nanoseconds delay, std::function<void()> task) override {
    timer_.expires_after(delay);
    // A cancelled (or destroyed) timer still calls the handler, with an error: it must not
    // touch the timer then.
    timer_.async_wait([task = std::move(task)](const boost::system::error_code& ec) {
      if (!ec) task();
    });
  }
  void Cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

AsioNodeEnv::~AsioNodeEnv() {
  Stop([] {});
}

void AsioNodeEnv::StartWorkers() {
  storage_worker_.Start();
  snapshot_worker_.Start();
}

void AsioNodeEnv::StartLoop() {
  loop_thread_ = std::thread([this] {
    auto guard = boost::asio::make_work_guard(io_);
    io_.run();
  });
}

void AsioNodeEnv::Stop(std::function<void()> last) {
  if (loop_thread_.joinable()) {
    boost::asio::post(io_, [this, last = std::move(last)] {
      last();
      io_.stop();
    });
    loop_thread_.join();
  }
  snapshot_worker_.Stop();
  storage_worker_.Stop();
}

void AsioNodeEnv::RunSync(const std::function<void()>& fn) {
  RunSyncOn(io_, !loop_thread_.joinable() || OnLoop() || io_.stopped(), fn);
}

void AsioNodeEnv::Post(std::function<void()> task) { boost::asio::post(io_, std::move(task)); }

std::unique_ptr<LoopTimer> AsioNodeEnv::NewTimer() { return std::make_unique<AsioTimer>(io_); }

}  // namespace ringkv::store
