// Mailbox<T>: hands values from an engine's compute thread to the I/O coroutine that awaits
// them, without polling. Push() and Close() may be called from any thread; Next() is awaited
// by one consumer on the executor given at construction. Cancel() is the consumer telling the
// producer to stop (client gone); the producer checks cancelled() between steps, or, when it
// waits on something else (a network read), registers OnCancel() to be woken.
//
// Shared by producer and consumer through std::shared_ptr. The executor's io_context must
// outlive every Push(): engines are stopped before the server's event loops are destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/container/small_vector.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>

#include "http/message.h"

namespace lingxi::engine {

template <typename T>
class Mailbox {
 public:
  explicit Mailbox(boost::asio::any_io_executor executor) : bell_(executor, 1) {}

  // Producer side.
  void Push(T value) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(value));
    }
    Ring();
  }
  // No more values will come; Next() returns nullopt once the queue is drained.
  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    Ring();
  }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

  // Consumer side. The next value, or nullopt once closed and drained.
  http::Task<std::optional<T>> Next() {
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (head_ < queue_.size()) co_return PopLocked();
        if (closed_) co_return std::nullopt;
      }
      // A ring that happened before we got here is kept in the channel's one-slot buffer.
      co_await bell_.async_receive(boost::asio::use_awaitable);
    }
  }
  // Next() without waiting, for a consumer that can skip a suspension when a value is there:
  // the value, or nullopt when none is queued (closed or not).
  std::optional<T> TryNext() {
    std::lock_guard lock(mu_);
    if (head_ == queue_.size()) return std::nullopt;
    return PopLocked();
  }
  void Cancel() {
    std::function<void()> hook;
    {
      std::lock_guard lock(mu_);
      if (cancelled_.exchange(true, std::memory_order_relaxed)) return;
      hook = std::move(on_cancel_);
    }
    if (hook) hook();
  }
  // Producer side: `f` runs once, on the thread that cancels (at once if already cancelled).
  void OnCancel(std::function<void()> f) {
    {
      std::lock_guard lock(mu_);
      if (!cancelled_.load(std::memory_order_relaxed)) {
        on_cancel_ = std::move(f);
        return;
      }
    }
    f();
  }

 private:
  void Ring() { bell_.try_send(boost::system::error_code{}); }  // full means already rung

  T PopLocked() {
    T v = std::move(queue_[head_++]);
    if (head_ == queue_.size()) {  // drained: reuse the storage from the start
      queue_.clear();
      head_ = 0;
    } else if (head_ >= 64 && head_ * 2 >= queue_.size()) {  // a consumer that never catches up
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return v;
  }

  std::mutex mu_;
  // Values not yet taken are queue_[head_..]. Inline room for a whole short answer (a text
  // chunk and the final one) keeps the common case free of allocations.
  boost::container::small_vector<T, 2> queue_;  // guarded by mu_
  size_t head_ = 0;                             // guarded by mu_
  bool closed_ = false;  // guarded by mu_
  std::function<void()> on_cancel_;  // guarded by mu_
  std::atomic<bool> cancelled_{false};
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> bell_;
};

}  // namespace lingxi::engine
