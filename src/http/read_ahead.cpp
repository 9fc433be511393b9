#include "http/read_ahead.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstring>

namespace lingxi::http {

namespace net = boost::asio;

void ReadAhead::Start(net::ip::tcp::socket& socket, std::shared_ptr<ClientGone> gone) {
  if (state_) {
    state_->gone = std::move(gone);
    return;
  }
  state_ = std::make_shared<State>();
  state_->gone = std::move(gone);
  socket.async_read_some(net::buffer(state_->bytes), [s = state_](boost::system::error_code ec, size_t n) {
    s->done = true;
    s->ec = ec;
    s->n = n;
    if (s->waiter) {  // the session waits for these bytes
      auto h = std::move(*s->waiter);
      s->waiter.reset();
      std::move(h)(ec, n);
    } else if (ec && s->gone) {
      s->gone->Fire();  // closed or reset while its request was being handled
    }
  });
}

net::awaitable<boost::system::error_code> ReadAhead::Finish(boost::beast::flat_buffer& buffer) {
  auto s = std::move(state_);
  if (!s->done) {
    auto token = net::as_tuple(net::use_awaitable);
    auto wait = [&s](auto handler) { s->waiter.emplace(std::move(handler)); };
    co_await net::async_initiate<decltype(token), void(boost::system::error_code, size_t)>(wait, token);
  }
  if (s->ec) co_return s->ec;
  std::memcpy(buffer.prepare(s->n).data(), s->bytes.data(), s->n);
  buffer.commit(s->n);
  co_return s->ec;
}

}  // namespace lingxi::http
