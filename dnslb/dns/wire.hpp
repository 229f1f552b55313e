// Bounds-checked reading and writing of DNS wire format (RFC 1035 section 4).
//
// The Reader is a cursor whose first error sticks: after it, every read returns zero and
// ok() is false, so parsers check once at the end of a step instead of after every field
// (the pattern of Knot's wire_ctx). Neither class allocates or throws: both sit on the query
// path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dnslb::dns {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameWire = 255;  // RFC 1035 section 3.1
inline constexpr size_t kMaxLabels = 128;

class Reader {
public:
    Reader(const uint8_t* data, size_t size) noexcept : data_(data), size_(size) {}

    bool ok() const noexcept { return ok_; }
    size_t pos() const noexcept { return pos_; }
    size_t size() const noexcept { return size_; }
    size_t remaining() const noexcept { return ok_ ? size_ - pos_ : 0; }
    const uint8_t* data() const noexcept { return data_; }
    const uint8_t* here() const noexcept { return data_ + pos_; }
    void fail() noexcept { ok_ = false; }

    uint8_t u8() noexcept {
        if (!need(1)) {
            return 0;
        }
        return data_[pos_++];
    }
    uint16_t u16() noexcept {
        if (!need(2)) {
            return 0;
        }
        auto v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    uint32_t u32() noexcept {
        uint32_t hi = u16();
        return (hi << 16) | u16();
    }
    void skip(size_t n) noexcept {
        if (need(n)) {
            pos_ += n;
        }
    }
    void copy(uint8_t* out, size_t n) noexcept {
        if (need(n)) {
            std::memcpy(out, data_ + pos_, n);
            pos_ += n;
        }
    }
    // Skips a possibly compressed name (other sections than the question may compress).
    void skip_name() noexcept;

private:
    bool need(size_t n) noexcept {
        if (!ok_ || size_ - pos_ < n) {
            ok_ = false;
            return false;
        }
        return true;
    }

    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
    bool ok_ = true;
};

// Appends into a caller-owned fixed buffer; an overflow sticks like Reader's errors, and the
// encoder then rolls back to a mark (for truncation) instead of checking every write.
class Writer {
public:
    Writer(uint8_t* data, size_t capacity) noexcept : data_(data), cap_(capacity) {}

    bool ok() const noexcept { return ok_; }
    size_t pos() const noexcept { return pos_; }
    size_t capacity() const noexcept { return cap_; }
    uint8_t* data() noexcept { return data_; }
    // Roll back to a mark taken with pos(); clears the overflow.
    void rewind(size_t mark) noexcept {
        pos_ = mark;
        ok_ = true;
    }
    // Shrinks the usable capacity (e.g. to the client's UDP size); never grows it.
    void limit(size_t capacity) noexcept {
        if (capacity < cap_) {
            cap_ = capacity;
        }
    }

    // Sets `n` bytes of the capacity aside for a record that must fit at the end (the OPT RR,
    // as Knot's knot_pkt_reserve): writes before reclaim() cannot use them.
    void reserve(size_t n) noexcept {
        n = n < cap_ ? n : cap_;
        cap_ -= n;
        reserved_ += n;
    }
    void reclaim() noexcept {
        cap_ += reserved_;
        reserved_ = 0;
    }

    void u8(uint8_t v) noexcept {
        if (need(1)) {
            data_[pos_++] = v;
        }
    }
    void u16(uint16_t v) noexcept {
        if (need(2)) {
            data_[pos_] = static_cast<uint8_t>(v >> 8);
            data_[pos_ + 1] = static_cast<uint8_t>(v);
            pos_ += 2;
        }
    }
    void u32(uint32_t v) noexcept {
        u16(static_cast<uint16_t>(v >> 16));
        u16(static_cast<uint16_t>(v));
    }
    void bytes(const void* src, size_t n) noexcept {
        if (need(n)) {
            std::memcpy(data_ + pos_, src, n);
            pos_ += n;
        }
    }
    // A compression pointer to an earlier offset (RFC 1035 section 4.1.4).
    void pointer(size_t offset) noexcept { u16(static_cast<uint16_t>(0xC000U | offset)); }
    void put_u16_at(size_t at, uint16_t v) noexcept {
        if (at + 2 <= pos_) {
            data_[at] = static_cast<uint8_t>(v >> 8);
            data_[at + 1] = static_cast<uint8_t>(v);
        }
    }

private:
    bool need(size_t n) noexcept {
        if (!ok_ || cap_ - pos_ < n) {
            ok_ = false;
            return false;
        }
        return true;
    }

    uint8_t* data_;
    size_t reserved_ = 0;
    size_t cap_;
    size_t pos_ = 0;
    bool ok_ = true;
};

inline uint16_t load_u16(const uint8_t* p) noexcept {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

inline uint8_t ascii_lower(uint8_t c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c;
}

// ascii_lower on the eight bytes of a word at once (bytes >= 0x80 stay as they are).
inline uint64_t ascii_lower8(uint64_t w) noexcept {
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    constexpr uint64_t kHigh = 0x8080808080808080ULL;
    uint64_t low7 = w & ~kHigh;
    uint64_t ge_a = low7 + (0x80 - 'A') * kOnes;      // high bit set: byte >= 'A'
    uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * kOnes;  // high bit set: byte > 'Z'
    uint64_t upper = ge_a & ~gt_z & ~w & kHigh;
    return w | (upper >> 2);  // 0x80 >> 2 = 0x20, the case bit
}

// Copies n bytes lower-cased (ASCII letters only: label lengths are below 'A' and unchanged).
inline void copy_lower(uint8_t* out, const uint8_t* in, size_t n) noexcept {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = 0;
        std::memcpy(&w, in + i, 8);
        w = ascii_lower8(w);
        std::memcpy(out + i, &w, 8);
    }
    for (; i < n; ++i) {
        out[i] = ascii_lower(in[i]);
    }
}

// Fills label_at[i] with where label i of a valid uncompressed name starts (at most kMaxLabels
// of them), then label_at[labels] with the root's offset; returns the number of labels.
inline size_t name_labels(const uint8_t* name, size_t len, uint8_t* label_at) noexcept {
    size_t labels = 0;
    for (size_t pos = 0; pos < len && name[pos] != 0 && labels < kMaxLabels;
         pos += name[pos] + 1U) {
        label_at[labels++] = static_cast<uint8_t>(pos);
    }
    label_at[labels] = static_cast<uint8_t>(len - 1);
    return labels;
}

}  // namespace dnslb::dns
