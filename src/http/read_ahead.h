// Internal to http/: the connection's next read, started as soon as a request is in.
//
// While the handler runs it is how the server notices the client leaving: EOF or a reset
// fires the request's ClientGone. Bytes that arrive instead are the next (pipelined)
// request. When the server needs more bytes it finishes this read instead of starting
// another: one read per request, and watching the peer costs no extra wait, cancel or
// epoll_ctl. Used on the connection's thread only.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <array>
#include <memory>
#include <optional>

#include "http/message.h"

namespace lingxi::http {

class ReadAhead {
 public:
  // Starts the read unless one is pending; either way a close now fires `gone`.
  void Start(boost::asio::ip::tcp::socket& socket, std::shared_ptr<ClientGone> gone);
  bool pending() const { return state_ != nullptr; }
  // The response is out: a close from here on is no longer the request's client leaving.
  void StopWatching() {
    if (state_) state_->gone.reset();
  }
  // Waits for the pending read and appends what it read to `buffer`.
  boost::asio::awaitable<boost::system::error_code> Finish(boost::beast::flat_buffer& buffer);

 private:
  // Shared with the read's completion, which may run after the session is gone (the socket
  // closed under it): the bytes land here, not in the session's buffer.
  struct State {
    State() {}  // user-provided: make_shared must not zero `bytes` (4 KiB) per request
    bool done = false;
    boost::system::error_code ec;
    size_t n = 0;
    std::shared_ptr<ClientGone> gone;
    std::optional<boost::asio::any_completion_handler<void(boost::system::error_code, size_t)>> waiter;
    std::array<char, 4096> bytes;
  };
  std::shared_ptr<State> state_;
};

}  // namespace lingxi::http
