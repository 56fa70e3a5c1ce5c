#pragma once
// File: corsd/http/input_buffer.hpp
//
// A connection's fixed-size read buffer. Its size bounds what one client can
// make the server hold: a header block must fit, a body streams through.

#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace corsd::http {

class InputBuffer {
 public:
  explicit InputBuffer(std::size_t capacity) : data_(new char[capacity]), capacity_(capacity) {}
  // Uses `storage`, of `capacity` bytes (from a pool of such buffers).
  InputBuffer(std::size_t capacity, std::unique_ptr<char[]> storage) noexcept
      : data_(std::move(storage)), capacity_(capacity) {}

  // take_storage(), give_storage()
  //
  // An idle connection gives its storage back to a pool and gets one again
  // when it is used: idle connections then hold no buffer. Only while empty.
  std::unique_ptr<char[]> take_storage() noexcept {
    begin_ = end_ = 0;
    return std::move(data_);
  }
  void give_storage(std::unique_ptr<char[]> storage) noexcept { data_ = std::move(storage); }

  std::string_view readable() const noexcept { return {data_.get() + begin_, end_ - begin_}; }
  // The unread bytes, to be rewritten in place before they are parsed.
  std::span<char> unread() noexcept { return {data_.get() + begin_, end_ - begin_}; }
  bool empty() const noexcept { return begin_ == end_; }

  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  // Space to read into, at least a quarter of the capacity unless unread
  // data fills more: moving the unread bytes down is cheaper than a read
  // syscall that returns a sliver.
  std::span<char> writable() noexcept {
    if (begin_ > 0 && capacity_ - end_ < capacity_ / 4) {
      std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    return {data_.get() + end_, capacity_ - end_};
  }

  void commit(std::size_t n) noexcept { end_ += n; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace corsd::http
