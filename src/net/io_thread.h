// IoThread: one asio::io_context run by one dedicated thread. The network side of a node (the
// peer transport, a client-port server, a client) owns one, so its sockets never share a thread
// with the store's event loop — unless it is given a SharedIo: then it runs on an io_context
// someone else runs (kvd: the store loop's), starts and joins no thread, and RunSync goes
// through the owner. kvd's peer transport and client port do that by default, which saves a
// futex wake and two context switches per frame each way (docs/benchmarks.md §10).
//
// Thread-safety: Start/Stop from the owning thread; io() and RunSync from any thread.
#ifndef RINGKV_NET_IO_THREAD_H_
#define RINGKV_NET_IO_THREAD_H_

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <optional>
#include <string>
#include <thread>

namespace ringkv::net {

// An io_context run by its owner on one thread, lent to network code.
struct SharedIo {
  boost::asio::io_context* io = nullptr;  // null: not shared
  // Runs fn on the io_context's thread and waits for it; inline when called on that thread or
  // when the io_context is not running.
  std::function<void(const std::function<void()>&)> run_sync;
};

class IoThread {
 public:
  // `name` shows up in logs and as the thread name (truncated to 15 chars). With `shared.io`
  // set, the IoThread is a view of that io_context (see above); it must outlive this object
  // and everything created on it.
  explicit IoThread(std::string name, SharedIo shared = {});
  ~IoThread();  // Stop()s
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& io() { return shared_.io != nullptr ? *shared_.io : io_; }

  // Starts the thread (shared: nothing). REQUIRES: not started.
  void Start();
  // Stops the io_context (pending handlers are dropped, not run) and joins. Idempotent.
  // Shared: nothing; the owner stops its io_context. REQUIRES: not called from the io thread.
  void Stop();
  // True when called from the io thread.
  bool InThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  // Runs fn on the io thread and waits for it; runs it inline when called on the io thread or
  // when the thread is not running.
  void RunSync(const std::function<void()>& fn);

 private:
  const std::string name_;
  const SharedIo shared_;
  boost::asio::io_context io_;  // unused when shared
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
};

}  // namespace ringkv::net

#endif  // RINGKV_NET_IO_THREAD_H_
