#include "api/openai_request.h"

#include <boost/container/small_vector.hpp>
#include <simdjson.h>

#include <charconv>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "core/json_writer.h"

namespace lingxi::api {
namespace {

// simdjson's DOM: the request is read once into a tape and copied out of it; nothing of a
// tree is built per field. One parser per thread, reused (its memory stays allocated).
namespace sj = simdjson::dom;
using engine::ContentPart;
constexpr auto kOk = simdjson::SUCCESS;

Result<sj::object> ParseObject(const std::string& body) {
  thread_local sj::parser parser;
  sj::element root;
  // Bodies read by the server carry simdjson's padding in their capacity; others are copied.
  bool padded = body.capacity() - body.size() >= simdjson::SIMDJSON_PADDING;
  if (parser.parse(body.data(), body.size(), !padded).get(root) != kOk)
    return Status::InvalidArgument("the request body is not valid JSON");
  sj::object o;
  if (root.get_object().get(o) != kOk) return Status::InvalidArgument("the request body must be a JSON object");
  return o;
}

Status Bad(std::string_view field, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", field, what));
}

// A request object's top-level fields, read once. The parsers ask for some thirty names;
// looking each up here is a scan of a few string views, where simdjson would walk the object
// and measure the key every time. The first of duplicate names wins, as with simdjson.
class Fields {
 public:
  explicit Fields(sj::object o) {
    for (auto [key, value] : o) items_.emplace_back(key, value);
  }
  // The field, or nothing when it is absent or null (both mean "not given").
  std::optional<sj::element> Get(std::string_view key) const {
    for (const auto& [k, v] : items_)
      if (k == key) return v.is_null() ? std::nullopt : std::optional<sj::element>(v);
    return std::nullopt;
  }
  const auto& items() const { return items_; }

 private:
  boost::container::small_vector<std::pair<std::string_view, sj::element>, 16> items_;
};

std::optional<sj::element> Field(const Fields& f, std::string_view key) { return f.Get(key); }

std::optional<std::string_view> StringField(const Fields& f, std::string_view key) {
  std::string_view v;
  auto e = f.Get(key);
  if (!e || e->get_string().get(v) != kOk) return std::nullopt;
  return v;
}

// The same for a nested object, looked up directly.
std::optional<sj::element> Field(sj::object o, std::string_view key) {
  sj::element e;
  if (o[key].get(e) != kOk || e.is_null()) return std::nullopt;
  return e;
}

std::optional<std::string_view> StringField(sj::object o, std::string_view key) {
  std::string_view v;
  if (o[key].get_string().get(v) != kOk) return std::nullopt;
  return v;
}

// An integer; false for anything else (a fraction included). Beyond int64: the largest.
bool IntegerOf(sj::element e, int64_t& v) {
  if (e.get_int64().get(v) == kOk) return true;
  if (e.is_uint64()) {
    v = std::numeric_limits<int64_t>::max();
    return true;
  }
  return false;
}

// Reads an optional number field within [lo, hi].
Status Number(const Fields& j, const char* field, float& out, double lo, double hi) {
  auto e = Field(j, field);
  if (!e) return Status::Ok();
  double v;
  if (e->get_double().get(v) != kOk) return Bad(field, "expected a number");
  if (v < lo || v > hi) return Bad(field, fmt::format("must be between {} and {}, got {}", lo, hi, v));
  out = static_cast<float>(v);
  return Status::Ok();
}

Status Integer(const Fields& j, const char* field, int& out, int64_t lo, int64_t hi) {
  auto e = Field(j, field);
  if (!e) return Status::Ok();
  int64_t v;
  if (!IntegerOf(*e, v)) return Bad(field, "expected an integer");
  if (v < lo || v > hi) return Bad(field, fmt::format("must be between {} and {}, got {}", lo, hi, v));
  out = static_cast<int>(v);
  return Status::Ok();
}

// Fields shared by every generation endpoint (OpenAI's plus llama.cpp's extensions).
Status ParseSampling(const Fields& j, engine::SamplingParams& p) {
  Status s;
  if (!(s = Number(j, "temperature", p.temperature, 0, 2)).ok()) return s;
  if (!(s = Number(j, "top_p", p.top_p, 0, 1)).ok()) return s;
  if (!(s = Number(j, "min_p", p.min_p, 0, 1)).ok()) return s;
  if (!(s = Number(j, "repeat_penalty", p.repeat_penalty, 0, 10)).ok()) return s;
  if (!(s = Number(j, "presence_penalty", p.presence_penalty, -2, 2)).ok()) return s;
  if (!(s = Number(j, "frequency_penalty", p.frequency_penalty, -2, 2)).ok()) return s;
  if (!(s = Integer(j, "top_k", p.top_k, 0, 1 << 20)).ok()) return s;
  for (const char* f : {"max_tokens", "max_completion_tokens", "n_predict"}) {
    auto e = Field(j, f);
    if (!e) continue;
    int64_t v;
    if (!IntegerOf(*e, v)) return Bad(f, "expected an integer");
    if (v < 1) return Bad(f, fmt::format("must be at least 1, got {}", v));
    p.max_tokens = static_cast<int>(std::min<int64_t>(v, 1 << 30));
  }
  if (auto e = Field(j, "seed")) {
    int64_t v;
    if (!IntegerOf(*e, v)) return Bad("seed", "expected an integer");
    p.seed = static_cast<uint32_t>(v);
  }
  if (auto e = Field(j, "stop")) {
    sj::array a;
    if (std::string_view one; e->get_string().get(one) == kOk) {
      p.stop.emplace_back(one);
    } else if (e->get_array().get(a) == kOk && a.size() <= 16) {
      for (sj::element item : a) {
        std::string_view text;
        if (item.get_string().get(text) != kOk) return Bad("stop", "expected a string or an array of strings");
        p.stop.emplace_back(text);
      }
    } else {
      return Bad("stop", "expected a string or an array of up to 16 strings");
    }
  }
  if (auto e = Field(j, "n")) {
    double n;
    if (e->get_double().get(n) != kOk || n != 1) return Bad("n", "only n = 1 is supported");
  }
  if (auto e = Field(j, "ignore_eos")) {
    if (e->get_bool().get(p.ignore_eos) != kOk) return Bad("ignore_eos", "expected true or false");
  }
  if (auto e = Field(j, "grammar")) {
    std::string_view g;
    if (e->get_string().get(g) != kOk) return Bad("grammar", "expected a GBNF string");
    p.grammar = std::string(g);
  }
  if (auto e = Field(j, "response_format")) {
    sj::object rf;
    std::optional<std::string_view> type;
    if (e->get_object().get(rf) == kOk) type = StringField(rf, "type");
    if (!type) return Bad("response_format", "expected {\"type\": ...}");
    if (*type == "json_object") {
      p.json_object = true;
    } else if (*type == "json_schema") {
      sj::object js, schema;
      if (rf["json_schema"].get_object().get(js) != kOk || js["schema"].get_object().get(schema) != kOk)
        return Bad("response_format.json_schema.schema", "expected a JSON Schema object");
      p.json_schema = simdjson::minify(schema);
    } else if (*type != "text") {
      return Bad("response_format.type", fmt::format("expected text, json_object or json_schema, got \"{}\"", *type));
    }
  }
  return Status::Ok();
}

// Fields this parser reads itself; every other top-level field is forwarded to upstreams as
// the client wrote it (ChatRequest::passthrough).
bool Interpreted(std::string_view key) {
  static constexpr std::string_view kKeys[] = {"model", "messages", "prompt", "stream", "stream_options", "tools",
                                               "tool_choice", "thinking", "reasoning_field", "text", "images",
                                               "params", "cache"};
  for (auto k : kKeys)
    if (key == k) return true;
  return false;
}

// A value as JSON text. Scalars are written here (minify() builds its own buffer first);
// a whole number stays a float literal ("1.0", not "1"), as the client wrote it.
std::string JsonTextOf(sj::element e) {
  char buf[32];
  switch (e.type()) {
    case sj::element_type::INT64: return std::string(buf, std::to_chars(buf, buf + sizeof buf, int64_t(e)).ptr);
    case sj::element_type::UINT64: return std::string(buf, std::to_chars(buf, buf + sizeof buf, uint64_t(e)).ptr);
    case sj::element_type::DOUBLE: {
      std::string text(buf, std::to_chars(buf, buf + sizeof buf, double(e)).ptr);
      if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
      return text;
    }
    case sj::element_type::BOOL: return bool(e) ? "true" : "false";
    case sj::element_type::NULL_VALUE: return "null";
    case sj::element_type::STRING: {
      std::string out;
      AppendJsonString(out, std::string_view(e));
      return out;
    }
    default: return simdjson::minify(e);
  }
}

Status ParseUpstreamFields(const Fields& j, ParsedChat& out) {
  auto& r = out.request;
  r.passthrough.reserve(j.items().size());
  for (const auto& [key, value] : j.items())
    if (!Interpreted(key)) r.passthrough.emplace_back(std::string(key), JsonTextOf(value));
  if (auto e = Field(j, "tools")) {
    if (!e->is_array()) return Bad("tools", "expected an array of tools");
    r.tools = simdjson::minify(*e);
  }
  if (auto e = Field(j, "tool_choice")) {
    if (!e->is_string() && !e->is_object()) return Bad("tool_choice", "expected a string or an object");
    r.tool_choice = simdjson::minify(*e);
  }
  // One thinking switch, from any of the forms clients use.
  if (auto e = Field(j, "thinking")) {
    bool on;
    sj::object o;
    std::optional<std::string_view> type;
    if (e->get_bool().get(on) == kOk) r.thinking = on;
    else if (e->get_object().get(o) == kOk && (type = StringField(o, "type"))) r.thinking = *type != "disabled";
    else return Bad("thinking", "expected true, false or {\"type\": \"enabled\"|\"disabled\"}");
  } else if (sj::object k; (e = Field(j, "chat_template_kwargs")) && e->get_object().get(k) == kOk) {
    for (const char* name : {"thinking", "enable_thinking"})
      if (bool on; k[name].get_bool().get(on) == kOk) r.thinking = on;
  }
  if (auto e = Field(j, "reasoning_field")) {
    std::string_view f;
    if (e->get_string().get(f) != kOk || (f != "reasoning_content" && f != "reasoning" && f != "both"))
      return Bad("reasoning_field", "expected reasoning_content, reasoning or both");
    out.reasoning_field = std::string(f);
  }
  if (auto user = StringField(j, "user")) r.session = std::string(*user);
  if (auto e = Field(j, "cache")) {
    if (e->get_bool().get(r.cache) != kOk) return Bad("cache", "expected true or false");
  }
  return Status::Ok();
}

Status ParseModel(const Fields& j, std::string& model) {
  if (auto e = Field(j, "model")) {
    std::string_view m;
    if (e->get_string().get(m) != kOk) return Bad("model", "expected a string");
    model = std::string(m);
  }
  if (model.empty()) model = "default";
  return Status::Ok();
}

Status ParseModelAndStream(const Fields& j, ParsedChat& out) {
  if (Status s = ParseModel(j, out.request.model); !s.ok()) return s;
  if (auto e = Field(j, "stream")) {
    if (e->get_bool().get(out.request.stream) != kOk) return Bad("stream", "expected true or false");
  }
  auto options = Field(j, "stream_options");
  if (sj::object so; options && options->get_object().get(so) == kOk) {
    bool usage = false;
    if (so["include_usage"].get_bool().get(usage) == kOk) out.include_usage = usage;
  }
  return Status::Ok();
}

// Where a field is, for an error message; only built when there is an error.
std::string MessageAt(size_t i) { return fmt::format("messages[{}]", i); }
std::string PartAt(size_t i, size_t k) { return fmt::format("messages[{}].content[{}]", i, k); }

Result<ContentPart> ParsePart(sj::element part, size_t msg, size_t index) {
  auto where = [&] { return PartAt(msg, index); };
  sj::object o;
  std::optional<std::string_view> type;
  if (part.get_object().get(o) != kOk || !(type = StringField(o, "type")))
    return Bad(where(), "expected a content part {\"type\": ...}");
  ContentPart p;
  if (*type == "text") {
    auto text = StringField(o, "text");
    if (!text) return Bad(where() + ".text", "expected a string");
    p.text = std::string(*text);
  } else if (*type == "image_url") {
    sj::object u;
    std::optional<std::string_view> url;
    if (o["image_url"].get_object().get(u) != kOk || !(url = StringField(u, "url")))
      return Bad(where() + ".image_url.url", "expected a URL");
    p.kind = ContentPart::Kind::kImage;
    p.text = std::string(*url);  // a URL or data: URL; media/ turns it into bytes
  } else if (*type == "input_audio") {
    p.kind = ContentPart::Kind::kAudio;
  } else {
    return Bad(where() + ".type", fmt::format("unsupported content type \"{}\"", *type));
  }
  return p;
}

Status ParseMessages(const Fields& j, std::vector<engine::Message>& out) {
  sj::array list;
  auto messages = Field(j, "messages");
  if (!messages || messages->get_array().get(list) != kOk || list.size() == 0)
    return Bad("messages", "expected a non-empty array");
  size_t i = 0;
  for (sj::element item : list) {
    auto where = [i] { return MessageAt(i); };
    sj::object m;
    if (item.get_object().get(m) != kOk) return Bad(where(), "expected an object");
    auto role = StringField(m, "role");
    if (!role) return Bad(where() + ".role", "expected a string");
    engine::Message msg;
    msg.role = *role == "developer" ? std::string_view("system") : *role;
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant" && msg.role != "tool")
      return Bad(where() + ".role", "expected system, developer, user, assistant or tool, got \"" + msg.role + "\"");
    if (auto t = Field(m, "tool_calls")) {
      if (!t->is_array()) return Bad(where() + ".tool_calls", "expected an array");
      msg.tool_calls = simdjson::minify(*t);
    }
    for (const char* field : {"tool_call_id", "name", "reasoning_content", "reasoning"}) {
      auto f = Field(m, field);
      if (!f) continue;
      std::string_view v;
      if (f->get_string().get(v) != kOk) return Bad(where() + "." + field, "expected a string");
      std::string& into = std::string_view(field) == "tool_call_id" ? msg.tool_call_id
                          : std::string_view(field) == "name"       ? msg.name
                                                                    : msg.reasoning;
      if (into.empty()) into = std::string(v);
    }
    if (auto c = Field(m, "content")) {
      sj::array parts;
      if (std::string_view text; c->get_string().get(text) == kOk) {
        msg.parts.push_back(ContentPart{ContentPart::Kind::kText, std::string(text), "", ""});
      } else if (c->get_array().get(parts) == kOk) {
        size_t k = 0;
        for (sj::element pe : parts) {
          auto part = ParsePart(pe, i, k++);
          if (!part.ok()) return part.status();
          msg.parts.push_back(std::move(*part));
        }
      } else {
        return Bad(where() + ".content", "expected a string or an array of content parts");
      }
    }
    out.push_back(std::move(msg));
    ++i;
  }
  return Status::Ok();
}

}  // namespace

Result<ParsedChat> ParseChatCompletion(const std::string& body) {
  auto o = ParseObject(body);
  if (!o.ok()) return o.status();
  const Fields fields(*o), *j = &fields;
  ParsedChat out;
  Status s;
  if (!(s = ParseModelAndStream(*j, out)).ok()) return s;
  if (!(s = ParseMessages(*j, out.request.messages)).ok()) return s;
  if (!(s = ParseSampling(*j, out.request.sampling)).ok()) return s;
  if (!(s = ParseUpstreamFields(*j, out)).ok()) return s;
  return out;
}

Result<ParsedChat> ParseCompletion(const std::string& body) {
  auto o = ParseObject(body);
  if (!o.ok()) return o.status();
  const Fields fields(*o), *j = &fields;
  ParsedChat out;
  Status s;
  if (!(s = ParseModelAndStream(*j, out)).ok()) return s;
  auto prompt = StringField(*j, "prompt");
  if (!prompt) return Bad("prompt", "expected a string");
  out.request.prompt = std::string(*prompt);
  out.request.sampling.max_tokens = 16;  // OpenAI's default for completions
  if (!(s = ParseSampling(*j, out.request.sampling)).ok()) return s;
  if (!(s = ParseUpstreamFields(*j, out)).ok()) return s;
  return out;
}

Result<ParsedChat> ParsePredict(const std::string& body) {
  auto o = ParseObject(body);
  if (!o.ok()) return o.status();
  const Fields fields(*o), *j = &fields;
  ParsedChat out;
  Status s;
  if (!(s = ParseModel(*j, out.request.model)).ok()) return s;
  if (Field(*j, "messages")) {
    if (!(s = ParseMessages(*j, out.request.messages)).ok()) return s;
  } else {
    auto text = StringField(*j, "text");
    if (!text) return Bad("text", "expected a string");
    if (text->empty()) return Bad("text", "must not be empty");
    out.request.messages.push_back(engine::Message::OfText("user", std::string(*text)));
  }
  if (auto e = Field(*j, "images")) {
    sj::array images;
    if (e->get_array().get(images) != kOk) return Bad("images", "expected an array of URLs or data: URLs");
    for (sj::element img : images) {
      std::string_view url;
      if (img.get_string().get(url) != kOk) return Bad("images", "expected an array of URLs or data: URLs");
      out.request.messages.back().parts.push_back(ContentPart{ContentPart::Kind::kImage, std::string(url), "", ""});
    }
  }
  if (auto e = Field(*j, "params")) {
    sj::object params;
    if (e->get_object().get(params) != kOk) return Bad("params", "expected an object of sampling parameters");
    const Fields param_fields(params);
    if (!(s = ParseSampling(param_fields, out.request.sampling)).ok()) return s.WithContext("params");
    if (!(s = ParseUpstreamFields(param_fields, out)).ok()) return s.WithContext("params");
  }
  return out;
}

Result<ParsedEmbedding> ParseEmbeddings(const std::string& body) {
  auto j = ParseObject(body);
  if (!j.ok()) return j.status();
  ParsedEmbedding out;
  if (Status s = ParseModel(Fields(*j), out.model); !s.ok()) return s;
  sj::element input;
  if (j->at_key("input").get(input) != kOk) return Bad("input", "expected a string or an array of strings");
  sj::array list;
  if (std::string_view one; input.get_string().get(one) == kOk) {
    out.inputs.emplace_back(one);
  } else if (input.get_array().get(list) == kOk && list.size() > 0) {
    for (sj::element e : list) {
      std::string_view text;
      if (e.get_string().get(text) != kOk) return Bad("input", "expected a string or an array of strings");
      out.inputs.emplace_back(text);
    }
  } else {
    return Bad("input", "expected a string or a non-empty array of strings");
  }
  if (out.inputs.size() > 2048) return Bad("input", "at most 2048 inputs per request");
  std::string_view format = "float";
  if (auto e = Field(*j, "encoding_format")) {
    if (e->get_string().get(format) != kOk) format = "";
  }
  if (format != "float" && format != "base64") return Bad("encoding_format", "expected float or base64");
  out.base64 = format == "base64";
  return out;
}

}  // namespace lingxi::api
