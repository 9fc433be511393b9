// lingxi in front of real upstream servers on loopback: llama-server built from the same
// llama.cpp release, other lingxi instances, a stand-in for the K2.5 APIs (k2_upstream.py,
// over TLS too) and a slow-loris server.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "e2e/lingxi_process.h"
#include "support/http_client.h"
#include "support/process.h"

namespace lingxi::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string BaseUrl(int port) { return std::string("http://127.0.0.1:") + std::to_string(port) + "/v1"; }

HttpResponse Post(int port, const std::string& path, const json& body,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
  headers.push_back({"Content-Type", "application/json"});
  return Fetch(port, "POST", path, body.dump(), headers);
}

json Chat(const std::string& model, const std::string& text, int max_tokens = 6, bool stream = false) {
  json j = {{"model", model},
            {"messages", {{{"role", "user"}, {"content", text}}}},
            {"temperature", 0},
            {"max_tokens", max_tokens}};
  if (stream) {
    j["stream"] = true;
    j["stream_options"] = {{"include_usage", true}};
  }
  return j;
}

// The data of each SSE event, checking the framing on the way.
std::vector<std::string> Events(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos) << "unterminated event";
    if (end == std::string::npos) break;
    std::string e = body.substr(pos, end - pos);
    EXPECT_EQ(e.rfind("data: ", 0), 0u) << e;
    out.push_back(e.substr(6));
    pos = end + 2;
  }
  return out;
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

// A lingxi serving the test model on a fixed port (so it can be restarted in place).
std::unique_ptr<LingxiProcess> Replica(int port, int parallel = 2) {
  auto p = std::make_unique<LingxiProcess>(std::vector<std::string>{
      "--model", TestModelFile(), "--threads", "1", "--set", "model.context=512", "--set",
      std::string("model.parallel=") + std::to_string(parallel), "--set", std::string("server.port=") + std::to_string(port), "--set",
      "log.access_log=false", "--set", "model.id=tiny", "--set", "cache.enabled=false"});
  if (!p->WaitReady()) throw std::runtime_error("replica not ready:\n" + p->process().Log());
  return p;
}

std::unique_ptr<LingxiProcess> Front(std::vector<std::string> args) {
  // Routing is what these tests watch: answers from the response cache would hide it.
  args.insert(args.end(), {"--set", "log.access_log=false", "--set", "cache.enabled=false"});
  auto p = std::make_unique<LingxiProcess>(std::move(args));
  if (!p->WaitReady()) throw std::runtime_error("front not ready:\n" + p->process().Log());
  return p;
}

// ---------------------------------------------------------------------------------------------

TEST(UpstreamLlamaServerTest, StreamsPassThroughEventByEventAsTheUpstreamSentThem) {
  int ls_port = FreePort();
  Process ls({LINGXI_LLAMA_SERVER, "-m", TestModelFile(), "--host", "127.0.0.1", "--port", std::to_string(ls_port), "-t",
              "1", "-c", "1024", "-np", "1"});
  ASSERT_TRUE(WaitFor([&] { return Fetch(ls_port, "GET", "/health").status == 200; }, 30s)) << ls.Log();
  auto front = Front({"--upstream", BaseUrl(ls_port), "--set", "upstream.model=tiny-chat.gguf", "--set",
                      "upstream.aliases=big"});

  auto body = Chat("big", "Tell me about lingxi", 12, true);
  auto direct = Post(ls_port, "/v1/chat/completions", body);
  auto via = Post(front->port(), "/v1/chat/completions", body);
  ASSERT_EQ(direct.status, 200) << direct.body;
  ASSERT_EQ(via.status, 200) << via.body;
  EXPECT_EQ(via.Header("content-type"), "text/event-stream");

  auto texts = [](const std::vector<std::string>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) {
      if (e == "[DONE]") continue;
      auto j = json::parse(e);
      if (j["choices"].empty()) continue;
      auto& d = j["choices"][0]["delta"];
      if (d.contains("content") && d["content"].is_string() && !d["content"].get<std::string>().empty())
        out.push_back(d["content"]);
    }
    return out;
  };
  auto de = Events(direct.body), ve = Events(via.body);
  ASSERT_FALSE(ve.empty());
  EXPECT_EQ(ve.back(), "[DONE]");
  // Event by event: the same text pieces in the same order, none merged or split.
  EXPECT_EQ(texts(ve), texts(de));
  EXPECT_FALSE(texts(ve).empty());
  auto usage = json::parse(ve[ve.size() - 2]);
  EXPECT_EQ(usage["usage"]["completion_tokens"], json::parse(de[de.size() - 2])["usage"]["completion_tokens"]);
  EXPECT_EQ(json::parse(ve[1])["model"], "tiny-chat.gguf");  // the served id, not the alias

  // Whole answers and raw completions too.
  auto whole = Post(front->port(), "/v1/chat/completions", Chat("big", "Tell me about lingxi", 12));
  ASSERT_EQ(whole.status, 200) << whole.body;
  auto wj = json::parse(whole.body);
  std::string joined;
  for (const auto& t : texts(de)) joined += t;
  EXPECT_EQ(wj["choices"][0]["message"]["content"], joined);
  auto cmpl = Post(front->port(), "/v1/completions", {{"model", "big"}, {"prompt", "Once upon"}, {"max_tokens", 4}, {"temperature", 0}});
  ASSERT_EQ(cmpl.status, 200) << cmpl.body;
  EXPECT_EQ(json::parse(cmpl.body)["usage"]["completion_tokens"], 4);
  // Bad requests come back as the upstream said, with its message.
  auto bad = Post(front->port(), "/v1/chat/completions", {{"model", "big"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}, {"n_probs", "many"}});
  EXPECT_EQ(bad.status / 100, 4) << bad.body;
  EXPECT_GT(MetricSum(front->port(), "lingxi_upstream_tokens_total{kind=\"completion\""), 0);
}

TEST(UpstreamFailoverTest, KillingAReplicaFailsNoRequest) {
  int pa = FreePort(), pb = FreePort();
  auto a = Replica(pa), b = Replica(pb);
  auto front = Front({"--upstream", BaseUrl(pa), "--upstream", BaseUrl(pb), "--set", "upstream.model=tiny", "--set",
                      "upstream.retries=2", "--set", "upstream.retry_backoff=10ms", "--set", "upstream.affinity=false",
                      "--set", "upstream.health_interval=200ms"});
  std::atomic<int> sent{0}, failed{0};
  std::string failure;
  std::mutex mu;
  auto client = [&](int id) {
    for (int i = 0; i < 20; ++i) {
      auto r = Post(front->port(), "/v1/chat/completions", Chat("tiny", std::string("Request ") + std::to_string(id * 100 + i), 6));
      ++sent;
      if (r.status != 200) {
        ++failed;
        std::lock_guard lock(mu);
        failure = std::to_string(r.status) + " " + r.body;
      }
    }
  };
  std::thread t1(client, 1), t2(client, 2);
  ASSERT_TRUE(WaitFor([&] { return sent >= 8; }));
  b->process().Signal(SIGKILL);  // mid-test, with requests in flight
  t1.join();
  t2.join();
  EXPECT_EQ(failed, 0) << failure;
  EXPECT_EQ(sent, 40);
  EXPECT_GE(MetricSum(pa, "lingxi_engine_requests_total{finish=\"length\""), 20);
}

TEST(UpstreamCircuitTest, OpensAfterFailuresAndClosesWhenTheReplicaIsBack) {
  int port = FreePort();
  auto replica = Replica(port);
  auto front = Front({"--upstream", BaseUrl(port), "--set", "upstream.model=tiny", "--set", "upstream.retries=0",
                      "--set", "upstream.failure_threshold=2", "--set", "upstream.open_duration=1s", "--set",
                      "upstream.health_interval=0"});
  const std::string open_series = "lingxi_upstream_circuit_open{model=\"tiny\"";
  ASSERT_EQ(Post(front->port(), "/v1/chat/completions", Chat("tiny", "hi")).status, 200);
  replica.reset();  // down
  for (int i = 0; i < 2; ++i) EXPECT_EQ(Post(front->port(), "/v1/chat/completions", Chat("tiny", "hi")).status, 503);
  EXPECT_EQ(MetricSum(front->port(), open_series), 1);
  // Open: refused at once, without trying to connect.
  auto refused = Post(front->port(), "/v1/chat/completions", Chat("tiny", "hi"));
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("circuit is open"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.Header("retry-after"), "1");

  replica = Replica(port);  // back on the same address
  std::this_thread::sleep_for(1100ms);
  auto probe = Post(front->port(), "/v1/chat/completions", Chat("tiny", "hi"));
  EXPECT_EQ(probe.status, 200) << probe.body;
  EXPECT_EQ(MetricSum(front->port(), open_series), 0);
  EXPECT_EQ(Post(front->port(), "/v1/chat/completions", Chat("tiny", "hi")).status, 200);
}

TEST(UpstreamAffinityTest, ASessionStaysOnOneReplicaAndSessionsSpread) {
  int pa = FreePort(), pb = FreePort();
  auto a = Replica(pa), b = Replica(pb);
  auto front = Front({"--upstream", BaseUrl(pa), "--upstream", BaseUrl(pb), "--set", "upstream.model=tiny"});
  const std::string served = "lingxi_engine_requests_total{";
  auto counts = [&] { return std::pair{MetricSum(pa, served), MetricSum(pb, served)}; };
  auto before = counts();
  for (int turn = 0; turn < 6; ++turn)
    ASSERT_EQ(Post(front->port(), "/v1/chat/completions", Chat("tiny", std::string("turn ") + std::to_string(turn)),
                   {{"X-Session-Id", "chat-42"}}).status, 200);
  auto after = counts();
  double da = after.first - before.first, db = after.second - before.second;
  EXPECT_TRUE((da == 6 && db == 0) || (da == 0 && db == 6)) << da << " / " << db;

  // Without a session id the first messages are the key: a growing chat stays put too.
  json chat = Chat("tiny", "What is lingxi?");
  before = counts();
  for (int turn = 0; turn < 3; ++turn) {
    ASSERT_EQ(Post(front->port(), "/v1/chat/completions", chat).status, 200);
    chat["messages"].push_back({{"role", "assistant"}, {"content", "..."}});
    chat["messages"].push_back({{"role", "user"}, {"content", "and then?"}});
  }
  after = counts();
  da = after.first - before.first, db = after.second - before.second;
  EXPECT_TRUE((da == 3 && db == 0) || (da == 0 && db == 3)) << da << " / " << db;

  before = counts();
  for (int s = 0; s < 16; ++s)
    ASSERT_EQ(Post(front->port(), "/v1/chat/completions", Chat("tiny", "x"), {{"X-Session-Id", std::string("s") + std::to_string(s)}}).status, 200);
  after = counts();
  EXPECT_GT(after.first - before.first, 0);
  EXPECT_GT(after.second - before.second, 0);
}

TEST(UpstreamFallbackTest, TheEmbeddedModelAnswersWhenEveryReplicaIsDown) {
  int dead = FreePort();
  auto front = Front({"--upstream", BaseUrl(dead), "--set", "upstream.model=k2", "--set", "upstream.fallback=tiny",
                      "--set", "upstream.retries=1", "--set", "upstream.retry_backoff=1ms", "--set",
                      "upstream.health_interval=0", "--model", TestModelFile(), "--set", "model.id=tiny", "--threads", "1",
                      "--set", "model.context=512"});
  // The upstream is the default model; its replicas refuse connections.
  auto r = Post(front->port(), "/v1/chat/completions", Chat("default", "hello"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["model"], "tiny");
  auto s = Post(front->port(), "/v1/chat/completions", Chat("k2", "hello", 6, true));
  ASSERT_EQ(s.status, 200) << s.body;
  auto events = Events(s.body);
  EXPECT_EQ(json::parse(events.front())["model"], "tiny");
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(MetricSum(front->port(), "lingxi_pipeline_fallbacks_total{from=\"k2\",to=\"tiny\"}"), 2);
  // Without a fallback the client gets a plain 503, not a broken stream.
  auto alone = Front({"--upstream", BaseUrl(dead), "--set", "upstream.model=k2", "--set", "upstream.retries=0",
                      "--set", "upstream.health_interval=0"});
  auto none = Post(alone->port(), "/v1/chat/completions", Chat("k2", "hello", 6, true));
  EXPECT_EQ(none.status, 503) << none.body;
  EXPECT_EQ(json::parse(none.body)["error"]["code"], "unavailable");
}

TEST(UpstreamEmbeddingsTest, EmbeddingsComeFromTheReplicaAsItComputesThem) {
  int port = FreePort();
  auto replica = Replica(port);
  auto front = Front({"--upstream", BaseUrl(port), "--set", "upstream.model=tiny", "--set", "upstream.id=remote"});
  json body = {{"model", "remote"}, {"input", {"first text", "second text"}}};
  auto via = Post(front->port(), "/v1/embeddings", body);
  body["model"] = "tiny";
  auto direct = Post(port, "/v1/embeddings", body);
  ASSERT_EQ(via.status, 200) << via.body;
  ASSERT_EQ(direct.status, 200) << direct.body;
  auto v = json::parse(via.body), d = json::parse(direct.body);
  EXPECT_EQ(v["model"], "remote");
  ASSERT_EQ(v["data"].size(), 2u);
  EXPECT_EQ(v["data"][1]["embedding"], d["data"][1]["embedding"]);
  EXPECT_EQ(v["usage"]["prompt_tokens"], d["usage"]["prompt_tokens"]);
}

// Accepts connections and sends a response header one byte at a time, forever.
class SlowLoris {
 public:
  SlowLoris() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 16);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~SlowLoris() {
    stop_ = true;
    thread_.join();
    for (int c : clients_) close(c);
    close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void Loop() {
    const std::string header = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + std::string(1000, 'z');
    size_t sent = 0;
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) > 0) {
        int c = accept(fd_, nullptr, nullptr);
        if (c >= 0) {
          clients_.push_back(c);
          ++accepted_;
        }
      }
      char drain[4096];
      for (int c : clients_) {
        while (recv(c, drain, sizeof drain, MSG_DONTWAIT) > 0) {
        }
        send(c, &header[sent % header.size()], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      ++sent;
    }
  }
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<int> clients_;
  std::thread thread_;
};

TEST(UpstreamTimeoutTest, ASlowLorisUpstreamIsCutAtTheHeaderTimeoutAndAvoided) {
  SlowLoris slow;
  auto front = Front({"--upstream", BaseUrl(slow.port()), "--set", "upstream.model=tiny", "--set",
                      "upstream.header_timeout=500ms", "--set", "upstream.retries=0", "--set", "upstream.health_interval=0"});
  auto started = std::chrono::steady_clock::now();
  auto r = Post(front->port(), "/v1/chat/completions", Chat("tiny", "hi"));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_LT(took, 5s);
  EXPECT_EQ(MetricSum(front->port(), "lingxi_upstream_errors_total{kind=\"timeout\""), 1);

  // With a healthy replica beside it, the timeout becomes a retry there.
  int good = FreePort();
  auto replica = Replica(good);
  auto both = Front({"--upstream", BaseUrl(slow.port()), "--upstream", BaseUrl(good), "--set", "upstream.model=tiny",
                     "--set", "upstream.header_timeout=300ms", "--set", "upstream.affinity=false", "--set",
                     "upstream.health_interval=0"});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Post(both->port(), "/v1/chat/completions", Chat("tiny", "hi")).status, 200);
}

// Opens a stream, reads until the first token arrives, then hangs up.
void StreamAndHangUp(int port, const json& body) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::string b = body.dump();
  std::string req = std::string("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ") + std::to_string(b.size()) + "\r\n\r\n" + b;
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  while (got.find("\"content\":\"") == std::string::npos || std::count(got.begin(), got.end(), '\n') < 12) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
}

TEST(UpstreamCancelTest, AClientThatLeavesStopsTheUpstreamGeneration) {
  int port = FreePort();
  auto replica = Replica(port, 1);
  auto front = Front({"--upstream", BaseUrl(port), "--set", "upstream.model=tiny"});
  json body = Chat("tiny", "Go on forever", 400, true);
  body["ignore_eos"] = true;  // passed through: only the hang-up can end it early
  StreamAndHangUp(front->port(), body);
  EXPECT_TRUE(WaitFor([&] { return MetricSum(port, "lingxi_engine_requests_total{finish=\"cancelled\"") == 1; }, 5s));
  EXPECT_EQ(MetricSum(port, "lingxi_engine_generated_tokens_total") < 400, true);
  EXPECT_EQ(MetricSum(front->port(), "lingxi_upstream_requests_total{model=\"tiny\",outcome=\"cancelled\""), 1);
  // Its only slot is free again.
  EXPECT_EQ(Post(front->port(), "/v1/chat/completions", Chat("tiny", "next")).status, 200);
}

// The K2.5 stand-in: vLLM's and the hosted API's differences, over TLS for the hosted one.
class K2UpstreamTest : public ::testing::Test {
 protected:
  std::unique_ptr<Process> StartK2(const std::string& flavor, bool tls, bool stall = false) {
    port_ = FreePort();
    std::vector<std::string> argv = {"/usr/bin/python3", K2_UPSTREAM_SCRIPT, "--port", std::to_string(port_), "--flavor", flavor,
                                     "--record", dir_.path() + "/requests.jsonl"};
    if (stall) argv.push_back("--stall");
    if (tls) {
      Process gen({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                   "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", dir_.path() + "/key.pem", "-out",
                   dir_.path() + "/cert.pem"});
      EXPECT_EQ(gen.Wait(30s), 0) << gen.Log();
      argv.insert(argv.end(), {"--cert", dir_.path() + "/cert.pem", "--key", dir_.path() + "/key.pem"});
    }
    auto p = std::make_unique<Process>(argv);
    EXPECT_TRUE(p->WaitForLog(std::regex("k2_upstream listening"))) << p->Log();
    return p;
  }
  // The request bodies the stand-in received.
  std::vector<json> Received() {
    std::vector<json> out;
    std::ifstream in(dir_.path() + "/requests.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }
  TempDir dir_;
  int port_ = 0;
};

TEST_F(K2UpstreamTest, ReasoningIsNormalizedAndToolCallIdsComeBackByteExact) {
  auto k2 = StartK2("vllm", false);
  auto front = Front({"--upstream", BaseUrl(port_), "--set", "upstream.thinking=off"});
  json tools = json::parse(R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}])");
  json ask = {{"model", "kimi-k2.5"}, {"messages", {{{"role", "user"}, {"content", "Weather in Beijing?"}}}}, {"tools", tools}};

  auto whole = Post(front->port(), "/v1/chat/completions", ask);
  ASSERT_EQ(whole.status, 200) << whole.body;
  auto w = json::parse(whole.body);
  auto& msg = w["choices"][0]["message"];
  EXPECT_EQ(w["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(msg["tool_calls"][0]["id"], "functions.get_weather:0");
  EXPECT_EQ(msg["tool_calls"][0]["function"]["arguments"], "{\"city\": \"北京\"}");
  EXPECT_EQ(msg["reasoning_content"], "The user asks about weather.");  // vLLM's `reasoning`, renamed
  EXPECT_EQ(w["usage"]["prompt_tokens_details"]["cached_tokens"], 5);

  // What lingxi sent: the upstream's model name, vLLM's thinking switch, tools verbatim.
  auto sent = Received().back()["body"];
  EXPECT_EQ(sent["model"], "kimi-k2.5");
  EXPECT_EQ(sent["chat_template_kwargs"]["thinking"], false);
  EXPECT_EQ(sent["tools"], tools);

  // The next turn carries the call and its result back, ids unchanged.
  ask["messages"].push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", msg["tool_calls"]},
                             {"reasoning_content", "The user asks about weather."}});
  ask["messages"].push_back({{"role", "tool"}, {"tool_call_id", "functions.get_weather:0"}, {"content", "sunny"}});
  ask["stream"] = true;
  ask["reasoning_field"] = "reasoning";
  auto streamed = Post(front->port(), "/v1/chat/completions", ask);
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  sent = Received().back()["body"];
  EXPECT_EQ(sent["messages"][1]["tool_calls"][0]["id"], "functions.get_weather:0");
  EXPECT_EQ(sent["messages"][1]["reasoning"], "The user asks about weather.");  // vLLM's name for it
  EXPECT_EQ(sent["messages"][2]["tool_call_id"], "functions.get_weather:0");
  std::string reasoning, ids;
  for (const auto& e : Events(streamed.body)) {
    if (e == "[DONE]") continue;
    auto j = json::parse(e);
    if (j["choices"].empty()) continue;
    auto& d = j["choices"][0]["delta"];
    if (d.contains("reasoning")) reasoning += d["reasoning"].get<std::string>();
    EXPECT_FALSE(d.contains("reasoning_content"));  // the client asked for `reasoning`
    if (d.contains("tool_calls")) ids += d["tool_calls"][0]["id"].get<std::string>();
  }
  EXPECT_EQ(reasoning, "The user asks about weather.");
  EXPECT_EQ(ids, "functions.get_weather:0");
}

TEST_F(K2UpstreamTest, HostedApiGetsItsOwnFormsOverVerifiedTls) {
  auto k2 = StartK2("moonshot", true);
  const std::string url = std::string("https://localhost:") + std::to_string(port_) + "/v1";
  // An image URL the hosted API would refuse, served by a local lingxi... any HTTP server will do.
  int img_port = FreePort();
  WriteFile(dir_.path() + "/cat.png", std::string("\x89PNG\r\n\x1a\n", 8) + "pixels");
  Process images({"/usr/bin/python3", "-m", "http.server", std::to_string(img_port), "--bind", "127.0.0.1", "--directory", dir_.path()});
  ASSERT_TRUE(WaitFor([&] { return Fetch(img_port, "GET", "/cat.png").status == 200; }));

  auto front = Front({"--upstream", url, "--set", "upstream.ca_file=" + dir_.path() + "/cert.pem", "--set",
                      "upstream.api_key=sk-test-secret", "--set", "upstream.thinking=on"});
  json ask = {{"model", "kimi-k2.5"},
              {"messages",
               {{{"role", "user"},
                 {"content",
                  {{{"type", "text"}, {"text", "What is this?"}},
                   {{"type", "image_url"}, {"image_url", {{"url", std::string("http://127.0.0.1:") + std::to_string(img_port) + "/cat.png"}}}}}}}}},
              {"temperature", 1.0}};
  auto r = Post(front->port(), "/v1/chat/completions", ask);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["choices"][0]["message"]["reasoning_content"], "The user asks about weather.");
  auto rec = Received().back();
  EXPECT_EQ(rec["auth"], "Bearer sk-test-secret");
  EXPECT_EQ(rec["body"]["thinking"], json({{"type", "enabled"}}));
  EXPECT_EQ(rec["body"]["temperature"], 1.0);
  EXPECT_FALSE(rec["body"].contains("top_k"));  // nothing the hosted API would reject
  std::string sent_url = rec["body"]["messages"][0]["content"][1]["image_url"]["url"];
  EXPECT_EQ(sent_url.rfind("data:image/png;base64,", 0), 0u) << sent_url;
  // The secret never reaches the logs or the metrics.
  EXPECT_EQ(front->process().Log().find("sk-test-secret"), std::string::npos);
  EXPECT_EQ(Fetch(front->port(), "GET", "/metrics").body.find("sk-test-secret"), std::string::npos);

  // Without trusting its certificate, lingxi refuses to talk to it.
  auto untrusted = Front({"--upstream", url, "--set", "upstream.model=kimi-k2.5", "--set", "upstream.flavor=moonshot",
                          "--set", "upstream.health_interval=0"});
  auto bad = Post(untrusted->port(), "/v1/chat/completions", Chat("kimi-k2.5", "hi"));
  EXPECT_EQ(bad.status, 502) << bad.body;
  EXPECT_NE(bad.body.find("not trusted"), std::string::npos) << bad.body;
}

TEST_F(K2UpstreamTest, AStreamThatFallsSilentEndsAtTheIdleTimeoutWithAnErrorEvent) {
  auto k2 = StartK2("vllm", false, /*stall=*/true);
  auto front = Front({"--upstream", BaseUrl(port_), "--set", "upstream.idle_timeout=500ms", "--set",
                      "upstream.health_interval=0"});
  auto started = std::chrono::steady_clock::now();
  auto r = Post(front->port(), "/v1/chat/completions", Chat("kimi-k2.5", "hi", 6, true));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  ASSERT_EQ(r.status, 200) << r.body;  // the reasoning had been streamed already: no retry
  auto events = Events(r.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  auto error = json::parse(events[events.size() - 2]);
  EXPECT_EQ(error["error"]["code"], "deadline_exceeded") << error;
  EXPECT_EQ(MetricSum(front->port(), "lingxi_upstream_errors_total{kind=\"timeout\""), 1);
}

}  // namespace
}  // namespace lingxi::testing
