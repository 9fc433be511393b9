#include "core/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

namespace lingxi {

using namespace std::string_view_literals;

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t Utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  unsigned char c1 = b(i + 1);
  if (n == 3 && ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F))) return 0;  // overlong, surrogate
  if (n == 4 && ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))) return 0;  // overlong, > U+10FFFF
  return n;
}

// Bytes that a JSON string cannot hold as they are: controls, quote, backslash, and
// non-ASCII (checked as UTF-8).
constexpr auto kSpecial = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return t;
}();

// Whether any of the 8 bytes in `w` is special: below 0x20, '"', '\\' or 0x80 and up. Exact
// for "any" (the borrows of the zero-byte test only mark bytes above a true hit).
inline bool AnySpecial(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  uint64_t quote = w ^ (kOnes * '"'), backslash = w ^ (kOnes * '\\');
  uint64_t hits = (w - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes);
  return ((hits & ~w) | w) & kHigh;  // ~w drops bytes >= 0x80 from the tests; `| w` counts them
}

// The end of the run from `i` that needs no escaping: 8 bytes at a time, then byte by byte.
size_t PlainRun(std::string_view s, size_t i) {
  while (s.size() - i >= 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (AnySpecial(w)) break;
    i += 8;
  }
  while (i < s.size() && !kSpecial[static_cast<unsigned char>(s[i])]) ++i;
  return i;
}

// `s` as a JSON string, then `colon` when set. Most strings (keys above all) are short and
// need no escaping: they go in with one append, where the general path appends per piece.
// `s`, known to need no escaping and at most 128 bytes, quoted (and `colon`) in one append.
void AppendPlainQuoted(std::string& out, std::string_view s, bool colon) {
  char buf[131];
  buf[0] = '"';
  std::memcpy(buf + 1, s.data(), s.size());
  buf[s.size() + 1] = '"';
  buf[s.size() + 2] = ':';
  out.append(buf, s.size() + 2 + (colon ? 1 : 0));
}

void AppendQuoted(std::string& out, std::string_view s, bool colon) {
  size_t plain = PlainRun(s, 0);
  if (plain == s.size() && s.size() <= 128) return AppendPlainQuoted(out, s, colon);
  out.reserve(out.size() + s.size() + 3);
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run that needs no escaping in one go.
    size_t run = i == 0 ? plain : PlainRun(s, i);
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8Length(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD"sv;
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""sv; break;
      case '\\': out += "\\\\"sv; break;
      case '\n': out += "\\n"sv; break;
      case '\r': out += "\\r"sv; break;
      case '\t': out += "\\t"sv; break;
      case '\b': out += "\\b"sv; break;
      case '\f': out += "\\f"sv; break;
      default: fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
    }
    ++i;
  }
  out += '"';
  if (colon) out += ':';
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) { AppendQuoted(out, s, false); }

JsonWriter& JsonWriter::Key(JsonKey key) {
  if (!first_) out_ += ',';
  first_ = false;
  std::string_view k = key.text();  // plain by construction
  if (k.size() <= 128) AppendPlainQuoted(out_, k, true);
  else AppendQuoted(out_, k, true);
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  Separate();
  AppendJsonString(out_, s);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t v) {
  Separate();
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  return *this;
}

JsonWriter& JsonWriter::Double(double v) {
  Separate();
  if (!std::isfinite(v)) {
    out_ += "null"sv;
    return *this;
  }
  char buf[32];  // shortest form that reads back the same
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  return *this;
}

JsonWriter& JsonWriter::Fixed3(double v) {
  if (!std::isfinite(v) || std::fabs(v) >= 1e15) return Double(v);
  Separate();
  // In thousandths as an integer: a few divisions, where shortest-form printing is a search.
  int64_t m = static_cast<int64_t>(v * 1000 + (v < 0 ? -0.5 : 0.5));  // rounded half away from zero
  if (m < 0) {
    out_ += '-';
    m = -m;
  }
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, m / 1000).ptr);
  int frac = static_cast<int>(m % 1000);
  char digits[4] = {'.', static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                    static_cast<char>('0' + frac % 10)};
  out_.append(digits, 4);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool v) {
  Separate();
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_ += "null"sv;
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  Separate();
  out_ += json;
  return *this;
}

}  // namespace lingxi
