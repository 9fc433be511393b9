#include "cache/tiers.h"

namespace lingxi::cache {
namespace {

class RedisTier : public Tier {
 public:
  RedisTier(redis::Client& client, std::string prefix) : client_(client), prefix_(std::move(prefix)) {}
  const char* name() const override { return "redis"; }

  http::Task<Result<std::optional<std::string>>> Get(const std::string& key) override {
    std::vector<std::string> cmd = {"GET", prefix_ + key};
    auto r = co_await client_.Command(std::move(cmd));
    if (!r.ok()) co_return r.status();
    if (r->type == redis::Reply::Type::kNil) co_return std::optional<std::string>();
    if (r->type != redis::Reply::Type::kString) co_return Status::Unavailable("redis GET: " + r->str);
    co_return std::optional<std::string>(std::move(r->str));
  }

  http::Task<Status> Put(const std::string& key, const std::string& value, std::chrono::milliseconds ttl) override {
    std::vector<std::string> cmd = {"SET", prefix_ + key, value, "PX", std::to_string(std::max<int64_t>(ttl.count(), 1))};
    auto r = co_await client_.Command(std::move(cmd));
    if (!r.ok()) co_return r.status();
    if (r->type == redis::Reply::Type::kError) co_return Status::Unavailable("redis SET: " + r->str);
    co_return Status::Ok();
  }

 private:
  redis::Client& client_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<Tier> MakeRedisTier(redis::Client& client, std::string prefix) {
  return std::make_unique<RedisTier>(client, std::move(prefix));
}

}  // namespace lingxi::cache
