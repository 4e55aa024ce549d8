// BackgroundWorker: one thread that runs posted tasks in order (kvd's OffLoopExecutor). The
// store uses one for synced RocksDB writes (so the loop never waits on fsync) and one for
// streaming snapshots (AsioNodeEnv).
//
// Thread-safety: Post is safe from any thread.
#ifndef RINGKV_STORE_BACKGROUND_WORKER_H_
#define RINGKV_STORE_BACKGROUND_WORKER_H_

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "store/node_env.h"

namespace ringkv::store {

class BackgroundWorker final : public OffLoopExecutor {
 public:
  explicit BackgroundWorker(std::string name) : name_(std::move(name)) {}
  ~BackgroundWorker() override { Stop(); }

  void Start() {
    work_.emplace(boost::asio::make_work_guard(io_));
    thread_ = std::thread([this] { io_.run(); });
  }
  // Runs the tasks already posted, then joins.
  void Stop() {
    if (!thread_.joinable()) return;
    work_.reset();
    thread_.join();
  }
  void Post(std::function<void()> task) override { boost::asio::post(io_, std::move(task)); }

 private:
  std::string name_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_BACKGROUND_WORKER_H_
