// The HTTP server as a client sees it: keep-alive, pipelining, limits and their error bodies,
// request ids, streamed bodies, timeouts and graceful shutdown with a request in flight.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <future>
#include <thread>

#include "http/server.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace lingxi::http {
namespace {

using testing::Fetch;
using testing::HttpConnection;
using testing::TestServer;
using namespace std::chrono_literals;

Task<void> Sleep(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

// Streams "part 0", "part 1", ... with a short pause between chunks.
class CountingStream : public BodyStream {
 public:
  CountingStream(int n, std::atomic<int>* destroyed) : n_(n), destroyed_(destroyed) {}
  ~CountingStream() override {
    if (destroyed_) ++*destroyed_;
  }
  Task<std::optional<std::string>> Next() override {
    if (i_ == n_) co_return std::nullopt;
    co_await Sleep(5ms);
    co_return "part " + std::to_string(i_++) + "\n";
  }

 private:
  int n_;
  int i_ = 0;
  std::atomic<int>* destroyed_;
};

Router TestRouter(std::atomic<int>* streams_destroyed = nullptr) {
  Router r;
  r.Add("GET", "/hello", [](Request&) -> Task<Response> { co_return Response::Text(200, "hello"); });
  r.Add("POST", "/echo", [](Request& req) -> Task<Response> {
    auto res = Response::Text(200, req.body);
    res.headers.Set("X-Path", req.path + "?" + req.query);
    co_return res;
  });
  r.Add("GET", "/slow", [](Request&) -> Task<Response> {
    co_await Sleep(400ms);
    co_return Response::Text(200, "finally");
  });
  r.Add("GET", "/stream", [streams_destroyed](Request&) -> Task<Response> {
    Response res;
    res.headers.Set("Content-Type", "text/event-stream");
    res.stream = std::make_unique<CountingStream>(5, streams_destroyed);
    co_return res;
  });
  r.Add("GET", "/throws", [](Request&) -> Task<Response> {
    throw std::runtime_error("boom");
    co_return Response::Text(200, "unreachable");
  });
  return r;
}

TEST(ServerTest, AnswersAndKeepsTheConnectionAlive) {
  TestServer server(TestRouter());
  HttpConnection c(server.port());
  auto a = c.Request("GET", "/hello");
  auto b = c.Request("POST", "/echo?x=1", "ping");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "hello");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, "ping");
  EXPECT_EQ(b.Header("x-path"), "/echo?x=1");
  EXPECT_FALSE(a.Header("date").empty());
}

TEST(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  TestServer server(TestRouter());
  HttpConnection c(server.port());
  ASSERT_TRUE(c.SendRaw(
      "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
      "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(c.ReadResponse().body, "finally");
  EXPECT_EQ(c.ReadResponse().body, "abc");
  EXPECT_EQ(c.ReadResponse().body, "hello");
}

TEST(ServerTest, UnknownRouteIs404InOpenAIErrorShape) {
  TestServer server(TestRouter());
  auto r = Fetch(server.port(), "GET", "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["message"], "no route for GET /nope");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_TRUE(j["error"]["param"].is_null());
}

TEST(ServerTest, WrongMethodIs405WithAllow) {
  TestServer server(TestRouter());
  auto r = Fetch(server.port(), "DELETE", "/hello");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("allow"), "GET, HEAD");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "method_not_allowed");
}

TEST(ServerTest, HeadReturnsHeadersOnly) {
  TestServer server(TestRouter());
  HttpConnection c(server.port());
  ASSERT_TRUE(c.SendRaw("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.ReadResponse(/*head_request=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), "5");
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(c.ReadResponse().body, "hello");  // nothing of a body was sent in between
}

TEST(ServerTest, BodyOverTheLimitIs413ByContentLength) {
  auto opt = TestServer::DefaultOptions();
  opt.body_limit = 1024;
  TestServer server(TestRouter(), opt);
  auto r = Fetch(server.port(), "POST", "/echo", std::string(2048, 'x'));
  EXPECT_EQ(r.status, 413);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "payload_too_large");
  EXPECT_EQ(j["error"]["message"], "request body of 2048 bytes exceeds the limit of 1024 bytes");
  EXPECT_EQ(Fetch(server.port(), "POST", "/echo", std::string(1024, 'x')).status, 200);
}

TEST(ServerTest, ChunkedBodyOverTheLimitIs413) {
  auto opt = TestServer::DefaultOptions();
  opt.body_limit = 1024;
  TestServer server(TestRouter(), opt);
  HttpConnection c(server.port());
  std::string chunk(800, 'y');
  ASSERT_TRUE(c.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "payload_too_large");
}

TEST(ServerTest, ExpectContinueGetsA100ThenTheAnswer) {
  TestServer server(TestRouter());
  HttpConnection c(server.port());
  ASSERT_TRUE(c.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.ReadResponse();
  EXPECT_EQ(interim.status, 100);
  ASSERT_TRUE(c.SendRaw("ok"));
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
}

TEST(ServerTest, MalformedRequestIs400AndClosed) {
  TestServer server(TestRouter());
  HttpConnection c(server.port());
  ASSERT_TRUE(c.SendRaw("GET /hello HTTP/9.9 what\r\n\r\n"));
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "invalid_argument");
  EXPECT_TRUE(c.WaitClosed(2s));
}

TEST(ServerTest, OversizedHeaderIs431) {
  TestServer server(TestRouter());
  auto r = Fetch(server.port(), "GET", "/hello", "", {{"X-Big", std::string(20000, 'h')}});
  EXPECT_EQ(r.status, 431);
}

TEST(ServerTest, RequestIdIsEchoedOrMade) {
  TestServer server(TestRouter());
  EXPECT_EQ(Fetch(server.port(), "GET", "/hello", "", {{"X-Request-Id", "trace-42"}}).Header("x-request-id"),
            "trace-42");
  auto made = Fetch(server.port(), "GET", "/hello").Header("x-request-id");
  EXPECT_EQ(made.size(), 32u);
  // An id that could forge log fields is replaced, not echoed.
  auto replaced = Fetch(server.port(), "GET", "/hello", "", {{"X-Request-Id", "a b\"c"}}).Header("x-request-id");
  EXPECT_EQ(replaced.size(), 32u);
  // Error responses carry it too.
  EXPECT_EQ(Fetch(server.port(), "GET", "/missing", "", {{"X-Request-Id", "err-1"}}).Header("x-request-id"),
            "err-1");
}

TEST(ServerTest, HandlerExceptionIs500WithoutDetails) {
  TestServer server(TestRouter());
  auto r = Fetch(server.port(), "GET", "/throws");
  EXPECT_EQ(r.status, 500);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["type"], "server_error");
  EXPECT_EQ(j["error"]["message"].get<std::string>().find("boom"), std::string::npos);
}

TEST(ServerTest, StreamedBodyArrivesChunkedAndWhole) {
  TestServer server(TestRouter());
  HttpConnection c(server.port());
  auto r = c.Request("GET", "/stream");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.body, "part 0\npart 1\npart 2\npart 3\npart 4\n");
  EXPECT_EQ(c.Request("GET", "/hello").body, "hello");  // connection still usable
}

TEST(ServerTest, StreamIsReleasedWhenTheClientLeaves) {
  std::atomic<int> destroyed{0};
  TestServer server(TestRouter(&destroyed));
  {
    HttpConnection c(server.port());
    ASSERT_TRUE(c.SendRaw("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  }  // closed before the stream ends
  for (int i = 0; i < 200 && destroyed == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(destroyed, 1);
}

TEST(ServerTest, SlowHeadersAreCutAtTheHeaderTimeout) {
  auto opt = TestServer::DefaultOptions();
  opt.header_timeout = 200ms;
  TestServer server(TestRouter(), opt);
  HttpConnection c(server.port());
  ASSERT_TRUE(c.SendRaw("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // never finishes the headers
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.WaitClosed(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(ServerTest, IdleConnectionsAreClosedAtTheIdleTimeout) {
  auto opt = TestServer::DefaultOptions();
  opt.idle_timeout = 200ms;
  TestServer server(TestRouter(), opt);
  HttpConnection c(server.port());
  EXPECT_EQ(c.Request("GET", "/hello").status, 200);
  EXPECT_TRUE(c.WaitClosed(5s));
}

TEST(ServerTest, ShutdownLetsTheRequestInFlightFinish) {
  TestServer server(TestRouter());
  HttpConnection idle(server.port());
  EXPECT_EQ(idle.Request("GET", "/hello").status, 200);

  auto in_flight = std::async(std::launch::async, [&] { return Fetch(server.port(), "GET", "/slow"); });
  std::this_thread::sleep_for(100ms);  // the request is inside its handler now
  server.Shutdown();

  auto r = in_flight.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finally");
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_TRUE(idle.WaitClosed(2s));  // idle keep-alive connections are closed at once
  server.Join();                     // Run() returned
  EXPECT_FALSE(HttpConnection(server.port()).connected());  // no longer accepting
}

TEST(ServerTest, ShutdownDeadlineCutsRequestsThatDoNotFinish) {
  auto opt = TestServer::DefaultOptions();
  opt.shutdown_timeout = 100ms;
  Router r;
  r.Add("GET", "/forever", [](Request&) -> Task<Response> {
    co_await Sleep(60s);
    co_return Response::Text(200, "never");
  });
  TestServer server(std::move(r), opt);
  auto pending = std::async(std::launch::async, [&] { return Fetch(server.port(), "GET", "/forever"); });
  std::this_thread::sleep_for(100ms);
  auto start = std::chrono::steady_clock::now();
  server.Shutdown();
  server.Join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(pending.get().status, 0);  // cut, not answered
}

}  // namespace
}  // namespace lingxi::http
