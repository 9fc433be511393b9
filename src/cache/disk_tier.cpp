#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "cache/tiers.h"

namespace lingxi::cache {
namespace {

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Values are stored as 8 bytes of expiry (unix ms, little-endian) then the entry. Unix time,
// not a steady clock: entries outlive the process.
class DiskTier : public Tier {
 public:
  explicit DiskTier(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
  ~DiskTier() override { Close(); }
  const char* name() const override { return "disk"; }

  http::Task<Result<std::optional<std::string>>> Get(const std::string& key) override {
    std::string raw;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &raw);
    if (s.IsNotFound()) co_return std::optional<std::string>();
    if (!s.ok()) co_return Status::Unavailable("rocksdb get: " + s.ToString());
    int64_t expires = 0;
    if (raw.size() < sizeof expires) co_return std::optional<std::string>();
    std::memcpy(&expires, raw.data(), sizeof expires);
    if (UnixMs() >= expires) {
      db_->Delete(rocksdb::WriteOptions(), key);
      co_return std::optional<std::string>();
    }
    co_return std::optional<std::string>(raw.substr(sizeof expires));
  }

  http::Task<Status> Put(const std::string& key, const std::string& value, std::chrono::milliseconds ttl) override {
    int64_t expires = UnixMs() + ttl.count();
    std::string raw(sizeof expires, '\0');
    std::memcpy(raw.data(), &expires, sizeof expires);
    raw += value;
    rocksdb::Status s = db_->Put(rocksdb::WriteOptions(), key, raw);  // WAL on: survives a crash
    if (!s.ok()) co_return Status::Unavailable("rocksdb put: " + s.ToString());
    co_return Status::Ok();
  }

  void Close() override {
    if (db_) db_->Close();
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

Result<std::unique_ptr<Tier>> MakeDiskTier(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  rocksdb::Options o;
  o.create_if_missing = true;
  o.compaction_style = rocksdb::kCompactionStyleFIFO;  // oldest files go first past the budget
  o.compaction_options_fifo.max_table_files_size = max_bytes;
  o.write_buffer_size = std::min<uint64_t>(64u << 20, std::max<uint64_t>(max_bytes / 8, 1u << 20));
  o.max_open_files = -1;  // FIFO compaction requires it
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, path, &raw);
  if (!s.ok()) return Status::InvalidArgument("cache.disk_path: " + path + ": " + s.ToString());
  return std::unique_ptr<Tier>(new DiskTier(std::unique_ptr<rocksdb::DB>(raw)));
}

}  // namespace lingxi::cache
