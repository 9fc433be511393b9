// JsonWriter output must parse back to what was written, whatever the strings hold.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/json_writer.h"

namespace lingxi::testing {
namespace {

using lingxi::JsonWriter;
using nlohmann::json;

TEST(JsonWriterTest, NestedValuesParseBack) {
  JsonWriter w;
  w.BeginObject()
      .Key("s").String("plain")
      .Key("n").Int(-42)
      .Key("d").Double(0.25)
      .Key("b").Bool(true)
      .Key("z").Null()
      .Key("a").BeginArray().Int(1).BeginObject().EndObject().BeginArray().EndArray().String("x").EndArray()
      .Key("raw").Raw(R"([{"id":"functions.f:0"}])")
      .EndObject();
  auto j = json::parse(w.text());
  EXPECT_EQ(j["s"], "plain");
  EXPECT_EQ(j["n"], -42);
  EXPECT_EQ(j["d"], 0.25);
  EXPECT_EQ(j["b"], true);
  EXPECT_TRUE(j["z"].is_null());
  EXPECT_EQ(j["a"], json::parse(R"([1,{},[],"x"])"));
  EXPECT_EQ(j["raw"][0]["id"], "functions.f:0");
}

TEST(JsonWriterTest, StringsAreEscapedAndBadUtf8IsReplaced) {
  const std::string tricky = std::string("quote\" back\\ nl\n tab\t nul") + '\0' + "\x01 中文 🙂";
  JsonWriter w;
  w.BeginArray().String(tricky).String("cut \xE4\xB8").String("\xC0\xAF overlong").String("\xED\xA0\x80 surrogate").EndArray();
  auto j = json::parse(w.text());
  EXPECT_EQ(j[0], tricky);
  EXPECT_EQ(j[1], "cut \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(j[2], "\xEF\xBF\xBD\xEF\xBF\xBD overlong");
  EXPECT_EQ(j[3].get<std::string>().rfind("\xEF\xBF\xBD", 0), 0u);
}

TEST(JsonWriterTest, EveryPositionOfASpecialByteIsEscaped) {
  // Strings are scanned 8 bytes at a time: a special byte in any lane, at any offset from a
  // word start, or in the tail must be caught.
  for (char special : {'"', '\\', '\n', '\x01', '\x1f'}) {
    for (size_t at = 0; at < 27; ++at) {
      std::string s(27, 'a');
      s[at] = special;
      JsonWriter w;
      w.String(s);
      EXPECT_EQ(json::parse(w.text()), s) << "byte " << int(special) << " at " << at;
    }
  }
  for (size_t at = 0; at < 27; ++at) {
    std::string s(27, ' ');
    s.replace(at, 0, "\xE4\xB8\xAD");  // 中: passed through as it is
    JsonWriter w;
    w.String(s);
    EXPECT_EQ(w.text(), '"' + s + '"');
  }
  JsonWriter w;
  w.String(std::string(40, '~') + "\x7f" + std::string(9, '!'));  // ~ and DEL need no escape
  EXPECT_EQ(w.text(), '"' + std::string(40, '~') + "\x7f" + std::string(9, '!') + '"');
}

TEST(JsonWriterTest, NonFiniteNumbersBecomeNull) {
  JsonWriter w;
  w.BeginArray().Double(1.0 / 0.0).Double(1e300 * 1e300 - 1e300 * 1e300).Double(3).EndArray();
  EXPECT_EQ(json::parse(w.text()), json::parse("[null,null,3]"));
}

TEST(JsonWriterTest, Fixed3RoundsToThousandths) {
  JsonWriter w;
  w.BeginArray().Fixed3(12.3456).Fixed3(0).Fixed3(0.0004).Fixed3(-1.5).Fixed3(-0.0006).Fixed3(7.0995).Fixed3(1.0 / 0.0).Fixed3(2e15).EndArray();
  EXPECT_EQ(w.text(), "[12.346,0.000,0.000,-1.500,-0.001,7.100,null,2e+15]");
}

}  // namespace
}  // namespace lingxi::testing
