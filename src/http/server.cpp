#include "http/server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>

#include "core/ids.h"
#include "core/log.h"
#include "http/deadline.h"
#include "http/parsers.h"
#include "http/read_ahead.h"
#include "http/wire.h"

namespace lingxi::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
constexpr size_t kHeaderLimit = 16 * 1024;
constexpr size_t kReadSize = 4096;          // a request's header, and a small body with it
constexpr size_t kBodyReadSize = 64 * 1024;  // the rest of a large body

// A live connection, as the shutdown logic sees it. Fields are touched only on the
// connection's own io_context thread (shutdown posts there).
struct Connection {
  net::any_io_executor executor;
  tcp::socket* socket = nullptr;  // valid while the session coroutine runs
  bool busy = false;              // a request is being read, handled or written
};

}  // namespace

struct Server::Impl {
  ServerOptions opt;  // constant after construction
  Router router;      // constant after construction
  ErrorResponder on_error;
  Observer* observer;

  std::vector<std::unique_ptr<net::io_context>> contexts;  // one per I/O thread
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  tcp::acceptor acceptor;  // on contexts[0]
  net::signal_set signals;  // on contexts[0]
  net::steady_timer deadline;  // on contexts[0]
  std::atomic<bool> draining{false};
  std::atomic<bool> finished{false};

  std::mutex mu;
  std::unordered_set<std::shared_ptr<Connection>> connections;  // guarded by mu

  Impl(ServerOptions o, Router r, ErrorResponder e, Observer* obs)
      : opt(std::move(o)), router(std::move(r)), on_error(std::move(e)), observer(obs),
        contexts(MakeContexts(opt.io_threads)), acceptor(*contexts[0]), signals(*contexts[0]),
        deadline(*contexts[0]) {
    for (auto& c : contexts) guards.push_back(net::make_work_guard(*c));
  }

  static std::vector<std::unique_ptr<net::io_context>> MakeContexts(int n) {
    std::vector<std::unique_ptr<net::io_context>> v;
    for (int i = 0; i < std::max(1, n); ++i) v.push_back(std::make_unique<net::io_context>(1));
    return v;
  }

  net::awaitable<void> AcceptLoop() {
    size_t next = 0;
    while (!draining) {
      auto& ctx = *contexts[next++ % contexts.size()];
      auto [ec, socket] = co_await acceptor.async_accept(ctx.get_executor(), kTuple);
      if (ec) {
        if (draining || ec == net::error::operation_aborted) break;
        LogWarn("accept failed", {{"error", ec.message()}});
        // Out of descriptors: back off instead of spinning.
        net::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(kTuple);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      socket.non_blocking(true, ec);  // writes go out whole without waiting when they can (BatchedWrite)
      net::co_spawn(ctx, Session(std::move(socket)), [](std::exception_ptr e) {
        if (!e) return;
        try { std::rethrow_exception(e); } catch (const std::exception& ex) {
          LogError("connection ended by exception", {{"error", ex.what()}});
        }
      });
    }
  }

  std::shared_ptr<Connection> Register(const net::any_io_executor& ex) {
    std::lock_guard lock(mu);
    if (draining) return nullptr;
    auto c = std::make_shared<Connection>();
    c->executor = ex;
    connections.insert(c);
    return c;
  }

  void Unregister(const std::shared_ptr<Connection>& c) {
    bool last;
    {
      std::lock_guard lock(mu);
      connections.erase(c);
      last = connections.empty();
    }
    if (last && draining) Finish();
  }

  // Everything is closed: let every io_context run out of work.
  void Finish() {
    if (finished.exchange(true)) return;
    net::post(*contexts[0], [this] {
      deadline.cancel();
      for (auto& g : guards) g.reset();
    });
  }

  void BeginShutdown() {
    if (draining.exchange(true)) return;
    LogInfo("shutting down", {{"in_flight_deadline_ms", std::to_string(opt.shutdown_timeout.count()), true}});
    net::post(*contexts[0], [this] {
      beast::error_code ec;
      acceptor.close(ec);
      signals.cancel(ec);
      deadline.expires_after(opt.shutdown_timeout);
      deadline.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) ForceClose();
      });
      // Finish() may have run first (its post raced this one from another thread).
      if (finished) deadline.cancel();
    });
    std::vector<std::shared_ptr<Connection>> snapshot;
    {
      std::lock_guard lock(mu);
      snapshot.assign(connections.begin(), connections.end());
    }
    for (auto& c : snapshot) {
      net::post(c->executor, [c] {
        if (!c->busy && c->socket) {  // idle keep-alive: close now
          beast::error_code ec;
          c->socket->cancel(ec);
        }
      });
    }
    if (snapshot.empty()) Finish();
  }

  // The deadline passed: close what is left; stop the loops shortly after if a handler
  // still does not return.
  void ForceClose() {
    std::vector<std::shared_ptr<Connection>> snapshot;
    {
      std::lock_guard lock(mu);
      snapshot.assign(connections.begin(), connections.end());
    }
    LogWarn("shutdown deadline passed; closing connections", {{"open", std::to_string(snapshot.size()), true}});
    for (auto& c : snapshot) {
      net::post(c->executor, [c] {
        beast::error_code ec;
        if (c->socket) c->socket->close(ec);
      });
    }
    deadline.expires_after(std::chrono::seconds(1));
    deadline.async_wait([this](beast::error_code ec) {
      if (ec) return;
      for (auto& ctx : contexts) ctx->stop();
    });
  }

  net::awaitable<void> Session(tcp::socket socket) {
    auto conn = Register(socket.get_executor());
    if (!conn) co_return;  // accepted while draining: just close
    conn->socket = &socket;
    Deadline deadline(socket);
    std::string remote;
    {
      beast::error_code ec;
      auto ep = socket.remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string();
    }
    beast::flat_buffer buffer;
    ReadAhead ahead;
    After after = After::kClose;
    try {
      while (!draining) {
        conn->busy = false;
        if (buffer.size() == 0) {
          deadline.ExpiresAfter(opt.idle_timeout);
          if (co_await ReadMore(socket, buffer, ahead, kReadSize)) break;  // closed, idle timeout or shutdown
        }
        conn->busy = true;
        after = co_await ServeOne(socket, deadline, buffer, ahead, remote);
        if (after != After::kKeepOpen) break;
      }
    } catch (const std::exception& e) {
      LogError("connection failed", {{"error", e.what()}, {"remote", remote}});
    }
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    if (after == After::kCloseLingering && !ec) co_await wire::Linger(socket, deadline);
    conn->socket = nullptr;
    socket.close(ec);
    Unregister(conn);
  }

  // What happens to the connection after a response.
  enum class After {
    kKeepOpen,
    kClose,
    kCloseLingering,  // the client may still be sending a body we refused; see wire::Linger()
  };

  // How reading a request ended.
  enum class ReadEnd {
    kDone,       // a whole request is in
    kGone,       // the peer left or was too slow: nothing to answer
    kRefused,    // answered with an error in `res`; unread input may follow
  };

  // Appends the next bytes from the peer: the read started ahead when there is one.
  static net::awaitable<beast::error_code> ReadMore(tcp::socket& socket, beast::flat_buffer& buffer, ReadAhead& ahead,
                                                    size_t size) {
    if (ahead.pending()) co_return co_await ahead.Finish(buffer);
    auto [ec, n] = co_await socket.async_read_some(buffer.prepare(size), kTuple);
    if (!ec) buffer.commit(n);
    co_return ec;
  }

  // Reads one request into `req`: feeds the buffered bytes to the parser and reads more while
  // it needs them. The header must be in within header_timeout of its first byte, the body
  // within body_timeout of the header's end.
  net::awaitable<ReadEnd> ReadRequest(tcp::socket& socket, Deadline& deadline, beast::flat_buffer& buffer,
                                      ReadAhead& ahead, Clock::time_point start, Request& req, Response& res,
                                      bool& keep_alive) {
    RequestParser parser(req);
    parser.header_limit(kHeaderLimit);
    // No body limit while reading the header: the Content-Length check below answers 413
    // with the sizes; the limit is set before the body is read (it bounds chunked bodies).
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    auto until = start + opt.header_timeout;  // from the request's first byte, about
    bool header_seen = false;
    for (;;) {
      beast::error_code ec;
      size_t used = 0;
      if (!parser.is_done() && buffer.size() > 0) {
        used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == bhttp::error::need_more) ec = {};
      }
      if (ec == bhttp::error::header_limit) {
        res = on_error(Status::InvalidArgument(fmt::format("request header exceeds {} bytes", kHeaderLimit)));
        res.status = 431;
        co_return ReadEnd::kRefused;
      }
      if (ec == bhttp::error::body_limit) {
        res = on_error(Status::PayloadTooLarge(fmt::format("request body exceeds the limit of {} bytes", opt.body_limit)));
        co_return ReadEnd::kRefused;
      }
      if (ec) {
        res = on_error(Status::InvalidArgument(std::string(header_seen ? "malformed HTTP request body: " : "malformed HTTP request: ") + ec.message()));
        co_return ReadEnd::kRefused;
      }
      if (parser.is_header_done() && !header_seen) {
        header_seen = true;
        auto length = parser.content_length();
        if (length && *length > opt.body_limit) {
          res = on_error(Status::PayloadTooLarge(
              fmt::format("request body of {} bytes exceeds the limit of {} bytes", *length, opt.body_limit)));
          co_return ReadEnd::kRefused;
        }
        parser.body_limit(opt.body_limit);
        parser.eager(true);  // from here, each put() parses all the body bytes it is given
        until = Clock::time_point::min();  // body_timeout from the first wait for body bytes
        if (!parser.is_done() && buffer.size() == 0 &&
            bhttp::token_list(req.headers.Get("Expect")).exists("100-continue")) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          deadline.ExpiresAfter(opt.idle_timeout);
          co_await net::async_write(socket, net::buffer(kContinue), kTuple);
        }
        continue;  // the body may be in the buffer already
      }
      if (parser.is_done()) {
        keep_alive = parser.keep_alive();
        co_return ReadEnd::kDone;
      }
      if (used > 0 && buffer.size() > 0) continue;
      if (until == Clock::time_point::min()) until = Clock::now() + opt.body_timeout;
      deadline.ExpiresAt(until);
      size_t want = header_seen ? kBodyReadSize : kReadSize;
      if (co_await ReadMore(socket, buffer, ahead, want)) co_return ReadEnd::kGone;  // the peer left, reset, was too slow, or shutdown
    }
  }

  // Reads, handles and answers one request.
  net::awaitable<After> ServeOne(tcp::socket& socket, Deadline& deadline, beast::flat_buffer& buffer,
                                 ReadAhead& ahead, const std::string& remote) {
    const auto start = Clock::now();
    if (observer) observer->OnRequestStart();
    Request req;
    req.remote_address = remote;
    Response res;
    std::string_view route;
    bool keep_alive = false;
    ReadEnd read = co_await ReadRequest(socket, deadline, buffer, ahead, start, req, res, keep_alive);
    bool respond = read != ReadEnd::kGone;
    bool unread_input = read == ReadEnd::kRefused;  // a body was refused, or the request was malformed
    if (!req.method.empty()) {
      std::string_view client_id = req.headers.Get("X-Request-Id");
      req.request_id = IsValidRequestId(client_id) ? std::string(client_id) : NewRequestId();
    } else {
      req.request_id = NewRequestId();
    }
    if (read == ReadEnd::kDone) {
      deadline.Never();  // the handler may take long; writes set their own limit
      ahead.Start(socket, req.client_gone);  // notices the client leaving meanwhile
      res = co_await Dispatch(req, route);
    }

    uint64_t bytes_out = 0;
    bool write_ok = true;
    if (respond) {
      keep_alive = keep_alive && !draining && !unread_input;
      bool head = req.method == "HEAD";
      auto [ok, n] = co_await wire::WriteResponse(socket, deadline, req, res, keep_alive, head, opt.idle_timeout);
      write_ok = ok;
      bytes_out = n;
    }
    ahead.StopWatching();
    const auto elapsed = Clock::now() - start;
    RequestRecord rec{req.method, route, respond ? res.status : 499, req.body.size(), bytes_out, elapsed};
    if (observer) observer->OnRequestEnd(rec);
    if (opt.access_log && (respond || !req.method.empty())) wire::LogAccess(req, rec);
    if (respond && write_ok && keep_alive) co_return After::kKeepOpen;
    co_return respond && write_ok && unread_input ? After::kCloseLingering : After::kClose;
  }

  net::awaitable<Response> Dispatch(Request& req, std::string_view& route) {
    auto match = router.Find(req.method, req.path);
    route = match.route;
    if (!match.handler) {
      if (match.allowed.empty()) co_return on_error(Status::NotFound(fmt::format("no route for {} {}", req.method, req.path)));
      Response r = on_error(Status::MethodNotAllowed(fmt::format("{} is not allowed on {}", req.method, req.path)));
      std::string allow;
      for (const auto& m : match.allowed) {
        if (!allow.empty()) allow += ", ";
        allow += m;
        if (m == "GET") allow += ", HEAD";
      }
      r.headers.Set("Allow", allow);
      co_return r;
    }
    req.path_params = std::move(match.params);
    try {
      co_return co_await (*match.handler)(req);
    } catch (const std::exception& e) {
      LogError("handler failed", {{"request_id", req.request_id}, {"route", std::string(route)}, {"error", e.what()}});
      co_return on_error(Status::Internal("internal error; see the server log for request " + req.request_id));
    }
  }

};

Server::Server(ServerOptions options, Router router, ErrorResponder on_error, Observer* observer)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), std::move(on_error), observer)) {}

Server::~Server() = default;

Status Server::Listen() {
  auto& a = impl_->acceptor;
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->opt.host, ec);
  if (ec) return Status::InvalidArgument(fmt::format("server.host: not an IP address: \"{}\"", impl_->opt.host));
  tcp::endpoint ep(address, impl_->opt.port);
  auto where = fmt::format("{}:{}", impl_->opt.host, impl_->opt.port);
  if (a.open(ep.protocol(), ec); ec) return Status::Unavailable(fmt::format("cannot open socket for {}: {}", where, ec.message()));
  a.set_option(net::socket_base::reuse_address(true), ec);
  if (a.bind(ep, ec); ec) return Status::Unavailable(fmt::format("cannot bind {}: {}", where, ec.message()));
  if (a.listen(net::socket_base::max_listen_connections, ec); ec)
    return Status::Unavailable(fmt::format("cannot listen on {}: {}", where, ec.message()));
  return Status::Ok();
}

uint16_t Server::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void Server::HandleSignals() {
  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  impl_->signals.async_wait([this](beast::error_code ec, int) {
    if (!ec) Shutdown();
  });
}

void Server::Run() {
  net::co_spawn(*impl_->contexts[0], impl_->AcceptLoop(), net::detached);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->contexts.size(); ++i) threads.emplace_back([this, i] { impl_->contexts[i]->run(); });
  impl_->contexts[0]->run();
  for (auto& t : threads) t.join();
}

void Server::Shutdown() { impl_->BeginShutdown(); }

}  // namespace lingxi::http
