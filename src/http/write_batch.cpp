#include "http/write_batch.h"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cassert>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

namespace lingxi::http {

namespace net = boost::asio;

namespace {

size_t TryWrite(net::ip::tcp::socket& socket, const WriteBuffers& buffers) {
  boost::system::error_code ec;
  size_t n = socket.write_some(buffers, ec);
  if (ec == net::error::would_block || ec == net::error::try_again) return 0;
  return ec ? kWriteFailed : n;
}

struct Write {
  net::ip::tcp::socket* socket;
  WriteBuffers buffers;
  net::any_completion_handler<void(size_t)> resume;
  size_t written = 0;  // what TryWrite returned at the flush
};

struct Batch;
// The batch this thread is filling; its flush is already posted.
thread_local Batch* filling = nullptr;

struct Batch {
  std::vector<Write> writes;
#ifndef NDEBUG
  std::thread::id thread = std::this_thread::get_id();
#endif
  ~Batch() {
    if (filling == this) filling = nullptr;  // destroyed unflushed: the io_context shut down
  }
};

// The posted handler. It owns the batch, so an io_context destroyed with the flush still
// queued destroys the waiting writers' handlers, as it does those of any pending operation.
struct Flush {
  std::unique_ptr<Batch> batch;
  void operator()() {
    assert(batch->thread == std::this_thread::get_id() && "write batches need a one-thread io_context");
    filling = nullptr;  // writes from here on start the next batch
    // All the sends first, then the writers: each resumes with its peer already at work.
    for (auto& w : batch->writes) w.written = TryWrite(*w.socket, w.buffers);
    // We run on the writers' own one-thread executor: calling each handler here is what
    // dispatching it would do.
    for (auto& w : batch->writes) std::move(w.resume)(w.written);
  }
};

}  // namespace

// Not a coroutine itself: the awaitable is the initiation's own, one frame less per write.
net::awaitable<size_t> BatchedWrite(net::ip::tcp::socket& socket, WriteBuffers buffers) {
  auto queue = [&socket, buffers](auto handler) {
    if (!filling) {
      auto batch = std::make_unique<Batch>();
      batch->writes.reserve(16);
      filling = batch.get();
      net::post(socket.get_executor(), Flush{std::move(batch)});
    }
    filling->writes.push_back(Write{&socket, buffers, std::move(handler), 0});
  };
  return net::async_initiate<const net::use_awaitable_t<>, void(size_t)>(queue, net::use_awaitable);
}

}  // namespace lingxi::http
