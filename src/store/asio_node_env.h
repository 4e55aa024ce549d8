// AsioNodeEnv: kvd's NodeEnv. The loop is one io_context run by one thread; the storage and
// snapshot workers are a thread each (BackgroundWorker); the clock is std::chrono::steady_clock.
//
// Thread-safety: as NodeEnv. Start*/Stop from one controlling thread.
#ifndef RINGKV_STORE_ASIO_NODE_ENV_H_
#define RINGKV_STORE_ASIO_NODE_ENV_H_

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <thread>

#include "store/background_worker.h"
#include "store/node_env.h"

namespace ringkv::store {

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

class AsioNodeEnv final : public NodeEnv, private LoopExecutor {
 public:
  AsioNodeEnv() = default;
  ~AsioNodeEnv() override;

  Clock& clock() override { return clock_; }
  LoopExecutor& loop() override { return *this; }
  OffLoopExecutor& storage_worker() override { return storage_worker_; }
  OffLoopExecutor& snapshot_worker() override { return snapshot_worker_; }
  void StartWorkers() override;
  void StartLoop() override;
  void Stop(std::function<void()> last) override;

  // The loop's io_context, for network code that runs on the loop thread itself (kvd's peer
  // transport: net::TransportOptions::io).
  boost::asio::io_context& io() { return io_; }
  // Runs fn on the loop thread and waits for it; inline when called there or when the loop is
  // not running.
  void RunSync(const std::function<void()>& fn);

 private:
  // LoopExecutor.
  void Post(std::function<void()> task) override;
  std::unique_ptr<LoopTimer> NewTimer() override;
  bool OnLoop() const override { return loop_thread_.get_id() == std::this_thread::get_id(); }

  SteadyClock clock_;
  boost::asio::io_context io_;
  std::thread loop_thread_;
  BackgroundWorker storage_worker_{"storage"};
  BackgroundWorker snapshot_worker_{"snapshot"};
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_ASIO_NODE_ENV_H_
