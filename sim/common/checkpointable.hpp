// State that must survive a kill (DESIGN principle 6, "Checkpoints"): anything whose value after round r
// depends on rounds before it — the global model, a policy's memory (SCAFFOLD's c_i, server moments,
// Oort's history), a paradigm's counters — saves itself into bytes and loads itself back, exactly:
// numbers are stored as their bits, so a resumed run continues with the very same values.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dtsim {

// Appends values as little-endian bytes.
class ByteWriter {
 public:
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
  void boolean(bool v) { u64(v ? 1 : 0); }
  void text(const std::string& s) {
    u64(s.size());
    bytes_ += s;
  }
  // Room for n more bytes (a writer that knows its total size allocates once).
  void reserve(std::size_t n) { bytes_.reserve(bytes_.size() + n); }
  void floats(std::span<const float> v) {
    const std::size_t need = bytes_.size() + 8 + 4 * v.size();
    if (bytes_.capacity() < need) bytes_.reserve(std::max(need, 2 * bytes_.capacity()));
    u64(v.size());
    for (float f : v) {
      const auto bits = std::bit_cast<std::uint32_t>(f);
      for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
    }
  }
  const std::string& bytes() const { return bytes_; }
  std::string take() && { return std::move(bytes_); }

 private:
  std::string bytes_;
};

// Reads what a ByteWriter wrote, in the same order; throws std::runtime_error past the end.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  std::uint64_t u64() {
    need(8);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return v;
  }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  double f64() { return std::bit_cast<double>(u64()); }
  bool boolean() { return u64() != 0; }
  std::string text() {
    const auto n = u64();
    need(n);
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::vector<float> floats() {
    const auto n = u64();
    need(n * 4);
    std::vector<float> v(n);
    for (std::size_t k = 0; k < n; ++k) {
      std::uint32_t bits = 0;
      for (int i = 0; i < 4; ++i)
        bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes_[pos_ + 4 * k + i])) << (8 * i);
      v[k] = std::bit_cast<float>(bits);
    }
    pos_ += n * 4;
    return v;
  }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  void need(std::uint64_t n) const {
    if (n > bytes_.size() - pos_) throw std::runtime_error("checkpoint: truncated state");
  }
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

// A component with state that a checkpoint keeps. The defaults keep nothing (stateless components).
class Checkpointable {
 public:
  virtual ~Checkpointable() = default;
  virtual void save(ByteWriter&) const {}
  virtual void load(ByteReader&) {}
};

}  // namespace dtsim
