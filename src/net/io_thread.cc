#include "net/io_thread.h"

#include <pthread.h>

#include <boost/asio/post.hpp>
#include <future>

namespace ringkv::net {

IoThread::IoThread(std::string name) : name_(std::move(name)) {}

IoThread::~IoThread() { Stop(); }

void IoThread::Start() {
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
  if (!thread_.joinable() || InThread() || io_.stopped()) {
    fn();
    return;
  }
  std::promise<void> done;
  boost::asio::post(io_, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace ringkv::net
