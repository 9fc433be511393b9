// The lingxi binary as an operator uses it: start, serve, configure, log, stop.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <sstream>

#include "e2e/lingxi_process.h"
#include "support/http_client.h"
#include "support/process.h"

namespace lingxi::testing {
namespace {

using namespace std::chrono_literals;

// Runs lingxi with `args` to completion; returns exit code and output.
std::pair<int, std::string> RunLingxi(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), LINGXI_BINARY);
  Process p(std::move(args), std::move(env));
  auto code = p.Wait(30s);
  return {code.value_or(-1), p.Log()};
}

TEST(BinaryTest, ServesHealthOnAFreePortAndStopsOnSigterm) {
  LingxiProcess lingxi;
  auto r = Fetch(lingxi.port(), "GET", "/health");
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(lingxi.WaitReady()) << lingxi.process().Log();  // the demo model has loaded
  auto models = nlohmann::json::parse(Fetch(lingxi.port(), "GET", "/v1/models").body);
  EXPECT_EQ(models["data"][0]["id"], "lingxi-demo");
  HttpConnection idle(lingxi.port());
  EXPECT_EQ(idle.Request("GET", "/ready").status, 200);

  lingxi.process().Signal(SIGTERM);
  EXPECT_EQ(lingxi.process().Wait(10s), 0);
  EXPECT_TRUE(idle.WaitClosed(1s));
  EXPECT_NE(lingxi.process().Log().find("lingxi stopped"), std::string::npos);
}

TEST(BinaryTest, SigintStopsItToo) {
  LingxiProcess lingxi;
  lingxi.process().Signal(SIGINT);
  EXPECT_EQ(lingxi.process().Wait(10s), 0);
}

TEST(BinaryTest, FlagsBeatEnvironmentWhichBeatsTheFile) {
  TempDir dir;
  WriteFile(dir.path() + "/lingxi.toml", "[server]\nbody_limit = \"1KiB\"\nport = 1\n[log]\nlevel = \"warn\"\n");
  // The file says port 1; the environment says 2; the flag (--port 0) wins.
  LingxiProcess lingxi({"--config", dir.path() + "/lingxi.toml", "--log-level", "info"},
                       {"LINGXI_SERVER_PORT=2", "LINGXI_SERVER_BODY_LIMIT=2KiB"});
  // Environment beat the file: 2 KiB accepted, 3 KiB refused.
  EXPECT_EQ(Fetch(lingxi.port(), "POST", "/health", std::string(2048, 'x')).status, 405);
  EXPECT_EQ(Fetch(lingxi.port(), "POST", "/health", std::string(3072, 'x')).status, 413);
}

TEST(BinaryTest, BadEnvironmentValueStopsStartWithItsName) {
  auto [code, out] = RunLingxi({"serve"}, {"LINGXI_SERVER_PORT=eighty"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("LINGXI_SERVER_PORT: server.port: expected an integer, got \"eighty\""), std::string::npos) << out;
}

TEST(BinaryTest, CheckConfigAcceptsAGoodFileAndPrintsTheEffectiveConfig) {
  TempDir dir;
  WriteFile(dir.path() + "/ok.toml", "[server]\nport = 9123\n");
  auto [code, out] = RunLingxi({"check-config", dir.path() + "/ok.toml"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("port = 9123"), std::string::npos) << out;
}

TEST(BinaryTest, CheckConfigRejectsUnknownKeysAndBadValuesWithThePath) {
  TempDir dir;
  WriteFile(dir.path() + "/typo.toml", "[server]\nprot = 9123\n");
  auto [code, out] = RunLingxi({"check-config", dir.path() + "/typo.toml"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("typo.toml: server.prot: unknown key"), std::string::npos) << out;

  WriteFile(dir.path() + "/bad.toml", "[log]\nformat = \"xml\"\n");
  std::tie(code, out) = RunLingxi({"check-config", dir.path() + "/bad.toml"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("bad.toml: log.format: expected one of text, json, got \"xml\""), std::string::npos) << out;
}

TEST(BinaryTest, JsonLogsAreOneObjectPerLineWithTheAccessRecord) {
  LingxiProcess lingxi({"--log-format", "json"});
  Fetch(lingxi.port(), "GET", "/health", "", {{"X-Request-Id", "json-log-1"}});
  ASSERT_TRUE(lingxi.process().WaitForLog(std::regex("json-log-1")));
  lingxi.process().Signal(SIGTERM);
  lingxi.process().Wait(10s);

  std::istringstream lines(lingxi.process().Log());
  std::string line;
  bool found = false;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (j.value("request_id", "") == "json-log-1") {
      found = true;
      EXPECT_EQ(j["msg"], "request");
      EXPECT_EQ(j["status"], 200);
      EXPECT_EQ(j["path"], "/health");
      EXPECT_TRUE(j["duration_ms"].is_number());
    }
  }
  EXPECT_TRUE(found);
}

TEST(BinaryTest, VersionNamesTheLlamaCppRelease) {
  auto [code, out] = RunLingxi({"version"});
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("lingxi 0.1.0"), std::string::npos) << out;
  EXPECT_NE(out.find("llama.cpp v"), std::string::npos) << out;
  EXPECT_NE(out.find("devices: CPU"), std::string::npos) << out;
}

TEST(BinaryTest, UnknownSubcommandIsAUsageError) {
  auto [code, out] = RunLingxi({"fly"});
  EXPECT_NE(code, 0);
}

}  // namespace
}  // namespace lingxi::testing
