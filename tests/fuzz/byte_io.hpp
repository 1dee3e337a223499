// The fuzzer's input read front to back as the fields of a harness's own
// format (past the end every field reads as zero, so any input decodes), and
// the writer the seed generator encodes the same fields with.
#pragma once

#include <algorithm>
#include <coronet/wire/bytes.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace coronet::fuzz {

class byte_reader {
public:
    explicit byte_reader(wire::bytes in) noexcept : in_(in) {}

    bool empty() const noexcept { return at_ >= in_.size(); }
    std::uint8_t u8() noexcept { return empty() ? 0 : static_cast<std::uint8_t>(in_[at_++]); }
    // Big-endian, as the wire.
    std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
    std::uint32_t u32() noexcept { return std::uint32_t{u16()} << 16 | u16(); }
    // The next n bytes, fewer at the end of the input.
    wire::bytes take(std::size_t n) noexcept {
        const std::size_t len = std::min(n, in_.size() - std::min(at_, in_.size()));
        const wire::bytes out = in_.subspan(std::min(at_, in_.size()), len);
        at_ += len;
        return out;
    }

private:
    wire::bytes in_;
    std::size_t at_ = 0;
};

class byte_writer {
public:
    byte_writer& u8(std::uint8_t v) {
        out_.push_back(std::byte{v});
        return *this;
    }
    byte_writer& u16(std::uint16_t v) { return u8(static_cast<std::uint8_t>(v >> 8)).u8(static_cast<std::uint8_t>(v)); }
    byte_writer& u32(std::uint32_t v) {
        return u16(static_cast<std::uint16_t>(v >> 16)).u16(static_cast<std::uint16_t>(v));
    }
    byte_writer& append(wire::bytes b) {
        out_.insert(out_.end(), b.begin(), b.end());
        return *this;
    }
    const std::vector<std::byte>& bytes() const noexcept { return out_; }

private:
    std::vector<std::byte> out_;
};

}  // namespace coronet::fuzz
