#include "net/io_thread.h"

#include <glog/logging.h>
#include <pthread.h>

#include <boost/asio/post.hpp>

#include "common/run_sync.h"

namespace ringkv::net {

IoThread::IoThread(std::string name, SharedIo shared)
    : name_(std::move(name)), shared_(std::move(shared)) {
  CHECK(shared_.io == nullptr || shared_.run_sync) << name_ << ": a shared io_context needs run_sync";
}

IoThread::~IoThread() { Stop(); }

void IoThread::Start() {
  if (shared_.io != nullptr) return;
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    io_.run();
  });
}

void IoThread::Stop() {
  if (!thread_.joinable()) return;
  work_.reset();
  io_.stop();
  thread_.join();
}

void IoThread::RunSync(const std::function<void()>& fn) {
  if (shared_.io != nullptr) {
    shared_.run_sync(fn);
    return;
  }
  RunSyncOn(io_, !thread_.joinable() || InThread() || io_.stopped(), fn);
}

}  // namespace ringkv::net
