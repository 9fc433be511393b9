// Mailbox<T>: hands values from an engine's compute thread to the I/O coroutine that awaits
// them, without polling. Push() and Close() may be called from any thread; Next() is awaited
// by one consumer on the executor given at construction. Cancel() is the consumer telling the
// producer to stop (client gone); the producer checks cancelled() between steps.
//
// Shared by producer and consumer through std::shared_ptr. The executor's io_context must
// outlive every Push(): engines are stopped before the server's event loops are destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <mutex>
#include <optional>

#include "engine/inline_fifo.h"
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
      queue_.Push(std::move(value));
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
        if (!queue_.empty()) co_return queue_.Pop();
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
    return queue_.TryPop();
  }
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }

 private:
  void Ring() { bell_.try_send(boost::system::error_code{}); }  // full means already rung

  std::mutex mu_;
  InlineFifo<T, 2> queue_;  // guarded by mu_
  bool closed_ = false;     // guarded by mu_
  std::atomic<bool> cancelled_{false};
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> bell_;
};

}  // namespace lingxi::engine
