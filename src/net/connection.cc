#include "net/connection.h"

#include <glog/logging.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace ringkv::net {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

std::atomic<uint64_t> g_next_connection_id{1};

bool IsProtocolError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kCorruption:
    case StatusCode::kResourceExhausted:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kDeadlineExceeded:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::shared_ptr<Connection> Connection::Create(asio::ip::tcp::socket socket,
                                               const ConnectionOptions& options, std::string name) {
  return Create(Stream(std::move(socket)), options, std::move(name));
}

std::shared_ptr<Connection> Connection::Create(Stream stream, const ConnectionOptions& options,
                                               std::string name) {
  return std::shared_ptr<Connection>(new Connection(std::move(stream), options, std::move(name)));
}

Connection::Connection(Stream stream, const ConnectionOptions& options, std::string name)
    : options_(options),
      name_(std::move(name)),
      id_(g_next_connection_id.fetch_add(1)),
      stream_(std::move(stream)),
      peer_identity_(stream_.peer()),
      is_tls_(stream_.is_tls()),
      write_timer_(stream_.socket().get_executor()),
      decoder_(options.max_frame_size) {
  error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  remote_address_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);  // best effort; latency first
}

Connection::~Connection() = default;

void Connection::Start(FrameHandler on_frame, CloseHandler on_close,
                       OversizedHandler on_oversized) {
  asio::dispatch(stream_.socket().get_executor(),
                 [self = shared_from_this(), on_frame = std::move(on_frame),
                  on_close = std::move(on_close), on_oversized = std::move(on_oversized)]() mutable {
                   self->on_frame_ = std::move(on_frame);
                   self->on_close_ = std::move(on_close);
                   self->on_oversized_ = std::move(on_oversized);
                   if (!self->closed()) self->DoRead();
                 });
}

size_t Connection::queued_bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return queued_bytes_;
}

Status Connection::Send(std::string_view payload) {
  if (payload.size() > options_.max_frame_size) {
    return Status::InvalidArgument("payload of " + std::to_string(payload.size()) +
                                   " bytes exceeds the frame maximum of " +
                                   std::to_string(options_.max_frame_size));
  }
  bool start_write = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closing_ || closed()) return Status::Unavailable("connection " + name_ + " is closed");
    const size_t frame_size = kFrameHeaderSize + payload.size();
    // An empty queue always takes one frame, so a frame up to max_frame_size can always be sent.
    if (queued_frames_ > 0 && (queued_frames_ >= options_.max_queued_frames ||
                               queued_bytes_ + frame_size > options_.max_queued_bytes)) {
      return Status::ResourceExhausted("outgoing queue of " + name_ + " is full");
    }
    std::string frame;
    AppendFrame(&frame, payload);
    queue_.push_back(std::move(frame));
    ++queued_frames_;
    queued_bytes_ += frame_size;
    if (!write_active_) {
      write_active_ = true;
      start_write = true;
    }
  }
  if (start_write)
    asio::post(stream_.socket().get_executor(), [self = shared_from_this()] { self->DoWrite(); });
  return Status::OK();
}

void Connection::Close(const Status& reason) {
  {
    std::lock_guard<std::mutex> l(mu_);
    closing_ = true;
  }
  asio::dispatch(stream_.socket().get_executor(),
                 [self = shared_from_this(), reason] { self->CloseOnExecutor(reason); });
}

void Connection::CloseAfterFlush(const Status& reason) {
  bool close_now = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closing_) return;
    closing_ = true;
    if (write_active_) {
      close_after_flush_ = true;
      flush_close_reason_ = reason;
    } else {
      close_now = true;
    }
  }
  asio::dispatch(stream_.socket().get_executor(), [self = shared_from_this(), reason, close_now] {
    self->reading_stopped_ = true;
    if (close_now) self->CloseOnExecutor(reason);
  });
}

void Connection::DoRead() {
  stream_.AsyncReadSome(
      asio::buffer(read_buf_),
      [self = shared_from_this()](const error_code& ec, size_t n) { self->OnRead(ec, n); });
}

void Connection::OnRead(const error_code& ec, size_t n) {
  if (closed()) return;
  if (ec) {
    if (ec == asio::error::eof && decoder_.buffered_bytes() > 0) {
      CloseOnExecutor(Status::InvalidArgument("stream ended inside a frame (" +
                                              std::to_string(decoder_.buffered_bytes()) +
                                              " bytes of a truncated frame)"));
    } else {
      CloseOnExecutor(Status::Unavailable("read: " + ec.message()));
    }
    return;
  }
  if (reading_stopped_) {
    DoRead();  // drain and ignore until the flush-then-close completes
    return;
  }
  decoder_.Feed(std::string_view(read_buf_.data(), n));
  auto self = shared_from_this();
  while (!closed() && !reading_stopped_) {
    auto next = decoder_.Next();
    if (!next.ok()) {
      CloseOnExecutor(next.status());
      return;
    }
    if (!next->has_value()) break;
    if (decoder_.last_oversized_length() > 0) {
      if (on_oversized_) on_oversized_(self, decoder_.last_oversized_length(), std::move(**next));
    } else if (on_frame_) {
      on_frame_(self, std::move(**next));
    }
  }
  if (!closed()) DoRead();
}

void Connection::DoWrite() {
  if (closed()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    while (!queue_.empty()) {
      writing_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (writing_.empty()) {
      write_active_ = false;
      if (close_after_flush_) {
        close_after_flush_ = false;
        asio::post(stream_.socket().get_executor(), [self = shared_from_this(), r = flush_close_reason_] {
          self->CloseOnExecutor(r);
        });
      }
      return;
    }
  }
  writing_frames_ = writing_.size();
  std::vector<asio::const_buffer> buffers;
  if (stream_.is_tls() && writing_.size() > 1) {
    // Asio's TLS stream encrypts one buffer per write_some: join the burst so it leaves as full
    // TLS records in few syscalls instead of one record (and one syscall) per frame.
    std::string joined;
    size_t total = 0;
    for (const std::string& f : writing_) total += f.size();
    joined.reserve(total);
    for (const std::string& f : writing_) joined += f;
    writing_.clear();
    writing_.push_back(std::move(joined));
  }
  buffers.reserve(writing_.size());
  for (const std::string& f : writing_) buffers.emplace_back(asio::buffer(f));
  if (options_.write_timeout.count() > 0) {
    const uint64_t gen = ++write_gen_;
    write_timer_.expires_after(options_.write_timeout);
    write_timer_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
      // Cancelled, or this write already completed (a later write has another generation).
      if (ec || self->closed() || gen != self->write_gen_ || self->writing_.empty()) return;
      self->CloseOnExecutor(Status::DeadlineExceeded(
          "write stalled for " + std::to_string(self->options_.write_timeout.count()) +
          " ms (remote not reading)"));
    });
  }
  stream_.AsyncWrite(buffers, [self = shared_from_this()](const error_code& ec, size_t n) {
    self->OnWrite(ec, n);
  });
}

void Connection::OnWrite(const error_code& ec, size_t n) {
  ++write_gen_;
  write_timer_.cancel();
  if (closed()) return;
  if (ec) {
    CloseOnExecutor(Status::Unavailable("write: " + ec.message()));
    return;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    queued_frames_ -= writing_frames_;
    queued_bytes_ -= n;
  }
  writing_.clear();
  DoWrite();
}

void Connection::CloseOnExecutor(const Status& reason) {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    closing_ = true;
    queue_.clear();
    queued_frames_ = 0;  // nothing will be written any more
    queued_bytes_ = 0;
  }
  if (IsProtocolError(reason)) {
    LOG(WARNING) << "net: closing connection " << name_ << " (remote " << remote_address_
                 << "): " << reason;
  } else {
    VLOG(1) << "net: connection " << name_ << " (remote " << remote_address_
            << ") closed: " << reason;
  }
  error_code ignored;
  write_timer_.cancel();
  // No TLS close_notify: every frame carries its length, so a truncated stream is detected
  // without it, and a close must not wait on a remote that stopped reading.
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  auto on_close = std::move(on_close_);
  on_close_ = nullptr;
  on_frame_ = nullptr;
  on_oversized_ = nullptr;
  if (on_close) on_close(shared_from_this(), reason);
}

}  // namespace ringkv::net
