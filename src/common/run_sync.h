// RunSyncOn: runs a function on the thread that runs an io_context and waits for it. Shared by
// net::IoThread (a network thread) and store::AsioNodeEnv (the store loop), whose owners stop
// them from another thread.
#ifndef RINGKV_COMMON_RUN_SYNC_H_
#define RINGKV_COMMON_RUN_SYNC_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <future>

namespace ringkv {

// Runs `fn` inline when `inline_here` (the caller is the io_context's thread, or no thread runs
// it any more, so a posted task would never run); otherwise posts it and waits until it ran.
inline void RunSyncOn(boost::asio::io_context& io, bool inline_here,
                      const std::function<void()>& fn) {
  if (inline_here) {
    fn();
    return;
  }
  std::promise<void> done;
  boost::asio::post(io, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace ringkv

#endif  // RINGKV_COMMON_RUN_SYNC_H_
