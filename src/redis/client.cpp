#include "redis/client.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <boost/asio.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <charconv>

#include <fmt/format.h>

#include "core/log.h"
#include "core/sha256.h"

namespace lingxi::redis {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

int64_t NowNs() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = Reply::Type::kString; break;
    case REDIS_REPLY_STATUS: out.type = Reply::Type::kStatus; break;
    case REDIS_REPLY_ERROR: out.type = Reply::Type::kError; break;
    case REDIS_REPLY_INTEGER: out.type = Reply::Type::kInteger; break;
    case REDIS_REPLY_ARRAY: out.type = Reply::Type::kArray; break;
    default: out.type = Reply::Type::kNil; break;
  }
  if (r->str) out.str.assign(r->str, r->len);
  out.integer = r->integer;
  for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
  return out;
}

std::string Format(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  int n = redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), argv.data(), lens.data());
  std::string out = n > 0 ? std::string(cmd, static_cast<size_t>(n)) : std::string();
  redisFreeCommand(cmd);
  return out;
}

}  // namespace

struct Client::Connection {
  explicit Connection(net::any_io_executor ex) : executor(ex), stream(ex), reader(redisReaderCreate()) {}
  ~Connection() { redisReaderFree(reader); }
  net::any_io_executor executor;
  beast::tcp_stream stream;
  redisReader* reader;
};

Result<Options> ParseUrl(std::string_view url) {
  Options o;
  std::string_view rest = url;
  if (rest.rfind("redis://", 0) == 0) rest.remove_prefix(8);
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    if (auto colon = auth.find(':'); colon != std::string_view::npos) auth.remove_prefix(colon + 1);
    o.password = std::string(auth);
    rest.remove_prefix(at + 1);
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  auto colon = rest.rfind(':');
  o.host = std::string(rest.substr(0, colon));
  if (colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      return Status::InvalidArgument(fmt::format("\"{}\": bad port", url));
    o.port = std::string(port);
  }
  if (o.host.empty()) return Status::InvalidArgument(fmt::format("\"{}\": expected redis://host:port", url));
  return o;
}

Script::Script(std::string src) : source(std::move(src)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source.data()), source.size(), digest);
  sha1 = HexDigest(digest, sizeof digest);
}

Client::Client(Options options) : options_(std::move(options)) {}
Client::~Client() { Close(); }

void Client::Close() {
  std::vector<std::unique_ptr<Connection>> drop;
  std::lock_guard lock(mu_);
  closed_ = true;
  drop.swap(idle_);
}

void Client::MarkDown(const Status& why) {
  if (up_.exchange(false, std::memory_order_relaxed))
    LogWarn("redis is unreachable; failing fast until it answers again",
            {{"redis", options_.host + ":" + options_.port}, {"error", why.message()}});
  down_until_.store(NowNs() + std::chrono::duration_cast<std::chrono::nanoseconds>(options_.retry_interval).count(),
                    std::memory_order_relaxed);
}

std::unique_ptr<Client::Connection> Client::Checkout(const net::any_io_executor& ex) {
  std::lock_guard lock(mu_);
  for (size_t i = idle_.size(); i-- > 0;) {
    if (idle_[i]->executor != ex) continue;
    auto c = std::move(idle_[i]);
    idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
    return c;
  }
  return nullptr;
}

void Client::Return(std::unique_ptr<Connection> c) {
  c->stream.expires_never();
  std::lock_guard lock(mu_);
  if (!closed_ && idle_.size() < options_.max_idle) idle_.push_back(std::move(c));
}

http::Task<Result<std::unique_ptr<Client::Connection>>> Client::Connect() {
  auto ex = co_await net::this_coro::executor;
  auto c = std::make_unique<Connection>(ex);
  tcp::resolver resolver(ex);
  auto [rec, endpoints] = co_await resolver.async_resolve(options_.host, options_.port, kTuple);
  if (rec) co_return Status::Unavailable(fmt::format("redis {}: {}", options_.host, rec.message()));
  c->stream.expires_after(options_.timeout);
  auto [cec, _] = co_await c->stream.async_connect(endpoints, kTuple);
  if (cec) co_return Status::Unavailable(fmt::format("redis {}:{}: {}", options_.host, options_.port, cec.message()));
  c->stream.socket().set_option(tcp::no_delay(true));
  if (!options_.password.empty()) {
    // Named, not a braced list inside co_await: GCC 12 miscompiles that ("array used as initializer").
    std::vector<std::string> args = {"AUTH", options_.password};
    const std::string wire = Format(args);
    auto auth = co_await RoundTrip(*c, wire);
    if (!auth.ok()) co_return auth.status();
    if (auth->type == Reply::Type::kError) co_return Status::Unavailable("redis AUTH: " + auth->str);
  }
  co_return c;
}

http::Task<Result<Reply>> Client::RoundTrip(Connection& c, const std::string& wire) {
  c.stream.expires_after(options_.timeout);
  auto [wec, wn] = co_await net::async_write(c.stream, net::buffer(wire), kTuple);
  if (wec) co_return Status::Unavailable("redis write: " + wec.message());
  std::array<char, 4096> buf;
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(c.reader, &raw) != REDIS_OK) co_return Status::Unavailable("redis sent a malformed reply");
    if (raw) {
      Reply r = Convert(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      co_return r;
    }
    auto [rec, n] = co_await c.stream.async_read_some(net::buffer(buf), kTuple);
    if (rec) {
      if (rec == beast::error::timeout) co_return Status::Unavailable("redis timed out");
      co_return Status::Unavailable("redis read: " + rec.message());
    }
    redisReaderFeed(c.reader, buf.data(), n);
  }
}

http::Task<Result<Reply>> Client::Command(std::vector<std::string> args) {
  if (!up_.load(std::memory_order_relaxed) && NowNs() < down_until_.load(std::memory_order_relaxed))
    co_return Status::Unavailable("redis is down; retrying shortly");
  auto ex = co_await net::this_coro::executor;
  const std::string wire = Format(args);
  for (int attempt = 0;; ++attempt) {
    auto c = attempt == 0 ? Checkout(ex) : nullptr;
    bool reused = c != nullptr;
    if (!c) {
      auto fresh = co_await Connect();
      if (!fresh.ok()) {
        MarkDown(fresh.status());
        co_return fresh.status();
      }
      c = std::move(*fresh);
    }
    auto r = co_await RoundTrip(*c, wire);
    if (!r.ok()) {
      if (reused) continue;  // a pooled connection Redis had closed (a restart): once more, fresh
      MarkDown(r.status());  // the connection is dropped with `c`
      co_return r.status();
    }
    if (!up_.exchange(true, std::memory_order_relaxed))
      LogInfo("redis answers again", {{"redis", options_.host + ":" + options_.port}});
    Return(std::move(c));
    co_return r;
  }
}

http::Task<Result<Reply>> Client::Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args) {
  std::vector<std::string> cmd = {"EVALSHA", script.sha1, std::to_string(keys.size())};
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  auto r = co_await Command(cmd);
  if (r.ok() && r->type == Reply::Type::kError && r->str.rfind("NOSCRIPT", 0) == 0) {
    cmd[0] = "EVAL";
    cmd[1] = script.source;
    r = co_await Command(std::move(cmd));
  }
  co_return r;
}

}  // namespace lingxi::redis
