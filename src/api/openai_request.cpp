#include "api/openai_request.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace lingxi::api {
namespace {

using nlohmann::json;
using engine::ContentPart;

Result<json> ParseObject(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("the request body is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("the request body must be a JSON object");
  return j;
}

Status Bad(std::string_view field, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", field, what));
}

// Reads an optional number field within [lo, hi].
Status Number(const json& j, const char* field, float& out, double lo, double hi) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_number()) return Bad(field, "expected a number");
  double v = it->get<double>();
  if (v < lo || v > hi) return Bad(field, fmt::format("must be between {} and {}, got {}", lo, hi, v));
  out = static_cast<float>(v);
  return Status::Ok();
}

Status Integer(const json& j, const char* field, int& out, int64_t lo, int64_t hi) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_integer()) return Bad(field, "expected an integer");
  int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) return Bad(field, fmt::format("must be between {} and {}, got {}", lo, hi, v));
  out = static_cast<int>(v);
  return Status::Ok();
}

// Fields shared by every generation endpoint (OpenAI's plus llama.cpp's extensions).
Status ParseSampling(const json& j, engine::SamplingParams& p) {
  Status s;
  if (!(s = Number(j, "temperature", p.temperature, 0, 2)).ok()) return s;
  if (!(s = Number(j, "top_p", p.top_p, 0, 1)).ok()) return s;
  if (!(s = Number(j, "min_p", p.min_p, 0, 1)).ok()) return s;
  if (!(s = Number(j, "repeat_penalty", p.repeat_penalty, 0, 10)).ok()) return s;
  if (!(s = Number(j, "presence_penalty", p.presence_penalty, -2, 2)).ok()) return s;
  if (!(s = Number(j, "frequency_penalty", p.frequency_penalty, -2, 2)).ok()) return s;
  if (!(s = Integer(j, "top_k", p.top_k, 0, 1 << 20)).ok()) return s;
  for (const char* f : {"max_tokens", "max_completion_tokens", "n_predict"}) {
    auto it = j.find(f);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_number_integer()) return Bad(f, "expected an integer");
    if (it->get<int64_t>() < 1) return Bad(f, fmt::format("must be at least 1, got {}", it->get<int64_t>()));
    p.max_tokens = static_cast<int>(std::min<int64_t>(it->get<int64_t>(), 1 << 30));
  }
  if (auto it = j.find("seed"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer()) return Bad("seed", "expected an integer");
    p.seed = static_cast<uint32_t>(it->get<int64_t>());
  }
  if (auto it = j.find("stop"); it != j.end() && !it->is_null()) {
    if (it->is_string()) {
      p.stop.push_back(it->get<std::string>());
    } else if (it->is_array() && it->size() <= 16) {
      for (const auto& s2 : *it) {
        if (!s2.is_string()) return Bad("stop", "expected a string or an array of strings");
        p.stop.push_back(s2.get<std::string>());
      }
    } else {
      return Bad("stop", "expected a string or an array of up to 16 strings");
    }
  }
  if (auto it = j.find("n"); it != j.end() && !it->is_null() && *it != 1)
    return Bad("n", "only n = 1 is supported");
  if (auto it = j.find("ignore_eos"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return Bad("ignore_eos", "expected true or false");
    p.ignore_eos = it->get<bool>();
  }
  if (auto it = j.find("grammar"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return Bad("grammar", "expected a GBNF string");
    p.grammar = it->get<std::string>();
  }
  if (auto it = j.find("response_format"); it != j.end() && !it->is_null()) {
    if (!it->is_object() || !(*it)["type"].is_string()) return Bad("response_format", "expected {\"type\": ...}");
    std::string type = (*it)["type"];
    if (type == "json_object") {
      p.json_object = true;
    } else if (type == "json_schema") {
      const json& js = (*it)["json_schema"];
      if (!js.is_object() || !js.contains("schema") || !js["schema"].is_object())
        return Bad("response_format.json_schema.schema", "expected a JSON Schema object");
      p.json_schema = js["schema"].dump();
    } else if (type != "text") {
      return Bad("response_format.type", "expected text, json_object or json_schema, got \"" + type + "\"");
    }
  }
  return Status::Ok();
}

// Fields this parser reads itself; every other top-level field is forwarded to upstreams as
// the client wrote it (ChatRequest::passthrough).
bool Interpreted(const std::string& key) {
  static const char* const kKeys[] = {"model", "messages", "prompt", "stream", "stream_options", "tools",
                                      "tool_choice", "thinking", "reasoning_field", "text", "images", "params", "cache"};
  for (const char* k : kKeys)
    if (key == k) return true;
  return false;
}

Status ParseUpstreamFields(const json& j, ParsedChat& out) {
  auto& r = out.request;
  json rest = json::object();
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!Interpreted(it.key())) rest[it.key()] = it.value();
  if (!rest.empty()) r.passthrough = rest.dump();
  if (auto it = j.find("tools"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return Bad("tools", "expected an array of tools");
    r.tools = it->dump();
  }
  if (auto it = j.find("tool_choice"); it != j.end() && !it->is_null()) {
    if (!it->is_string() && !it->is_object()) return Bad("tool_choice", "expected a string or an object");
    r.tool_choice = it->dump();
  }
  // One thinking switch, from any of the forms clients use.
  if (auto it = j.find("thinking"); it != j.end() && !it->is_null()) {
    if (it->is_boolean()) r.thinking = it->get<bool>();
    else if (it->is_object() && it->contains("type") && (*it)["type"].is_string())
      r.thinking = (*it)["type"] != "disabled";
    else return Bad("thinking", "expected true, false or {\"type\": \"enabled\"|\"disabled\"}");
  } else if (auto k = j.find("chat_template_kwargs"); k != j.end() && k->is_object()) {
    for (const char* name : {"thinking", "enable_thinking"})
      if (k->contains(name) && (*k)[name].is_boolean()) r.thinking = (*k)[name].get<bool>();
  }
  if (auto it = j.find("reasoning_field"); it != j.end() && !it->is_null()) {
    if (!it->is_string() || (*it != "reasoning_content" && *it != "reasoning" && *it != "both"))
      return Bad("reasoning_field", "expected reasoning_content, reasoning or both");
    out.reasoning_field = it->get<std::string>();
  }
  if (auto it = j.find("user"); it != j.end() && it->is_string()) r.session = it->get<std::string>();
  if (auto it = j.find("cache"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return Bad("cache", "expected true or false");
    r.cache = it->get<bool>();
  }
  return Status::Ok();
}

Status ParseModelAndStream(const json& j, ParsedChat& out) {
  if (auto it = j.find("model"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return Bad("model", "expected a string");
    out.request.model = it->get<std::string>();
  }
  if (out.request.model.empty()) out.request.model = "default";
  if (auto it = j.find("stream"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return Bad("stream", "expected true or false");
    out.request.stream = it->get<bool>();
  }
  if (auto it = j.find("stream_options"); it != j.end() && it->is_object())
    out.include_usage = it->value("include_usage", false);
  return Status::Ok();
}

Result<ContentPart> ParsePart(const json& part, const std::string& where) {
  if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
    return Bad(where, "expected a content part {\"type\": ...}");
  std::string type = part["type"];
  ContentPart p;
  if (type == "text") {
    if (!part.contains("text") || !part["text"].is_string()) return Bad(where + ".text", "expected a string");
    p.text = part["text"];
  } else if (type == "image_url") {
    const json& u = part.value("image_url", json());
    if (!u.is_object() || !u.contains("url") || !u["url"].is_string()) return Bad(where + ".image_url.url", "expected a URL");
    p.kind = ContentPart::Kind::kImage;
    p.text = u["url"];  // a URL or data: URL; media/ turns it into bytes
  } else if (type == "input_audio") {
    p.kind = ContentPart::Kind::kAudio;
  } else {
    return Bad(where + ".type", "unsupported content type \"" + type + "\"");
  }
  return p;
}

Status ParseMessages(const json& j, std::vector<engine::Message>& out) {
  auto it = j.find("messages");
  if (it == j.end() || !it->is_array() || it->empty()) return Bad("messages", "expected a non-empty array");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) return Bad(where, "expected an object");
    if (!m.contains("role") || !m["role"].is_string()) return Bad(where + ".role", "expected a string");
    engine::Message msg;
    msg.role = m["role"];
    if (msg.role == "developer") msg.role = "system";
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant" && msg.role != "tool")
      return Bad(where + ".role", "expected system, developer, user, assistant or tool, got \"" + msg.role + "\"");
    if (auto t = m.find("tool_calls"); t != m.end() && !t->is_null()) {
      if (!t->is_array()) return Bad(where + ".tool_calls", "expected an array");
      msg.tool_calls = t->dump();
    }
    for (const char* field : {"tool_call_id", "name", "reasoning_content", "reasoning"}) {
      auto f = m.find(field);
      if (f == m.end() || f->is_null()) continue;
      if (!f->is_string()) return Bad(where + "." + field, "expected a string");
      std::string& into = std::string_view(field) == "tool_call_id" ? msg.tool_call_id
                          : std::string_view(field) == "name"       ? msg.name
                                                                    : msg.reasoning;
      if (into.empty()) into = f->get<std::string>();
    }
    const json& c = m.contains("content") ? m["content"] : json();
    if (c.is_string()) {
      msg.parts.push_back(ContentPart{ContentPart::Kind::kText, c.get<std::string>(), "", ""});
    } else if (c.is_array()) {
      for (size_t k = 0; k < c.size(); ++k) {
        auto part = ParsePart(c[k], fmt::format("{}.content[{}]", where, k));
        if (!part.ok()) return part.status();
        msg.parts.push_back(std::move(*part));
      }
    } else if (!c.is_null()) {
      return Bad(where + ".content", "expected a string or an array of content parts");
    }
    out.push_back(std::move(msg));
  }
  return Status::Ok();
}

}  // namespace

Result<ParsedChat> ParseChatCompletion(const std::string& body) {
  auto j = ParseObject(body);
  if (!j.ok()) return j.status();
  ParsedChat out;
  Status s;
  if (!(s = ParseModelAndStream(*j, out)).ok()) return s;
  if (!(s = ParseMessages(*j, out.request.messages)).ok()) return s;
  if (!(s = ParseSampling(*j, out.request.sampling)).ok()) return s;
  if (!(s = ParseUpstreamFields(*j, out)).ok()) return s;
  return out;
}

Result<ParsedChat> ParseCompletion(const std::string& body) {
  auto j = ParseObject(body);
  if (!j.ok()) return j.status();
  ParsedChat out;
  Status s;
  if (!(s = ParseModelAndStream(*j, out)).ok()) return s;
  auto it = j->find("prompt");
  if (it == j->end() || !it->is_string()) return Bad("prompt", "expected a string");
  out.request.prompt = it->get<std::string>();
  out.request.sampling.max_tokens = 16;  // OpenAI's default for completions
  if (!(s = ParseSampling(*j, out.request.sampling)).ok()) return s;
  if (!(s = ParseUpstreamFields(*j, out)).ok()) return s;
  return out;
}

Result<ParsedChat> ParsePredict(const std::string& body) {
  auto j = ParseObject(body);
  if (!j.ok()) return j.status();
  ParsedChat out;
  out.request.model = j->value("model", std::string("default"));
  Status s;
  if (j->contains("messages")) {
    if (!(s = ParseMessages(*j, out.request.messages)).ok()) return s;
  } else {
    auto it = j->find("text");
    if (it == j->end() || !it->is_string()) return Bad("text", "expected a string");
    if (it->get<std::string>().empty()) return Bad("text", "must not be empty");
    out.request.messages.push_back(engine::Message::OfText("user", it->get<std::string>()));
  }
  if (auto it = j->find("images"); it != j->end() && !it->is_null()) {
    if (!it->is_array()) return Bad("images", "expected an array of URLs or data: URLs");
    for (const auto& img : *it) {
      if (!img.is_string()) return Bad("images", "expected an array of URLs or data: URLs");
      out.request.messages.back().parts.push_back(ContentPart{ContentPart::Kind::kImage, img, "", ""});
    }
  }
  if (auto it = j->find("params"); it != j->end() && !it->is_null()) {
    if (!it->is_object()) return Bad("params", "expected an object of sampling parameters");
    if (!(s = ParseSampling(*it, out.request.sampling)).ok()) return s.WithContext("params");
    if (!(s = ParseUpstreamFields(*it, out)).ok()) return s.WithContext("params");
  }
  return out;
}

Result<ParsedEmbedding> ParseEmbeddings(const std::string& body) {
  auto j = ParseObject(body);
  if (!j.ok()) return j.status();
  ParsedEmbedding out;
  out.model = j->value("model", std::string("default"));
  auto it = j->find("input");
  if (it == j->end()) return Bad("input", "expected a string or an array of strings");
  if (it->is_string()) {
    out.inputs.push_back(*it);
  } else if (it->is_array() && !it->empty()) {
    for (const auto& s : *it) {
      if (!s.is_string()) return Bad("input", "expected a string or an array of strings");
      out.inputs.push_back(s);
    }
  } else {
    return Bad("input", "expected a string or a non-empty array of strings");
  }
  if (out.inputs.size() > 2048) return Bad("input", "at most 2048 inputs per request");
  std::string format = j->value("encoding_format", std::string("float"));
  if (format != "float" && format != "base64") return Bad("encoding_format", "expected float or base64");
  out.base64 = format == "base64";
  return out;
}

}  // namespace lingxi::api
