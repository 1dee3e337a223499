// RFC 1071 one's complement sum, eight bytes at a time.
#include <coronet/wire/checksum.hpp>

#include <boost/endian/conversion.hpp>

#include <array>
#include <cstring>

namespace coronet::wire {

namespace {

// One's complement (end-around carry) addition modulo 2^64 - 1. Since
// 2^16 - 1 divides 2^64 - 1, folding this sum gives the RFC 1071 16-bit sum.
std::uint64_t add_carry(std::uint64_t a, std::uint64_t b) {
    const std::uint64_t s = a + b;
    return s + (s < b ? 1 : 0);
}

// Sum of data read as big-endian 16-bit words, data.size() even.
std::uint64_t sum_even(bytes data) {
    std::uint64_t sum = 0;
    std::size_t off = 0;
    for (; off + 8 <= data.size(); off += 8) {
        std::uint64_t w;
        std::memcpy(&w, data.data() + off, sizeof w);  // memcpy: any alignment
        sum = add_carry(sum, boost::endian::big_to_native(w));
    }
    for (; off + 2 <= data.size(); off += 2) {
        sum = add_carry(sum, load_u16(data, off));
    }
    return sum;
}

}  // namespace

void checksum_acc::add_word(std::uint64_t w) { sum_ = add_carry(sum_, w); }

void checksum_acc::add(bytes data) {
    if (data.empty()) {
        return;
    }
    if (odd_) {
        add_word(load_u8(data, 0));  // low half of the word begun last time
        data = data.subspan(1);
        odd_ = false;
    }
    const std::size_t even = data.size() & ~std::size_t{1};
    add_word(sum_even(data.first(even)));
    if (even != data.size()) {
        add_word(std::uint64_t{load_u8(data, even)} << 8);
        odd_ = true;
    }
}

void checksum_acc::add_u16(std::uint16_t v) {
    if (!odd_) {
        add_word(v);
        return;
    }
    std::array<std::byte, 2> b{};
    store_u16(b, 0, v);
    add(b);
}

void checksum_acc::add_u32(std::uint32_t v) {
    if (!odd_) {
        add_word(v);
        return;
    }
    std::array<std::byte, 4> b{};
    store_u32(b, 0, v);
    add(b);
}

std::uint16_t checksum_acc::fold() const {
    std::uint64_t s = sum_;
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return static_cast<std::uint16_t>(s);
}

std::uint16_t internet_checksum(bytes data) {
    checksum_acc acc;
    acc.add(data);
    return acc.finish();
}

std::uint16_t checksum_update(std::uint16_t old_checksum, std::uint16_t old_field, std::uint16_t new_field) {
    // HC' = ~(~HC + ~m + m')
    std::uint32_t s = static_cast<std::uint16_t>(~old_checksum);
    s += static_cast<std::uint16_t>(~old_field);
    s += new_field;
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return static_cast<std::uint16_t>(~s);
}

void add_pseudo_header(checksum_acc& acc, address_v4 src, address_v4 dst, std::uint8_t protocol, std::uint16_t length) {
    acc.add_u32(src.to_uint());
    acc.add_u32(dst.to_uint());
    acc.add_u16(protocol);
    acc.add_u16(length);
}

}  // namespace coronet::wire
