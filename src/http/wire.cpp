#include "http/wire.h"

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <cerrno>
#include <ctime>

#include <fmt/format.h>

#include "core/log.h"
#include "core/version.h"

namespace lingxi::http::wire {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

// RFC 9110 IMF-fixdate, recomputed at most once a second per thread.
const std::string& HttpDate() {
  thread_local std::time_t cached_second = 0;
  thread_local std::string cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached = buf;
    cached_second = now;
  }
  return cached;
}

template <typename Message>
void SetHeaders(Message& m, const Request& req, const Response& res, bool keep_alive) {
  m.set(bhttp::field::server, "lingxi/" LINGXI_VERSION);
  m.set(bhttp::field::date, HttpDate());
  m.set("X-Request-Id", req.request_id);
  for (const auto& [k, v] : res.headers.entries()) m.insert(k, v);
  m.keep_alive(keep_alive);
  // HTTP/1.0 clients close unless told otherwise.
  if (keep_alive && req.version == 10) m.set(bhttp::field::connection, "keep-alive");
}

}  // namespace

net::awaitable<std::pair<bool, uint64_t>> WriteResponse(beast::tcp_stream& stream, const Request& req, Response& res,
                                                        bool keep_alive, bool head,
                                                        std::chrono::milliseconds write_timeout) {
  stream.expires_after(write_timeout);
  if (!res.stream || head) {
    if (head) {
      bhttp::response<bhttp::empty_body> m{static_cast<bhttp::status>(res.status), 11};
      SetHeaders(m, req, res, keep_alive);
      if (!res.stream) m.content_length(res.body.size());
      auto [ec, n] = co_await bhttp::async_write(stream, m, kTuple);
      co_return std::pair{!ec, uint64_t{n}};
    }
    bhttp::response<bhttp::string_body> m{static_cast<bhttp::status>(res.status), 11};
    SetHeaders(m, req, res, keep_alive);
    m.body() = std::move(res.body);
    m.prepare_payload();
    auto [ec, n] = co_await bhttp::async_write(stream, m, kTuple);
    co_return std::pair{!ec, uint64_t{n}};
  }
  bhttp::response<bhttp::empty_body> m{static_cast<bhttp::status>(res.status), 11};
  SetHeaders(m, req, res, keep_alive);
  m.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> sr{m};
  auto [ec, total] = co_await bhttp::async_write_header(stream, sr, kTuple);
  if (ec) co_return std::pair{false, uint64_t{total}};
  while (auto chunk = co_await res.stream->Next()) {
    if (chunk->empty()) continue;  // an empty chunk would end the body
    stream.expires_after(write_timeout);
    auto [wec, n] = co_await net::async_write(stream, bhttp::make_chunk(net::buffer(*chunk)), kTuple);
    total += n;
    if (wec) {
      res.stream.reset();  // the client left: the producer learns it here
      co_return std::pair{false, uint64_t{total}};
    }
  }
  auto [lec, n] = co_await net::async_write(stream, bhttp::make_chunk_last(), kTuple);
  co_return std::pair{!lec, uint64_t{total + n}};
}

net::awaitable<void> Linger(beast::tcp_stream& stream) {
  static constexpr uint64_t kMaxDrain = 64ull << 20;
  stream.expires_after(std::chrono::seconds(2));
  std::array<char, 16384> sink;
  uint64_t drained = 0;
  while (drained < kMaxDrain) {
    auto [ec, n] = co_await stream.async_read_some(net::buffer(sink), kTuple);
    if (ec) break;
    drained += n;
  }
}

net::awaitable<void> WatchPeer(tcp::socket& socket, std::shared_ptr<ClientGone> gone) {
  auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, kTuple);
  if (ec) co_return;  // cancelled: the handler finished
  char c;
  ssize_t n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) gone->Fire();
}

void LogAccess(const Request& req, const RequestRecord& rec) {
  double ms = std::chrono::duration<double, std::milli>(rec.duration).count();
  LogInfo("request", {{"request_id", req.request_id},
                      {"remote", req.remote_address},
                      {"method", req.method},
                      {"path", req.path},
                      {"route", std::string(rec.route)},
                      {"status", std::to_string(rec.status), true},
                      {"bytes_in", std::to_string(rec.bytes_in), true},
                      {"bytes_out", std::to_string(rec.bytes_out), true},
                      {"duration_ms", fmt::format("{:.3f}", ms), true},
                      {"user_agent", std::string(req.headers.Get("User-Agent"))}});
}

}  // namespace lingxi::http::wire
