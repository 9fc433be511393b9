#include "http/wire.h"

#include <boost/asio.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/http/status.hpp>

#include <array>
#include <charconv>
#include <ctime>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "core/log.h"
#include "core/version.h"
#include "http/write_batch.h"

namespace lingxi::http::wire {

using namespace std::string_view_literals;

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

// Header values come from handlers; a CR or LF in one would split the response.
void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": "sv;
  size_t from = out.size();
  out += value;
  for (size_t i = from; i < out.size(); ++i)
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  out += "\r\n"sv;
}

// The status line and header block, ending with the empty line. `length`: Content-Length,
// or nullopt for a chunked body (nullopt with `head`: neither).
void RenderHead(std::string& out, const Request& req, const Response& res, bool keep_alive, bool head,
                std::optional<uint64_t> length) {
  char num[32];
  out += "HTTP/1.1 "sv;
  out.append(num, std::to_chars(num, num + sizeof num, res.status).ptr);
  out += ' ';
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(res.status));
  out.append(reason.data(), reason.size());
  out += "\r\nServer: lingxi/" LINGXI_VERSION "\r\nDate: "sv;
  out += HttpDate();
  out += "\r\n"sv;
  AppendField(out, "X-Request-Id", req.request_id);
  res.headers.ForEach([&out](std::string_view k, std::string_view v) {
    if (EqualsIgnoreCase(k, "Content-Length") || EqualsIgnoreCase(k, "Transfer-Encoding") ||
        EqualsIgnoreCase(k, "Connection"))
      return;  // framing is the server's
    AppendField(out, k, v);
  });
  if (length) {
    out += "Content-Length: "sv;
    out.append(num, std::to_chars(num, num + sizeof num, *length).ptr);
    out += "\r\n"sv;
  } else if (!head) {
    out += "Transfer-Encoding: chunked\r\n"sv;
  }
  if (!keep_alive) out += "Connection: close\r\n"sv;
  else if (req.version == 10) out += "Connection: keep-alive\r\n"sv;  // HTTP/1.0 closes unless told
  out += "\r\n"sv;
}

// Writes `a` then `b` with the turn's batch (write_batch.h), and asynchronously what the
// socket did not take then. All or fail; a cut by the deadline is a failure like any other.
net::awaitable<bool> WriteAll(tcp::socket& socket, Deadline& deadline, std::chrono::milliseconds timeout,
                              std::string_view a, std::string_view b = {}) {
  WriteBuffers buffers{net::buffer(a), net::buffer(b)};
  size_t written = co_await BatchedWrite(socket, buffers);
  if (written == a.size() + b.size()) co_return true;
  if (written == kWriteFailed) co_return false;
  deadline.ExpiresAfter(timeout);
  beast::buffers_suffix<WriteBuffers> rest(buffers);
  rest.consume(written);
  auto [ec, _] = co_await net::async_write(socket, rest, kTuple);
  co_return !ec;
}

}  // namespace

net::awaitable<std::pair<bool, uint64_t>> WriteResponse(tcp::socket& socket, Deadline& deadline, const Request& req,
                                                        Response& res, bool keep_alive, bool head,
                                                        std::chrono::milliseconds write_timeout) {
  std::string out;
  if (!res.stream || head) {
    std::optional<uint64_t> length;
    if (!res.stream) length = res.body.size();
    out.reserve(256 + (head ? 0 : res.body.size()));
    RenderHead(out, req, res, keep_alive, head, length);
    // A small body goes in the same buffer: one send, one packet.
    std::string_view body = head ? std::string_view() : std::string_view(res.body);
    if (body.size() <= 16384) {
      out += body;
      body = {};
    }
    bool ok = co_await WriteAll(socket, deadline, write_timeout, out, body);
    co_return std::pair{ok, uint64_t{out.size() + body.size()}};
  }
  RenderHead(out, req, res, keep_alive, false, std::nullopt);
  uint64_t total = out.size();
  if (!co_await WriteAll(socket, deadline, write_timeout, out)) co_return std::pair{false, total};
  while (auto chunk = co_await res.stream->Next()) {
    if (chunk->empty()) continue;  // an empty chunk would end the body
    out.clear();
    char size[24];
    out.append(size, fmt::format_to(size, "{:x}\r\n", chunk->size()));
    out += *chunk;
    out += "\r\n"sv;
    total += out.size();
    if (!co_await WriteAll(socket, deadline, write_timeout, out)) {
      res.stream.reset();  // the client left: the producer learns it here
      co_return std::pair{false, total};
    }
  }
  static constexpr std::string_view kLast = "0\r\n\r\n";
  bool ok = co_await WriteAll(socket, deadline, write_timeout, kLast);
  co_return std::pair{ok, total + kLast.size()};
}

net::awaitable<void> Linger(tcp::socket& socket, Deadline& deadline) {
  static constexpr uint64_t kMaxDrain = 64ull << 20;
  deadline.ExpiresAfter(std::chrono::seconds(2));
  std::array<char, 16384> sink;
  uint64_t drained = 0;
  while (drained < kMaxDrain) {
    auto [ec, n] = co_await socket.async_read_some(net::buffer(sink), kTuple);
    if (ec) break;
    drained += n;
  }
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
