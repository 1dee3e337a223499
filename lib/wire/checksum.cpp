// RFC 1071 one's complement sum. The bulk of the data is summed as native-order
// 32-bit words into a plain 64-bit total: no carry to propagate per word, so the
// compiler vectorises the loop; the byte order is fixed once at the end.
#include <algorithm>
#include <array>
#include <boost/endian/conversion.hpp>
#include <coronet/wire/checksum.hpp>
#include <cstring>

namespace coronet::wire {

namespace {

// One's complement (end-around carry) addition modulo 2^64 - 1. Since
// 2^16 - 1 divides 2^64 - 1, folding this sum gives the RFC 1071 16-bit sum.
std::uint64_t add_carry(std::uint64_t a, std::uint64_t b) {
    const std::uint64_t s = a + b;
    return s + (s < b ? 1 : 0);
}

// Folds a one's complement sum to 16 bits; 0 only when sum is 0.
std::uint16_t fold16(std::uint64_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(sum);
}

std::uint32_t load_native_u32(const std::byte* p) {
    std::uint32_t w;
    std::memcpy(&w, p, sizeof w);  // memcpy: any alignment
    return w;
}

constexpr std::size_t block_len = 64;

// Plain sum of the native-order 32-bit words of data, data.size() a multiple of
// 4 and at most max_chunk_len: each word is below 2^32, so the total cannot overflow.
std::uint64_t native_sum32(bytes data) {
    const std::byte* p = data.data();
    std::uint64_t sum = 0;
    std::size_t off = 0;
    for (; off + block_len <= data.size(); off += block_len) {
        std::uint64_t block = 0;
        // Left a loop of known length, gcc vectorises it at -O2 and -O3 alike; -O3
        // would otherwise unroll it into 16 scalar adds first and not vectorise those.
#pragma GCC unroll 1
        for (std::size_t i = 0; i < block_len; i += 4) {
            block += load_native_u32(p + off + i);
        }
        sum += block;
    }
    for (; off < data.size(); off += 4) {
        sum += load_native_u32(p + off);
    }
    return sum;
}

constexpr std::size_t max_chunk_len = std::size_t{1} << 30;  // 2^28 words: sums stay below 2^60

// Sum of data read as big-endian 16-bit words, data.size() even. RFC 1071 2(B):
// the sum is byte-order independent, so words are summed in native order and the
// folded result swapped once.
std::uint64_t sum_even(bytes data) {
    std::uint64_t sum = 0;
    while (data.size() >= 4) {
        const std::size_t n = std::min(data.size(), max_chunk_len) & ~std::size_t{3};
        sum = add_carry(sum, native_sum32(data.first(n)));
        data = data.subspan(n);
    }
    if (!data.empty()) {
        std::uint16_t last;
        std::memcpy(&last, data.data(), sizeof last);
        sum = add_carry(sum, last);
    }
    return boost::endian::big_to_native(fold16(sum));
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

std::uint16_t checksum_acc::fold() const { return fold16(sum_); }

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
