#include "payload.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace coronet::bench {

namespace {

// splitmix64's finaliser: consecutive word indexes give unrelated words.
std::uint64_t mix(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

std::byte pattern_byte(std::uint64_t offset) noexcept {
    return static_cast<std::byte>(mix(offset / 8) >> (8 * (offset % 8)));
}

}  // namespace

void fill_pattern(wire::mut_bytes out, std::uint64_t offset) noexcept {
    std::size_t i = 0;
    for (; i < out.size() && (offset + i) % 8 != 0; ++i) out[i] = pattern_byte(offset + i);  // up to a word
    for (; i + 8 <= out.size(); i += 8) {  // whole words, least significant byte first
        const std::uint64_t w = mix((offset + i) / 8);
        for (std::size_t b = 0; b < 8; ++b) out[i + b] = static_cast<std::byte>(w >> (8 * b));
    }
    for (; i < out.size(); ++i) out[i] = pattern_byte(offset + i);
}

std::string to_hex(const sha256_digest& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (std::byte b : d) {
        s += digits[static_cast<unsigned>(b) >> 4];
        s += digits[static_cast<unsigned>(b) & 15];
    }
    return s;
}

sha256::sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("OpenSSL cannot start a SHA-256");
}

void sha256::update(wire::bytes data) noexcept { EVP_DigestUpdate(ctx_.get(), data.data(), data.size()); }

sha256_digest sha256::finish() noexcept {
    sha256_digest d{};
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_.get(), reinterpret_cast<unsigned char*>(d.data()), &len);
    return d;
}

void payload_check::feed(wire::bytes data) {
    hash_.update(data);
    while (!data.empty()) {
        const std::size_t n = std::min(data.size(), expected_.size());
        fill_pattern(std::span(expected_).first(n), offset_);
        if (matches_ && std::memcmp(data.data(), expected_.data(), n) != 0) matches_ = false;
        data = data.subspan(n);
        offset_ += n;
    }
}

std::array<std::byte, trailer::size> trailer::encode() const {
    std::array<std::byte, size> b{};
    std::copy(digest.begin(), digest.end(), b.begin());
    wire::store_u8(b, 32, verified ? 1 : 0);
    wire::store_u32(b, 33, static_cast<std::uint32_t>(retransmits >> 32));
    wire::store_u32(b, 37, static_cast<std::uint32_t>(retransmits));
    return b;
}

trailer trailer::decode(wire::bytes b) {
    trailer t;
    std::copy(b.begin(), b.begin() + 32, t.digest.begin());
    t.verified = wire::load_u8(b, 32) == 1;
    t.retransmits = (std::uint64_t{wire::load_u32(b, 33)} << 32) | wire::load_u32(b, 37);
    return t;
}

}  // namespace coronet::bench
