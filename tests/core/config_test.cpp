// Config: defaults, TOML, environment and flag overrides, and the messages a user sees when a
// key or value is wrong.
#include <gtest/gtest.h>

#include "core/config.h"
#include "support/process.h"

namespace lingxi {
namespace {

TEST(ConfigTest, DefaultsMatchTheDocumentedValues) {
  Config c;
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8000);
  EXPECT_EQ(c.server.body_limit, 32u << 20);
  EXPECT_EQ(c.log.format, "text");
}

TEST(ConfigTest, TomlSetsValuesOfEveryType) {
  auto c = ParseConfigToml(R"(
[server]
host = "0.0.0.0"
port = 9001
body_limit = "1MiB"
header_timeout = "250ms"
idle_timeout = 5
[log]
format = "json"
access_log = false
)", "test.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.host, "0.0.0.0");
  EXPECT_EQ(c->server.port, 9001);
  EXPECT_EQ(c->server.body_limit, 1u << 20);
  EXPECT_EQ(c->server.header_timeout, Duration(250));
  EXPECT_EQ(c->server.idle_timeout, Duration(5000));
  EXPECT_EQ(c->log.format, "json");
  EXPECT_FALSE(c->log.access_log);
}

TEST(ConfigTest, UnknownKeyIsRejectedWithItsPath) {
  auto c = ParseConfigToml("[server]\nprot = 80\n", "lingxi.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "lingxi.toml: server.prot: unknown key");
}

TEST(ConfigTest, UnknownSectionIsRejectedWithItsPath) {
  auto c = ParseConfigToml("[sever]\nport = 80\n", "lingxi.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "lingxi.toml: sever: unknown section");
}

TEST(ConfigTest, BadValuesNameTheKeyAndTheExpectation) {
  auto port = ParseConfigToml("[server]\nport = 70000\n", "f.toml");
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().message(), "f.toml: server.port: expected an integer in 0..65535, got 70000");

  auto type = ParseConfigToml("[server]\nport = \"http\"\n", "f.toml");
  ASSERT_FALSE(type.ok());
  EXPECT_EQ(type.status().message(), "f.toml: server.port: expected an integer in 0..65535, got 'http'");

  auto level = ParseConfigToml("[log]\nlevel = \"loud\"\n", "f.toml");
  ASSERT_FALSE(level.ok());
  EXPECT_EQ(level.status().message(),
            "f.toml: log.level: expected one of trace, debug, info, warn, error, off, got \"loud\"");

  auto size = ParseConfigToml("[server]\nbody_limit = \"12 parsecs\"\n", "f.toml");
  ASSERT_FALSE(size.ok());
  EXPECT_NE(size.status().message().find("server.body_limit: unknown size unit"), std::string::npos);

  auto zero = ParseConfigToml("[server]\nidle_timeout = \"0s\"\n", "f.toml");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(), "f.toml: server.idle_timeout: must be greater than 0");
}

TEST(ConfigTest, TomlSyntaxErrorsCarryLineAndColumn) {
  auto c = ParseConfigToml("[server]\nport = = 1\n", "broken.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("broken.toml:2:", 0), 0u) << c.status().message();
}

TEST(ConfigTest, EnvironmentNamesMapToKeys) {
  const char* env[] = {"PATH=/bin", "LINGXI_SERVER_PORT=9100", "LINGXI_LOG_FORMAT=json", "LINGXI_CACHE=/x", nullptr};
  std::vector<std::string> unknown;
  auto overrides = OverridesFromEnvironment(env, &unknown);
  ASSERT_EQ(overrides.size(), 2u);
  EXPECT_EQ(overrides[0].path, "server.port");
  EXPECT_EQ(overrides[0].origin, "LINGXI_SERVER_PORT");
  EXPECT_EQ(overrides[1].path, "log.format");
  EXPECT_EQ(unknown, std::vector<std::string>{"LINGXI_CACHE"});
}

TEST(ConfigTest, PrecedenceIsDefaultsThenFileThenEnvironmentThenFlags) {
  auto c = ParseConfigToml("[server]\nport = 9001\nhost = \"10.0.0.1\"\nio_threads = 3\n", "f.toml");
  ASSERT_TRUE(c.ok());
  const char* env[] = {"LINGXI_SERVER_PORT=9002", "LINGXI_SERVER_HOST=10.0.0.2", nullptr};
  auto overrides = OverridesFromEnvironment(env);
  overrides.push_back({"server.port", "9003", "--port"});
  ASSERT_TRUE(ApplyOverrides(*c, overrides).ok());
  EXPECT_EQ(c->server.port, 9003);        // flag beats environment
  EXPECT_EQ(c->server.host, "10.0.0.2");  // environment beats file
  EXPECT_EQ(c->server.io_threads, 3);     // file beats default
  EXPECT_EQ(c->server.body_limit, 32u << 20);  // default
}

TEST(ConfigTest, BadOverrideNamesItsOrigin) {
  Config c;
  Status s = ApplyOverrides(c, {{"server.port", "eighty", "LINGXI_SERVER_PORT"}});
  EXPECT_EQ(s.message(), "LINGXI_SERVER_PORT: server.port: expected an integer, got \"eighty\"");
  s = ApplyOverrides(c, {{"server.nope", "1", "--set"}});
  EXPECT_EQ(s.message(), "--set: server.nope: unknown key");
}

TEST(ConfigTest, SizesAndDurationsParse) {
  EXPECT_EQ(*ParseByteSize("512"), 512u);
  EXPECT_EQ(*ParseByteSize("4k"), 4096u);
  EXPECT_EQ(*ParseByteSize("32MiB"), 32u << 20);
  EXPECT_EQ(*ParseByteSize("2 GB"), 2ull << 30);
  EXPECT_FALSE(ParseByteSize("MiB").ok());
  EXPECT_FALSE(ParseByteSize("99999999999999999999G").ok());
  EXPECT_EQ(*ParseDuration("1.5s"), Duration(1500));
  EXPECT_EQ(*ParseDuration("2m"), Duration(120000));
  EXPECT_EQ(*ParseDuration("10"), Duration(10000));
  EXPECT_FALSE(ParseDuration("soon").ok());
}

TEST(ConfigTest, RenderedConfigParsesBackToTheSameValues) {
  Config c;
  c.server.port = 1234;
  c.server.header_timeout = Duration(1500);
  c.log.level = "debug";
  auto back = ParseConfigToml(ConfigToToml(c), "rendered");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->server.port, 1234);
  EXPECT_EQ(back->server.header_timeout, Duration(1500));
  EXPECT_EQ(back->log.level, "debug");
}

TEST(ConfigTest, MissingFileIsAClearError) {
  auto c = LoadConfigFile("/nonexistent/lingxi.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "/nonexistent/lingxi.toml: cannot open: No such file or directory");
}

}  // namespace
}  // namespace lingxi
