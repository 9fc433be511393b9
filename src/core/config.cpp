#include "core/config.h"

#include "core/rate.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include <fmt/format.h>

namespace lingxi {
namespace {

// One config key: how to read it from TOML or text, how to check it, how to print it.
struct Field {
  std::string path;
  std::function<Status(Config&, const toml::node&)> from_toml;
  std::function<Status(Config&, std::string_view)> from_text;
  std::function<std::string(const Config&)> render;
};

std::string Quote(std::string_view s) { return fmt::format("\"{}\"", s); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<int64_t> ParseInt(std::string_view text) {
  text = Trim(text);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty())
    return Status::InvalidArgument("expected an integer, got " + Quote(text));
  return v;
}

std::string NodeText(const toml::node& n) {
  std::ostringstream os;
  n.visit([&os](const auto& v) { os << v; });
  return os.str();
}

// Builds a Field for a value of type T stored at `ref(config)`.
// `parse_text` reads the textual form; `from_node` reads native TOML values (falls back to
// text for TOML strings); `check` validates the parsed value; `render` prints it as TOML.
template <typename T>
Field MakeField(std::string path, std::function<T&(Config&)> ref,
                std::function<Result<T>(std::string_view)> parse_text,
                std::function<Result<T>(const toml::node&)> from_node,
                std::function<Status(const T&)> check, std::function<std::string(const T&)> render) {
  auto apply = [ref, check](Config& c, Result<T> v) -> Status {
    if (!v.ok()) return v.status();
    if (Status s = check(*v); !s.ok()) return s;
    ref(c) = std::move(*v);
    return Status::Ok();
  };
  Field f;
  f.path = path;
  f.from_text = [apply, parse_text](Config& c, std::string_view text) {
    return apply(c, parse_text(text));
  };
  f.from_toml = [apply, parse_text, from_node](Config& c, const toml::node& n) {
    if (auto s = n.as_string()) return apply(c, parse_text(s->get()));
    return apply(c, from_node(n));
  };
  f.render = [ref, render](const Config& c) { return render(ref(const_cast<Config&>(c))); };
  return f;
}

Field IntField(std::string path, std::function<int64_t(const Config&)> get,
               std::function<void(Config&, int64_t)> set, int64_t lo, int64_t hi) {
  auto check_range = [lo, hi](int64_t v) -> Status {
    if (v < lo || v > hi)
      return Status::InvalidArgument(fmt::format("expected an integer in {}..{}, got {}", lo, hi, v));
    return Status::Ok();
  };
  Field f;
  f.path = path;
  f.from_text = [=](Config& c, std::string_view text) -> Status {
    auto v = ParseInt(text);
    if (!v.ok()) return v.status();
    if (Status s = check_range(*v); !s.ok()) return s;
    set(c, *v);
    return Status::Ok();
  };
  f.from_toml = [=](Config& c, const toml::node& n) -> Status {
    auto v = n.value<int64_t>();
    if (!n.is_integer() || !v)
      return Status::InvalidArgument(fmt::format("expected an integer in {}..{}, got {}", lo, hi, NodeText(n)));
    if (Status s = check_range(*v); !s.ok()) return s;
    set(c, *v);
    return Status::Ok();
  };
  f.render = [get](const Config& c) { return std::to_string(get(c)); };
  return f;
}

Field StringField(std::string path, std::function<std::string&(Config&)> ref,
                  std::vector<std::string> allowed = {}) {
  auto parse = [](std::string_view t) -> Result<std::string> { return std::string(t); };
  auto from_node = [](const toml::node& n) -> Result<std::string> {
    return Status::InvalidArgument("expected a string, got " + NodeText(n));
  };
  auto check = [allowed](const std::string& v) -> Status {
    if (allowed.empty() || std::find(allowed.begin(), allowed.end(), v) != allowed.end())
      return Status::Ok();
    std::string list;
    for (const auto& a : allowed) {
      if (!list.empty()) list += ", ";
      list += a;
    }
    return Status::InvalidArgument(fmt::format("expected one of {}, got {}", list, Quote(v)));
  };
  auto render = [](const std::string& v) { return NodeText(toml::value<std::string>(v)); };
  return MakeField<std::string>(std::move(path), ref, parse, from_node, check, render);
}

Field BoolField(std::string path, std::function<bool&(Config&)> ref) {
  auto parse = [](std::string_view t) -> Result<bool> {
    std::string v = Lower(Trim(t));
    if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "0" || v == "no" || v == "off") return false;
    return Status::InvalidArgument("expected true or false, got " + Quote(t));
  };
  auto from_node = [](const toml::node& n) -> Result<bool> {
    if (auto b = n.as_boolean()) return b->get();
    return Status::InvalidArgument("expected true or false, got " + NodeText(n));
  };
  auto check = [](const bool&) { return Status::Ok(); };
  auto render = [](const bool& v) { return std::string(v ? "true" : "false"); };
  return MakeField<bool>(std::move(path), ref, parse, from_node, check, render);
}

Field SizeField(std::string path, std::function<uint64_t&(Config&)> ref, uint64_t min) {
  auto from_node = [](const toml::node& n) -> Result<uint64_t> {
    if (auto i = n.as_integer(); i && i->get() >= 0) return static_cast<uint64_t>(i->get());
    return Status::InvalidArgument("expected a size like \"32MiB\" or a byte count, got " + NodeText(n));
  };
  auto check = [min](const uint64_t& v) -> Status {
    if (v < min) return Status::InvalidArgument(fmt::format("must be at least {} bytes, got {}", min, v));
    return Status::Ok();
  };
  auto render = [](const uint64_t& v) { return std::to_string(v); };
  return MakeField<uint64_t>(std::move(path), ref, ParseByteSize, from_node, check, render);
}

Field DurationField(std::string path, std::function<Duration&(Config&)> ref, bool allow_zero) {
  auto from_node = [](const toml::node& n) -> Result<Duration> {
    if (auto v = n.value<double>(); v && (n.is_integer() || n.is_floating_point()) && *v >= 0)
      return Duration(static_cast<int64_t>(*v * 1000.0));
    return Status::InvalidArgument("expected a duration like \"30s\" or seconds, got " + NodeText(n));
  };
  auto check = [allow_zero](const Duration& d) -> Status {
    if (d.count() < 0 || (!allow_zero && d.count() == 0))
      return Status::InvalidArgument(allow_zero ? "must not be negative" : "must be greater than 0");
    return Status::Ok();
  };
  auto render = [](const Duration& d) { return Quote(fmt::format("{}ms", d.count())); };
  return MakeField<Duration>(std::move(path), ref, ParseDuration, from_node, check, render);
}

Field StringListField(std::string path, std::function<std::vector<std::string>&(Config&)> ref) {
  // Text form (environment, flags): comma-separated.
  auto parse = [](std::string_view t) -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    while (!t.empty()) {
      size_t comma = t.find(',');
      auto item = Trim(t.substr(0, comma));
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      t.remove_prefix(comma + 1);
    }
    return out;
  };
  auto from_node = [](const toml::node& n) -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    const auto* arr = n.as_array();
    if (!arr) return Status::InvalidArgument("expected an array of strings, got " + NodeText(n));
    for (const auto& item : *arr) {
      if (!item.is_string()) return Status::InvalidArgument("expected an array of strings, got " + NodeText(n));
      out.push_back(item.as_string()->get());
    }
    return out;
  };
  auto check = [](const std::vector<std::string>&) { return Status::Ok(); };
  auto render = [](const std::vector<std::string>& v) {
    toml::array a;
    for (const auto& s : v) a.push_back(s);
    return NodeText(a);
  };
  return MakeField<std::vector<std::string>>(std::move(path), ref, parse, from_node, check, render);
}

Field IntMember(std::string path, int ModelConfig::*member, int64_t lo, int64_t hi) {
  return IntField(std::move(path), [member](const Config& c) { return int64_t{c.model.*member}; },
                  [member](Config& c, int64_t v) { c.model.*member = static_cast<int>(v); }, lo, hi);
}

Field UpIntMember(std::string path, int UpstreamConfig::*member, int64_t lo, int64_t hi) {
  return IntField(std::move(path), [member](const Config& c) { return int64_t{c.upstream.*member}; },
                  [member](Config& c, int64_t v) { c.upstream.*member = static_cast<int>(v); }, lo, hi);
}
Field UpString(std::string path, std::string UpstreamConfig::*member, std::vector<std::string> allowed = {}) {
  return StringField(std::move(path), [member](Config& c) -> std::string& { return c.upstream.*member; }, std::move(allowed));
}
Field UpDuration(std::string path, Duration UpstreamConfig::*member, bool allow_zero) {
  return DurationField(std::move(path), [member](Config& c) -> Duration& { return c.upstream.*member; }, allow_zero);
}
Field UpBool(std::string path, bool UpstreamConfig::*member) {
  return BoolField(std::move(path), [member](Config& c) -> bool& { return c.upstream.*member; });
}
Field UpList(std::string path, std::vector<std::string> UpstreamConfig::*member) {
  return StringListField(std::move(path), [member](Config& c) -> std::vector<std::string>& { return c.upstream.*member; });
}
Field RateField(std::string path, std::function<std::string&(Config&)> ref) {
  auto parse = [](std::string_view t) -> Result<std::string> { return std::string(t); };
  auto from_node = [](const toml::node& n) -> Result<std::string> {
    return Status::InvalidArgument("expected a rate like \"100/minute\" or \"off\", got " + NodeText(n));
  };
  auto check = [](const std::string& v) -> Status { return RateLimit::Parse(v).status(); };
  auto render = [](const std::string& v) { return NodeText(toml::value<std::string>(v)); };
  return MakeField<std::string>(std::move(path), ref, parse, from_node, check, render);
}

// A list of cache tier names, each once.
Field TierListField(std::string path, std::function<std::vector<std::string>&(Config&)> ref) {
  Field f = StringListField(path, ref);
  auto from_text = f.from_text;
  auto from_toml = f.from_toml;
  auto check = [ref](Config& c, Status s) -> Status {
    if (!s.ok()) return s;
    const auto& v = ref(c);
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] != "memory" && v[i] != "redis" && v[i] != "disk")
        return Status::InvalidArgument(fmt::format("unknown tier \"{}\" (memory, redis, disk)", v[i]));
      if (std::find(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v[i]) != v.begin() + static_cast<std::ptrdiff_t>(i))
        return Status::InvalidArgument(fmt::format("tier \"{}\" listed twice", v[i]));
    }
    return s;
  };
  f.from_text = [from_text, check](Config& c, std::string_view t) { return check(c, from_text(c, t)); };
  f.from_toml = [from_toml, check](Config& c, const toml::node& n) { return check(c, from_toml(c, n)); };
  return f;
}

// [[auth.keys]]: an array of tables, only from the file (a key list does not fit a flag).
Field KeysField() {
  Field f;
  f.path = "auth.keys";
  f.from_text = [](Config&, std::string_view) -> Status {
    return Status::InvalidArgument("API keys are set as [[auth.keys]] tables in the config file");
  };
  f.from_toml = [](Config& c, const toml::node& n) -> Status {
    const auto* arr = n.as_array();
    if (!arr) return Status::InvalidArgument("expected [[auth.keys]] tables");
    std::vector<ApiKeyConfig> keys;
    for (size_t i = 0; i < arr->size(); ++i) {
      std::string where = fmt::format("[{}]", i);
      const auto* t = (*arr)[i].as_table();
      if (!t) return Status::InvalidArgument(where + ": expected a table");
      ApiKeyConfig k;
      for (const auto& [key, value] : *t) {
        std::string name(key.str());
        auto str = value.value<std::string>();
        if (name == "name" && str) k.name = *str;
        else if (name == "sha256" && str) k.sha256 = *str;
        else if (name == "rate_limit" && str) k.rate_limit = *str;
        else if (name == "models" && value.is_array()) {
          for (const auto& m : *value.as_array()) {
            if (!m.is_string()) return Status::InvalidArgument(where + ".models: expected strings");
            k.models.push_back(m.as_string()->get());
          }
        } else {
          return Status::InvalidArgument(fmt::format("{}.{}: unknown key or wrong type", where, name));
        }
      }
      if (k.name.empty()) return Status::InvalidArgument(where + ".name: required");
      if (k.sha256.rfind("sha256:", 0) == 0) k.sha256 = k.sha256.substr(7);
      bool hex = k.sha256.size() == 64 && k.sha256.find_first_not_of("0123456789abcdef") == std::string::npos;
      if (!hex) return Status::InvalidArgument(where + ".sha256: expected 64 lower-case hex digits (lingxi hash-key KEY)");
      if (Status s = RateLimit::Parse(k.rate_limit).status(); !s.ok()) return s.WithContext(where + ".rate_limit");
      keys.push_back(std::move(k));
    }
    c.auth.keys = std::move(keys);
    return Status::Ok();
  };
  f.render = [](const Config& c) {
    toml::array a;
    for (const auto& k : c.auth.keys) {
      toml::array models;
      for (const auto& m : k.models) models.push_back(m);
      a.push_back(toml::table{{"name", k.name}, {"sha256", k.sha256}, {"rate_limit", k.rate_limit}, {"models", models}});
    }
    return NodeText(a);
  };
  return f;
}

// A secret: read like a string, printed redacted.
Field Secret(Field f) {
  auto inner = f.render;
  f.render = [inner](const Config& c) { return inner(c) == "\"\"" ? std::string("\"\"") : std::string("\"(redacted)\""); };
  return f;
}

// The catalogue of keys. Add a key here and to the struct in config.h.
const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = {
      StringField("server.host", [](Config& c) -> std::string& { return c.server.host; }),
      IntField("server.port", [](const Config& c) { return int64_t{c.server.port}; },
               [](Config& c, int64_t v) { c.server.port = static_cast<uint16_t>(v); }, 0, 65535),
      IntField("server.io_threads", [](const Config& c) { return int64_t{c.server.io_threads}; },
               [](Config& c, int64_t v) { c.server.io_threads = static_cast<int>(v); }, 0, 256),
      SizeField("server.body_limit", [](Config& c) -> uint64_t& { return c.server.body_limit; }, 1),
      DurationField("server.header_timeout", [](Config& c) -> Duration& { return c.server.header_timeout; }, false),
      DurationField("server.body_timeout", [](Config& c) -> Duration& { return c.server.body_timeout; }, false),
      DurationField("server.idle_timeout", [](Config& c) -> Duration& { return c.server.idle_timeout; }, false),
      DurationField("server.shutdown_timeout", [](Config& c) -> Duration& { return c.server.shutdown_timeout; }, true),
      StringField("log.level", [](Config& c) -> std::string& { return c.log.level; },
                  {"trace", "debug", "info", "warn", "error", "off"}),
      StringField("log.format", [](Config& c) -> std::string& { return c.log.format; }, {"text", "json"}),
      BoolField("log.access_log", [](Config& c) -> bool& { return c.log.access_log; }),
      StringField("model.path", [](Config& c) -> std::string& { return c.model.path; }),
      StringField("model.id", [](Config& c) -> std::string& { return c.model.id; }),
      StringListField("model.adapters", [](Config& c) -> std::vector<std::string>& { return c.model.adapters; }),
      StringField("model.chat_template", [](Config& c) -> std::string& { return c.model.chat_template; }),
      IntMember("model.context", &ModelConfig::context, 0, 1 << 24),
      IntMember("model.parallel", &ModelConfig::parallel, 1, 256),
      IntMember("model.batch", &ModelConfig::batch, 16, 1 << 16),
      IntMember("model.queue", &ModelConfig::queue, 0, 1 << 20),
      IntMember("model.threads", &ModelConfig::threads, 0, 1024),
      IntMember("model.gpu_layers", &ModelConfig::gpu_layers, -1, 100000),
      BoolField("model.embeddings", [](Config& c) -> bool& { return c.model.embeddings; }),
      BoolField("model.exit_on_load_failure", [](Config& c) -> bool& { return c.model.exit_on_load_failure; }),
      UpList("upstream.urls", &UpstreamConfig::urls),
      UpString("upstream.id", &UpstreamConfig::id),
      UpString("upstream.model", &UpstreamConfig::model),
      UpList("upstream.aliases", &UpstreamConfig::aliases),
      Secret(UpString("upstream.api_key", &UpstreamConfig::api_key)),
      UpString("upstream.flavor", &UpstreamConfig::flavor, {"auto", "openai", "vllm", "sglang", "llama-server", "moonshot"}),
      UpString("upstream.extra_body", &UpstreamConfig::extra_body),
      UpString("upstream.thinking", &UpstreamConfig::thinking, {"default", "on", "off"}),
      UpBool("upstream.inline_images", &UpstreamConfig::inline_images),
      UpDuration("upstream.connect_timeout", &UpstreamConfig::connect_timeout, false),
      UpDuration("upstream.header_timeout", &UpstreamConfig::header_timeout, false),
      UpDuration("upstream.idle_timeout", &UpstreamConfig::idle_timeout, false),
      UpIntMember("upstream.retries", &UpstreamConfig::retries, 0, 10),
      UpDuration("upstream.retry_backoff", &UpstreamConfig::retry_backoff, true),
      UpIntMember("upstream.failure_threshold", &UpstreamConfig::failure_threshold, 1, 1000),
      UpDuration("upstream.open_duration", &UpstreamConfig::open_duration, false),
      UpDuration("upstream.health_interval", &UpstreamConfig::health_interval, true),
      UpString("upstream.health_path", &UpstreamConfig::health_path),
      UpBool("upstream.affinity", &UpstreamConfig::affinity),
      UpBool("upstream.verify_tls", &UpstreamConfig::verify_tls),
      UpString("upstream.ca_file", &UpstreamConfig::ca_file),
      UpList("upstream.fallback", &UpstreamConfig::fallback),
      Secret(StringField("redis.url", [](Config& c) -> std::string& { return c.redis.url; })),
      DurationField("redis.timeout", [](Config& c) -> Duration& { return c.redis.timeout; }, false),
      RateField("rate_limit.per_ip", [](Config& c) -> std::string& { return c.rate_limit.per_ip; }),
      RateField("rate_limit.per_key", [](Config& c) -> std::string& { return c.rate_limit.per_key; }),
      RateField("rate_limit.per_user", [](Config& c) -> std::string& { return c.rate_limit.per_user; }),
      BoolField("rate_limit.fail_open", [](Config& c) -> bool& { return c.rate_limit.fail_open; }),
      StringListField("rate_limit.trusted_proxies", [](Config& c) -> std::vector<std::string>& { return c.rate_limit.trusted_proxies; }),
      BoolField("cache.enabled", [](Config& c) -> bool& { return c.cache.enabled; }),
      TierListField("cache.tiers", [](Config& c) -> std::vector<std::string>& { return c.cache.tiers; }),
      DurationField("cache.ttl", [](Config& c) -> Duration& { return c.cache.ttl; }, false),
      SizeField("cache.memory_bytes", [](Config& c) -> uint64_t& { return c.cache.memory_bytes; }, 0),
      StringField("cache.disk_path", [](Config& c) -> std::string& { return c.cache.disk_path; }),
      SizeField("cache.disk_bytes", [](Config& c) -> uint64_t& { return c.cache.disk_bytes; }, 1 << 20),
      BoolField("cache.nondeterministic", [](Config& c) -> bool& { return c.cache.nondeterministic; }),
      KeysField(),
  };
  return fields;
}

const Field* FindField(std::string_view path) {
  for (const auto& f : Fields())
    if (f.path == path) return &f;
  return nullptr;
}

std::string EnvName(std::string_view path) {
  std::string name = "LINGXI_";
  for (char c : path) name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

Status ApplyTable(Config& config, const toml::table& table, const std::string& prefix) {
  for (const auto& [key, node] : table) {
    std::string path = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (auto sub = node.as_table()) {
      bool known_section = std::any_of(Fields().begin(), Fields().end(), [&](const Field& f) {
        return f.path.rfind(path + ".", 0) == 0;
      });
      if (!known_section) return Status::InvalidArgument(fmt::format("{}: unknown section", path));
      if (Status s = ApplyTable(config, *sub, path); !s.ok()) return s;
      continue;
    }
    const Field* field = FindField(path);
    if (!field) return Status::InvalidArgument(fmt::format("{}: unknown key", path));
    if (Status s = field->from_toml(config, node); !s.ok()) return s.WithContext(path);
  }
  return Status::Ok();
}

}  // namespace

Result<uint64_t> ParseByteSize(std::string_view text) {
  std::string_view t = Trim(text);
  size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  if (digits == 0) return Status::InvalidArgument("expected a size like \"32MiB\", got " + Quote(text));
  uint64_t n = 0;
  if (std::from_chars(t.data(), t.data() + digits, n).ec != std::errc())
    return Status::InvalidArgument("size too large: " + Quote(text));
  std::string unit = Lower(Trim(t.substr(digits)));
  uint64_t mult = 0;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1ull << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1ull << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1ull << 30;
  else return Status::InvalidArgument("unknown size unit in " + Quote(text) + " (use B, KiB, MiB or GiB)");
  if (n > std::numeric_limits<uint64_t>::max() / mult)
    return Status::InvalidArgument("size too large: " + Quote(text));
  return n * mult;
}

Result<Duration> ParseDuration(std::string_view text) {
  std::string_view t = Trim(text);
  size_t end = 0;
  while (end < t.size() && (std::isdigit(static_cast<unsigned char>(t[end])) || t[end] == '.')) ++end;
  if (end == 0) return Status::InvalidArgument("expected a duration like \"30s\", got " + Quote(text));
  double n = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + end, n);
  if (ec != std::errc() || p != t.data() + end)
    return Status::InvalidArgument("expected a duration like \"30s\", got " + Quote(text));
  std::string unit = Lower(Trim(t.substr(end)));
  double ms_per = 0;
  if (unit.empty() || unit == "s") ms_per = 1000;
  else if (unit == "ms") ms_per = 1;
  else if (unit == "m" || unit == "min") ms_per = 60'000;
  else if (unit == "h") ms_per = 3'600'000;
  else return Status::InvalidArgument("unknown duration unit in " + Quote(text) + " (use ms, s, m or h)");
  return Duration(static_cast<int64_t>(n * ms_per));
}

Result<Config> ParseConfigToml(std::string_view toml_text, std::string_view origin) {
  Config config;
  toml::table table;
  try {
    table = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", origin, e.source().begin.line,
                                               e.source().begin.column, e.description()));
  }
  if (Status s = ApplyTable(config, table, ""); !s.ok()) return s.WithContext(origin);
  return config;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseConfigToml(ss.str(), path);
}

Status ApplyOverrides(Config& config, const std::vector<Override>& overrides) {
  for (const auto& o : overrides) {
    const Field* field = FindField(o.path);
    if (!field) return Status::InvalidArgument(fmt::format("{}: {}: unknown key", o.origin, o.path));
    if (Status s = field->from_text(config, o.value); !s.ok())
      return s.WithContext(fmt::format("{}: {}", o.origin, o.path));
  }
  return Status::Ok();
}

std::vector<Override> OverridesFromEnvironment(const char* const* env, std::vector<std::string>* unknown) {
  std::vector<Override> out;
  for (; env && *env; ++env) {
    std::string_view entry(*env);
    if (entry.rfind("LINGXI_", 0) != 0) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = entry.substr(0, eq);
    bool matched = false;
    for (const auto& f : Fields()) {
      if (EnvName(f.path) == name) {
        out.push_back({f.path, std::string(entry.substr(eq + 1)), std::string(name)});
        matched = true;
        break;
      }
    }
    if (!matched && unknown) unknown->emplace_back(name);
  }
  // Apply in catalogue order so the result does not depend on the environment's order.
  std::stable_sort(out.begin(), out.end(), [](const Override& a, const Override& b) {
    auto index = [](const std::string& p) {
      const auto& fs = Fields();
      return std::find_if(fs.begin(), fs.end(), [&](const Field& f) { return f.path == p; }) - fs.begin();
    };
    return index(a.path) < index(b.path);
  });
  return out;
}

std::vector<std::string> ConfigKeys() {
  std::vector<std::string> keys;
  for (const auto& f : Fields()) keys.push_back(f.path);
  return keys;
}

std::string ConfigToToml(const Config& config) {
  std::string out;
  std::string section;
  for (const auto& f : Fields()) {
    auto dot = f.path.find('.');
    std::string sec = f.path.substr(0, dot);
    if (sec != section) {
      if (!out.empty()) out += '\n';
      out += fmt::format("[{}]\n", sec);
      section = sec;
    }
    out += fmt::format("{} = {}\n", f.path.substr(dot + 1), f.render(config));
  }
  return out;
}

}  // namespace lingxi
