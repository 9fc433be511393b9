#include "http/message.h"

#include <algorithm>
#include <cctype>
#include <functional>

namespace lingxi::http {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  // ASCII only, as header names are; no locale call per character.
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

std::string_view Headers::Get(std::string_view name) const {
  for (const auto& e : entries_)
    if (EqualsIgnoreCase(View(e.name), name)) return View(e.value);
  return {};
}

bool Headers::Has(std::string_view name) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return EqualsIgnoreCase(View(e.name), name); });
}

void Headers::Set(std::string_view name, std::string_view value) {
  // The replaced bytes stay in text_ unused: header sets are small and short-lived.
  std::erase_if(entries_, [&](const Entry& e) { return EqualsIgnoreCase(View(e.name), name); });
  Add(name, value);
}

void Headers::Add(std::string_view name, std::string_view value) {
  auto inside = [this](std::string_view v) {  // std::less: a total order even across objects
    std::less<const char*> before;
    return !v.empty() && !before(v.data(), text_.data()) && before(v.data(), text_.data() + text_.size());
  };
  if (inside(name) || inside(value)) {  // a view of our own text: copy it before text_ can move
    std::string n(name), v(value);
    Add(n, v);
    return;
  }
  text_.reserve(std::max<size_t>(256, text_.size() + name.size() + value.size()));  // 256: a typical set at once
  if (entries_.capacity() == 0) entries_.reserve(8);
  Span n = Store(name);
  entries_.push_back(Entry{n, Store(value)});
}

Headers::Span Headers::Store(std::string_view s) {
  Span span{static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(s.size())};
  text_.append(s);
  return span;
}

void ClientGone::OnGone(std::function<void()> f) {
  if (gone_) f();
  else callback_ = std::move(f);
}

void ClientGone::Fire() {
  if (gone_) return;
  gone_ = true;
  if (auto f = std::move(callback_)) f();
}

std::string_view Request::PathParam(std::string_view name) const {
  for (const auto& [k, v] : path_params)
    if (k == name) return v;
  return {};
}

Response Response::Json(int status, std::string body) {
  return Text(status, std::move(body), "application/json");
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.Set("Content-Type", std::move(content_type));
  return r;
}

}  // namespace lingxi::http
