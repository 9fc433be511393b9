#include "core/log.h"

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <ctime>

namespace lingxi {
namespace {

// Set once in InitLogging, before threads start.
std::atomic<bool> g_json{false};

// "2026-11-26T21:46:35.123Z"
std::string Utc() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, ms % 1000);
}

}  // namespace

void InitLogging(const LogConfig& config) {
  auto logger = spdlog::stderr_logger_mt("lingxi");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.level));
  g_json = config.format == "json";
  // In JSON mode each message is already a complete JSON object (see LogEvent); plain
  // spdlog::info() calls are wrapped by LogEvent too, so the pattern prints only the payload.
  if (g_json) {
    spdlog::set_pattern("%v");
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
  spdlog::flush_on(spdlog::level::warn);
}

bool LogIsJson() { return g_json; }

void LogEvent(spdlog::level::level_enum level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!spdlog::should_log(level)) return;
  if (g_json) {
    nlohmann::ordered_json j;
    j["ts"] = Utc();
    j["level"] = spdlog::level::to_string_view(level);
    j["msg"] = msg;
    for (const auto& f : fields) {
      if (f.numeric) j[f.key] = nlohmann::json::parse(f.value, nullptr, false);
      else j[f.key] = f.value;
    }
    spdlog::log(level, "{}", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::string line(msg);
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    bool quote = f.value.empty() || f.value.find_first_of(" \"=") != std::string::npos;
    if (quote) line += nlohmann::json(f.value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    else line += f.value;
  }
  spdlog::log(level, "{}", line);
}

}  // namespace lingxi
