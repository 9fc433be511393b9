// The upstream HTTP client against the real server: pooling, streamed bodies, limits, errors.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <future>

#include "http/client.h"
#include "support/process.h"
#include "support/test_server.h"

namespace lingxi::testing {
namespace {

using namespace lingxi::http;
using namespace std::chrono_literals;
namespace net = boost::asio;

class Pieces : public BodyStream {
 public:
  Task<std::optional<std::string>> Next() override {
    if (i_ == 5) co_return std::nullopt;
    net::steady_timer t(co_await net::this_coro::executor, 10ms);
    co_await t.async_wait(net::use_awaitable);
    co_return "piece " + std::to_string(i_++) + ";";
  }

 private:
  int i_ = 0;
};

Router ClientTestRouter() {
  Router r;
  r.Add("POST", "/echo", [](Request& req) -> Task<Response> { co_return Response::Text(200, req.body); });
  r.Add("GET", "/stream", [](Request&) -> Task<Response> {
    Response res;
    res.stream = std::make_unique<Pieces>();
    co_return res;
  });
  return r;
}

// Runs client coroutines on one I/O thread, like an upstream engine does.
class ClientTest : public ::testing::Test {
 protected:
  ClientTest() : server_(ClientTestRouter()), guard_(net::make_work_guard(io_)) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ClientTest() override {
    // Pooled sockets belong to io_: dropped on its thread before it stops.
    net::post(io_, [this] { client_.Close(); });
    guard_.reset();
    thread_.join();
  }
  template <typename T>
  T Run(std::function<Task<T>()> f) {
    std::promise<T> done;
    net::co_spawn(io_, [&]() -> Task<void> { done.set_value(co_await f()); }, net::detached);
    return done.get_future().get();
  }
  // One request, the whole body read: (status, body) or the error.
  Result<std::pair<int, std::string>> Fetch(std::string method, std::string path, std::string body = "",
                                            size_t limit = 1 << 20) {
    return Run<Result<std::pair<int, std::string>>>([&]() -> Task<Result<std::pair<int, std::string>>> {
      ClientRequest req;
      req.method = method;
      req.url = *Url::Parse("http://127.0.0.1:" + std::to_string(server_.port()) + path);
      req.body = body;
      auto res = co_await client_.Send(std::move(req));
      if (!res.ok()) co_return res.status();
      auto text = co_await (*res)->ReadAll(5s, limit);
      if (!text.ok()) co_return text.status();
      co_return std::pair{(*res)->status(), std::move(*text)};
    });
  }

  TestServer server_;
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> guard_;
  std::thread thread_;
  HttpClient client_{ClientOptions{}};
};

TEST_F(ClientTest, KeptAliveConnectionsAreReused) {
  auto a = Fetch("POST", "/echo", "first");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->second, "first");
  EXPECT_EQ(client_.idle_connections(), 1u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Fetch("POST", "/echo", "again").ok());
  EXPECT_EQ(client_.idle_connections(), 1u);  // the same one each time, not one per request
}

TEST_F(ClientTest, AStreamedBodyArrivesPieceByPiece) {
  auto pieces = Run<std::vector<std::string>>([&]() -> Task<std::vector<std::string>> {
    ClientRequest req;
    req.url = *Url::Parse("http://127.0.0.1:" + std::to_string(server_.port()) + "/stream");
    auto res = co_await client_.Send(std::move(req));
    std::vector<std::string> out;
    if (!res.ok()) co_return out;
    while (auto piece = co_await (*res)->Read(5s)) {
      if (!piece.ok() || !*piece) break;
      out.push_back(**piece);
    }
    co_return out;
  });
  ASSERT_GE(pieces.size(), 3u);  // as they were sent, not all at the end
  std::string all;
  for (auto& p : pieces) all += p;
  EXPECT_EQ(all, "piece 0;piece 1;piece 2;piece 3;piece 4;");
}

TEST_F(ClientTest, BodiesOverTheLimitAreRefused) {
  auto r = Fetch("POST", "/echo", std::string(10000, 'x'), 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kBadGateway);
  EXPECT_EQ(client_.idle_connections(), 0u);  // a half-read connection is not pooled
}

TEST_F(ClientTest, NothingListeningIsUnavailable) {
  int port = FreePort();
  auto r = Run<Status>([&]() -> Task<Status> {
    ClientRequest req;
    req.url = *Url::Parse("http://127.0.0.1:" + std::to_string(port) + "/v1/models");
    auto res = co_await client_.Send(std::move(req));
    co_return res.status();
  });
  EXPECT_EQ(r.code(), Status::Code::kUnavailable) << r.ToString();
}

TEST(UrlTest, ParsesBaseUrlsAsOpenAISdksTakeThem) {
  auto u = Url::Parse("https://api.moonshot.ai/v1/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "api.moonshot.ai");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->path, "/v1");
  EXPECT_EQ(u->HostHeader(), "api.moonshot.ai");
  auto v6 = Url::Parse("http://[::1]:8000/v1");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->HostHeader(), "[::1]:8000");
  EXPECT_EQ(v6->ToString(), "http://[::1]:8000/v1");
  for (const char* bad : {"gpu-node:8000/v1", "ftp://x/v1", "http://:80/v1", "http://h:0/", "http://h:99999/",
                          "http://user@h/v1", "http://h/v1?x=1"})
    EXPECT_FALSE(Url::Parse(bad).ok()) << bad;
}

}  // namespace
}  // namespace lingxi::testing
