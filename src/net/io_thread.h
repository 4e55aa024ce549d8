// IoThread: one asio::io_context run by one dedicated thread. The network side of a node (the
// peer transport, a client-port server, a client) owns one, so its sockets never share a thread
// with the store's event loop.
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

class IoThread {
 public:
  // `name` shows up in logs and as the thread name (truncated to 15 chars).
  explicit IoThread(std::string name);
  ~IoThread();  // Stop()s
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& io() { return io_; }

  // Starts the thread. REQUIRES: not started.
  void Start();
  // Stops the io_context (pending handlers are dropped, not run) and joins. Idempotent.
  // REQUIRES: not called from the io thread.
  void Stop();
  // True when called from the io thread.
  bool InThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  // Runs fn on the io thread and waits for it; runs it inline when called on the io thread or
  // when the thread is not running.
  void RunSync(const std::function<void()>& fn);

 private:
  const std::string name_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
};

}  // namespace ringkv::net

#endif  // RINGKV_NET_IO_THREAD_H_
