#include "http/queued_stream_writer.h"

#include <algorithm>

namespace ringkv::http {

bool QueuedStreamWriter::Write(std::string data) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_ || closing_ || queued_bytes_ + data.size() > max_bytes_) return false;
    queued_bytes_ += data.size();
    queue_.push_back(std::move(data));
    if (flush_posted_) return true;  // the pending flush takes this piece too
    flush_posted_ = true;
  }
  post_flush_();
  return true;
}

void QueuedStreamWriter::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_ || closing_) return;
    closing_ = true;
    if (flush_posted_) return;
    flush_posted_ = true;
  }
  post_flush_();
}

bool QueuedStreamWriter::closed() const {
  std::lock_guard<std::mutex> l(mu_);
  return closed_ || closing_;
}

void QueuedStreamWriter::OnClose(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!closed_) {
      on_close_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

std::vector<std::string> QueuedStreamWriter::TakeQueued(bool* closing) {
  std::lock_guard<std::mutex> l(mu_);
  flush_posted_ = false;
  *closing = closing_;
  std::vector<std::string> out;
  out.swap(queue_);
  return out;
}

void QueuedStreamWriter::Written(size_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  queued_bytes_ -= std::min(bytes, queued_bytes_);
}

void QueuedStreamWriter::MarkClosed() {
  std::vector<std::function<void()>> fns;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    fns.swap(on_close_);
  }
  for (auto& fn : fns) fn();
}

}  // namespace ringkv::http
