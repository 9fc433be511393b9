// InlineFifo<T, N>: a first-in first-out queue with room for N values inside the object, so a
// short answer (a text chunk and the final one) is queued without an allocation. Storage is
// reused from the start once drained, and compacted when a consumer that never catches up
// leaves most of it behind. Not thread-safe.
#pragma once

#include <boost/container/small_vector.hpp>

#include <cstddef>
#include <optional>
#include <utility>

namespace lingxi::engine {

template <typename T, size_t N>
class InlineFifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  void Push(T&& value) { items_.push_back(std::move(value)); }
  // The oldest value; the queue must not be empty.
  T Pop() {
    T v = std::move(items_[head_++]);
    Drained();
    return v;
  }
  // The oldest value, or nullopt when empty: moved once, straight into the optional.
  std::optional<T> TryPop() {
    if (empty()) return std::nullopt;
    std::optional<T> v(std::in_place, std::move(items_[head_++]));
    Drained();
    return v;
  }

 private:
  void Drained() {
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  boost::container::small_vector<T, N> items_;  // not yet taken: items_[head_..]
  size_t head_ = 0;
};

}  // namespace lingxi::engine
