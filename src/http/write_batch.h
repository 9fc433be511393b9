// Internal to http/: writes gathered during one turn of an I/O thread's event loop and sent
// back to back at its end.
//
// Under load one epoll_wait hands the thread many ready sockets, whose handlers then run one
// after another. A handler that sent its upstream request (or its response) at once woke a
// peer that answered and went back to sleep before the next handler's send came, so nearly
// every send paid for a wake-up, which on another core is an inter-processor interrupt taken
// inside our send. Writes queued here go out together after the handlers already queued have
// run, as Redis sends its replies just before it sleeps: one wake-up serves the whole batch,
// and each writer's next read comes after all the sends, when its answer may already be
// there. A lone write waits only for the handlers ahead of it.
//
// The socket's executor must be an io_context run by one thread (lingxi runs one per I/O
// thread): a batch is filled and flushed on that thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <cstddef>

namespace lingxi::http {

using WriteBuffers = std::array<boost::asio::const_buffer, 2>;
inline constexpr size_t kWriteFailed = static_cast<size_t>(-1);

// Writes what the non-blocking `socket` takes of `buffers`, without waiting, when this turn's
// batch is flushed. Returns the bytes written (a small message usually goes whole; the caller
// writes the rest asynchronously), or kWriteFailed when the connection is broken. The socket
// and the bytes must outlive the wait, as they do in the awaiting coroutine.
boost::asio::awaitable<size_t> BatchedWrite(boost::asio::ip::tcp::socket& socket, WriteBuffers buffers);

}  // namespace lingxi::http
