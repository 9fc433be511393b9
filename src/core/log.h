// Logging: spdlog behind a small front, in plain text or one JSON object per line.
//
// InitLogging() is called once by main before any thread starts; after that the free
// functions are thread-safe. Never log secrets (API keys, app secrets, encrypt keys).
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <initializer_list>
#include <utility>
#include <vector>

#include "core/config.h"

namespace lingxi {

// Sets level and format from config. Logs go to stderr.
void InitLogging(const LogConfig& config);

// One structured field of a log event: rendered key=value in text, a member in JSON.
struct LogField {
  std::string key;
  std::string value;
  bool numeric = false;  // JSON: emit unquoted
};

// Logs `msg` with fields. Text: "msg key=value ...". JSON: {"ts":..,"level":..,"msg":..,key:value}.
void LogEvent(spdlog::level::level_enum level, std::string_view msg, std::initializer_list<LogField> fields);

// True when the configured format is JSON.
bool LogIsJson();

}  // namespace lingxi

namespace lingxi {
inline void LogInfo(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  LogEvent(spdlog::level::info, msg, fields);
}
inline void LogWarn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  LogEvent(spdlog::level::warn, msg, fields);
}
inline void LogError(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  LogEvent(spdlog::level::err, msg, fields);
}
inline void LogDebug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  LogEvent(spdlog::level::debug, msg, fields);
}
}  // namespace lingxi
