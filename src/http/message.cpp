#include "http/message.h"

#include <algorithm>
#include <cctype>

namespace lingxi::http {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  // ASCII only, as header names are; no locale call per character.
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

std::string_view Headers::Get(std::string_view name) const {
  for (const auto& [k, v] : entries_)
    if (EqualsIgnoreCase(k, name)) return v;
  return {};
}

bool Headers::Has(std::string_view name) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return EqualsIgnoreCase(e.first, name); });
}

void Headers::Set(std::string name, std::string value) {
  std::erase_if(entries_, [&](const auto& e) { return EqualsIgnoreCase(e.first, name); });
  Add(std::move(name), std::move(value));
}

void Headers::Add(std::string name, std::string value) {
  if (entries_.capacity() == 0) entries_.reserve(8);  // one allocation for a typical header set
  entries_.emplace_back(std::move(name), std::move(value));
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
