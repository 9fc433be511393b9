#include "http/client.h"

#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <charconv>

#include <fmt/format.h>

#include "core/version.h"
#include "http/deadline.h"
#include "http/parsers.h"
#include "http/write_batch.h"

namespace lingxi::http {

using namespace std::string_view_literals;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
constexpr size_t kReadSize = 16384;

// ---------------------------------------------------------------------------------------------
// Url

Result<Url> Url::Parse(std::string_view text) {
  Url u;
  size_t colon = text.find("://");
  if (colon == std::string_view::npos) return Status::InvalidArgument(fmt::format("\"{}\": expected http:// or https://", text));
  u.scheme = std::string(text.substr(0, colon));
  for (auto& c : u.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (u.scheme != "http" && u.scheme != "https")
    return Status::InvalidArgument(fmt::format("\"{}\": expected http:// or https://", text));
  std::string_view rest = text.substr(colon + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos || path.find_first_of("?#") != std::string_view::npos)
    return Status::InvalidArgument(fmt::format("\"{}\": user info, query and fragment are not allowed", text));
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8000
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument(fmt::format("\"{}\": unclosed [", text));
    u.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Status::InvalidArgument(fmt::format("\"{}\": bad host", text));
      port = authority.substr(close + 2);
    }
  } else {
    size_t pc = authority.rfind(':');
    u.host = std::string(authority.substr(0, pc));
    if (pc != std::string_view::npos) port = authority.substr(pc + 1);
  }
  if (u.host.empty()) return Status::InvalidArgument(fmt::format("\"{}\": no host", text));
  if (port.empty()) {
    u.port = u.tls() ? "443" : "80";
  } else {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      return Status::InvalidArgument(fmt::format("\"{}\": bad port", text));
    u.port = std::string(port);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  u.path = std::string(path);
  return u;
}

std::string Url::Origin() const {
  bool v6 = host.find(':') != std::string::npos;
  std::string out;
  out.reserve(scheme.size() + host.size() + port.size() + 6);
  out.append(scheme).append(v6 ? "://[" : "://").append(host).append(v6 ? "]:" : ":").append(port);
  return out;
}

void Url::AppendHostHeader(std::string& out) const {
  bool v6 = host.find(':') != std::string::npos;
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  if (port != (tls() ? "443" : "80")) out.append(":").append(port);
}

std::string Url::HostHeader() const {
  std::string out;
  AppendHostHeader(out);
  return out;
}

std::string Url::ToString() const { return scheme + "://" + HostHeader() + path; }

// ---------------------------------------------------------------------------------------------
// Connection: one TCP or TLS stream, bound to the executor that opened it.

struct Connection {
  explicit Connection(net::any_io_executor ex) : executor(std::move(ex)) {}
  net::any_io_executor executor;
  std::string origin;
  std::optional<tcp::socket> plain;
  std::optional<ssl::stream<tcp::socket>> tls;
  std::optional<Deadline> deadline;  // on socket(), once the stream exists
  beast::flat_buffer buffer;         // bytes read and not parsed yet
  Clock::time_point idle_since;
  bool reused = false;

  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
  // Runs `f` with whichever stream this is; both branches must return the same type.
  template <typename F>
  auto Visit(F&& f) {
    return tls ? f(*tls) : f(*plain);
  }
};

struct HttpClient::TlsContext {
  ssl::context ctx{ssl::context::tls_client};
};

namespace {

// `timed_out`: the connection's deadline cut the operation that failed with `ec`.
Status NetError(const std::string& what, const Url& url, const beast::error_code& ec, bool timed_out) {
  if (timed_out) return Status::DeadlineExceeded(fmt::format("{} {}: timed out", what, url.ToString()));
  return Status::Unavailable(fmt::format("{} {}: {}", what, url.ToString(), ec.message()));
}

// The request line and header block, then the body: one buffer, one write.
std::string RenderRequest(const ClientRequest& r) {
  std::string out;
  out.reserve(256 + r.body.size());
  out += r.method;
  out += ' ';
  out += r.url.path.empty() ? std::string_view("/") : std::string_view(r.url.path);
  out += " HTTP/1.1\r\nHost: "sv;
  r.url.AppendHostHeader(out);
  out += "\r\nUser-Agent: lingxi/" LINGXI_VERSION "\r\n"sv;
  r.headers.ForEach([&out](std::string_view k, std::string_view v) {
    out += k;
    out += ": "sv;
    out += v;
    out += "\r\n"sv;
  });
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
    char num[24];
    out += "Content-Length: "sv;
    out.append(num, std::to_chars(num, num + sizeof num, r.body.size()).ptr);
    out += "\r\n"sv;
  }
  out += "\r\n"sv;
  out += r.body;
  return out;
}

bool IsTlsVerifyError(const beast::error_code& ec) {
  return ec.category() == net::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// HttpClient

HttpClient::HttpClient(ClientOptions options) : options_(std::move(options)), tls_(std::make_unique<TlsContext>()) {
  auto& ctx = tls_->ctx;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (options_.ca_file.empty()) ctx.set_default_verify_paths(ec);
  else ctx.load_verify_file(options_.ca_file, ec);  // a bad file shows as verify failures
  ctx.set_verify_mode(options_.verify_tls ? ssl::verify_peer : ssl::verify_none);
}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() {
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> drop;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    drop.swap(idle_);
  }
}

size_t HttpClient::idle_connections() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [_, v] : idle_) n += v.size();
  return n;
}

std::unique_ptr<Connection> HttpClient::Checkout(const std::string& origin, const net::any_io_executor& ex) {
  std::lock_guard lock(mu_);
  auto it = idle_.find(origin);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  auto now = CoarseNow();
  // Most recently returned first: the one least likely to have been closed by the server.
  for (size_t i = list.size(); i-- > 0;) {
    if (list[i]->executor != ex) continue;
    auto conn = std::move(list[i]);
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
    if (now - conn->idle_since > options_.max_idle_time) return nullptr;  // dropped here, on its thread
    conn->reused = true;
    return conn;
  }
  return nullptr;
}

void HttpClient::Return(std::unique_ptr<Connection> conn) {
  conn->idle_since = CoarseNow();
  conn->deadline->Never();
  std::lock_guard lock(mu_);
  if (closed_) return;
  auto& list = idle_[conn->origin];
  if (list.size() >= options_.max_idle_per_origin) return;
  list.push_back(std::move(conn));
}

Task<Result<std::unique_ptr<Connection>>> HttpClient::Connect(const Url& url) {
  auto ex = co_await net::this_coro::executor;
  auto conn = std::make_unique<Connection>(ex);
  conn->origin = url.Origin();
  tcp::resolver resolver(ex);
  auto [rec, endpoints] = co_await resolver.async_resolve(url.host, url.port, kTuple);
  if (rec) co_return Status::Unavailable(fmt::format("resolve {}: {}", url.host, rec.message()));
  if (url.tls()) conn->tls.emplace(ex, tls_->ctx);
  else conn->plain.emplace(ex);
  conn->deadline.emplace(conn->socket());
  conn->deadline->ExpiresAfter(options_.connect_timeout);
  auto [cec, _] = co_await net::async_connect(conn->socket(), endpoints, kTuple);
  if (cec) co_return NetError("connect", url, cec, conn->deadline->expired());
  conn->socket().set_option(tcp::no_delay(true));
  conn->socket().non_blocking(true);  // writes go out whole without waiting when they can (BatchedWrite)
  if (url.tls()) {
    if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), url.host.c_str()))
      co_return Status::BadGateway(fmt::format("TLS to {}: cannot set the server name", url.ToString()));
    if (options_.verify_tls) conn->tls->set_verify_callback(ssl::host_name_verification(url.host));
    auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kTuple);
    if (hec) {
      if (IsTlsVerifyError(hec))
        co_return Status::BadGateway(fmt::format("TLS to {}: the server's certificate is not trusted ({})",
                                                 url.ToString(), hec.message()));
      co_return NetError("TLS handshake with", url, hec, conn->deadline->expired());
    }
  }
  co_return conn;
}

Task<Result<std::unique_ptr<ClientResponse>>> HttpClient::Send(ClientRequest request) {
  auto ex = co_await net::this_coro::executor;
  const std::string wire = RenderRequest(request);
  const std::string origin = request.url.Origin();
  for (int attempt = 0;; ++attempt) {
    auto conn = Checkout(origin, ex);
    if (!conn) {
      auto fresh = co_await Connect(request.url);
      if (!fresh.ok()) co_return fresh.status();
      conn = std::move(*fresh);
    }
    bool reused = conn->reused;
    Deadline& deadline = *conn->deadline;
    deadline.ExpiresAfter(request.header_timeout);
    beast::error_code wec;
    size_t sent = 0;
    if (!conn->tls) sent = co_await BatchedWrite(conn->socket(), {net::buffer(wire), net::const_buffer()});
    if (sent == kWriteFailed) {
      wec = net::error::broken_pipe;
    } else if (sent < wire.size()) {
      auto rest = net::buffer(wire) + sent;
      auto [ec, n] = co_await conn->Visit([&](auto& s) { return net::async_write(s, rest, kTuple); });
      wec = ec;
    }
    auto parser = std::make_unique<ResponseParser>();
    parser->body_limit(boost::none);  // limits are the reader's (ReadAll)
    beast::error_code ec = wec;
    while (!ec && !parser->is_header_done()) {
      if (conn->buffer.size() > 0) {
        conn->buffer.consume(parser->put(conn->buffer.data(), ec));
        if (ec == bhttp::error::need_more) ec = {};
        if (ec || parser->is_header_done()) break;
      }
      auto [rec, n] = co_await conn->Visit([&](auto& s) { return s.async_read_some(conn->buffer.prepare(kReadSize), kTuple); });
      ec = rec;
      if (!ec) conn->buffer.commit(n);
    }
    if (!ec) {
      parser->eager(true);  // from here, each put() takes all the body bytes it is given
      co_return std::unique_ptr<ClientResponse>(new ClientResponse(this, std::move(conn), std::move(parser)));
    }
    bool timed_out = deadline.expired();
    // The server closed a kept-alive connection before this request reached it: try a new one.
    bool stale = reused && !timed_out && attempt == 0;
    if (stale) continue;
    co_return NetError(wec ? "send to" : "read response headers from", request.url, ec, timed_out);
  }
}

// ---------------------------------------------------------------------------------------------
// ClientResponse

ClientResponse::ClientResponse(HttpClient* client, std::unique_ptr<Connection> conn, std::unique_ptr<ResponseParser> parser)
    : client_(client), conn_(std::move(conn)), parser_(std::move(parser)) {
  status_ = parser_->status();
  headers_ = std::move(parser_->headers());
  done_ = parser_->is_done();
}

ClientResponse::~ClientResponse() {
  if (conn_ && done_ && !failed_ && parser_->keep_alive()) client_->Return(std::move(conn_));
}

void ClientResponse::Abort() {
  failed_ = true;
  if (conn_) {
    beast::error_code ignored;
    conn_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn_->socket().cancel(ignored);
  }
}

Task<Result<std::optional<std::string>>> ClientResponse::Read(std::chrono::milliseconds idle) {
  for (;;) {
    if (!parser_->body().empty()) {
      std::string piece;
      piece.swap(parser_->body());
      co_return std::optional<std::string>(std::move(piece));
    }
    if (done_) co_return std::optional<std::string>();
    if (Status s = co_await Fill(idle); !s.ok()) co_return s;
  }
}

Task<Result<std::string>> ClientResponse::ReadAll(std::chrono::milliseconds idle, size_t limit) {
  // The parser gathers the body itself (with the padding it reserved); no piece by piece.
  while (!done_) {
    if (parser_->body().size() > limit) break;
    if (Status s = co_await Fill(idle); !s.ok()) co_return s;
  }
  if (parser_->body().size() > limit) {
    failed_ = true;
    co_return Status::BadGateway(fmt::format("the response body is over {} bytes", limit));
  }
  std::string out;
  out.swap(parser_->body());
  co_return out;
}

Task<Status> ClientResponse::Fill(std::chrono::milliseconds idle) {
  if (failed_) co_return Status::Unavailable("the response was aborted");
  auto& buffer = conn_->buffer;
  beast::error_code ec;
  if (buffer.size() > 0) {
    size_t before = parser_->body().size();
    buffer.consume(parser_->put(buffer.data(), ec));
    if (ec == bhttp::error::need_more) ec = {};
    if (!ec) {
      done_ = parser_->is_done();
      if (done_ || parser_->body().size() > before) co_return Status::Ok();
    }
  }
  if (!ec) {
    conn_->deadline->ExpiresAfter(idle);
    auto [rec, n] = co_await conn_->Visit([&](auto& s) { return s.async_read_some(buffer.prepare(kReadSize), kTuple); });
    if (rec == net::error::eof) {
      parser_->put_eof(ec);  // a body that runs to the end of the connection ends here
      done_ = !ec;
      if (!ec) co_return Status::Ok();
    } else if (!rec) {
      buffer.commit(n);
      co_return Status::Ok();
    } else {
      ec = rec;
    }
  }
  failed_ = true;
  if (conn_->deadline->expired())
    co_return Status::DeadlineExceeded(fmt::format("no response bytes for {} ms", idle.count()));
  co_return Status::Unavailable("the response was cut: " + ec.message());
}

}  // namespace lingxi::http
