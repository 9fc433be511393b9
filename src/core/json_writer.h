// JsonWriter: writes JSON text straight into a string, for the responses written per request
// and per streamed token, where building a DOM first cost more than the rest of the work.
// Strings are escaped and invalid UTF-8 (model output cut mid-character, odd file names)
// becomes U+FFFD, as JsonText does. Not thread-safe; one per response.
//
//   JsonWriter w;
//   w.BeginObject().Key("id").String(id).Key("n").Int(3).EndObject();
//   std::string text = w.Take();
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lingxi {

// An object key written in the source: checked at compile time to need no escaping, so
// writing it is one append. Keys that come from data are written with AppendJsonString.
class JsonKey {
 public:
  template <size_t N>
  consteval JsonKey(const char (&text)[N]) : text_(text, N - 1) {  // NOLINT: implicit on purpose
    for (char c : text_)
      if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\' || static_cast<unsigned char>(c) >= 0x80)
        throw "a JsonKey must be plain ASCII without quotes, backslashes or controls";
  }
  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
};

class JsonWriter {
 public:
  // `reserve`: the expected size; most answers and chunks fit the default without regrowing.
  explicit JsonWriter(size_t reserve = 512) { out_.reserve(reserve); }
  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }
  JsonWriter& Key(JsonKey key);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Double(double v);  // shortest form that reads back the same; NaN/inf -> null
  JsonWriter& Fixed3(double v);  // rounded to 3 decimals ("12.345", "0.000"); NaN/inf -> null
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // JSON text that is already valid (a tool_calls array kept verbatim from an upstream).
  JsonWriter& Raw(std::string_view json);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  // Small and called for every token: inline.
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_ += ',';
    first_ = false;
  }
  JsonWriter& Open(char c) {
    Separate();
    out_ += c;
    first_ = true;
    return *this;
  }
  JsonWriter& Close(char c) {
    out_ += c;
    first_ = false;  // the container was a value of its parent
    return *this;
  }

  std::string out_;
  bool first_ = true;       // nothing written yet in the current container
  bool after_key_ = false;  // a key was written; its value comes next
};

// Appends `s` to `out` as a quoted JSON string.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace lingxi
