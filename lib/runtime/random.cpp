// SipHash-2-4 written from the paper's description (section 2): four 64-bit
// words of state, two SipRounds per 8-byte message word, four to finish; and
// the stack's random source, SipHash in counter mode.
#include <sys/random.h>

#include <bit>
#include <cerrno>
#include <coronet/runtime/random.hpp>
#include <random>

namespace coronet::runtime {

namespace {

// Reads 8 bytes (or fewer, zero-filled above) as a little-endian number.
std::uint64_t load_le(const std::byte* p, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{std::to_integer<std::uint8_t>(p[i])} << (8 * i);
    return v;
}

struct sip_state {
    std::uint64_t v0, v1, v2, v3;

    void round() noexcept {
        v0 += v1;
        v2 += v3;
        v1 = std::rotl(v1, 13);
        v3 = std::rotl(v3, 16);
        v1 ^= v0;
        v3 ^= v2;
        v0 = std::rotl(v0, 32);
        v2 += v1;
        v0 += v3;
        v1 = std::rotl(v1, 17);
        v3 = std::rotl(v3, 21);
        v1 ^= v2;
        v3 ^= v0;
        v2 = std::rotl(v2, 32);
    }

    // Compression: c = 2 SipRounds per message word.
    void compress(std::uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }

    // Finalization: d = 4 SipRounds.
    std::uint64_t finish() noexcept {
        v2 ^= 0xff;
        for (int i = 0; i < 4; ++i) round();
        return v0 ^ v1 ^ v2 ^ v3;
    }
};

}  // namespace

std::uint64_t siphash24(const std::array<std::uint8_t, 16>& key, std::span<const std::byte> data) {
    const auto kb = std::as_bytes(std::span{key});
    const std::uint64_t k0 = load_le(kb.data(), 8), k1 = load_le(kb.data() + 8, 8);
    // Initialization: the key xor "somepseudorandomlygeneratedbytes".
    sip_state s{k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d, k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573};
    const std::size_t whole = data.size() / 8 * 8;
    for (std::size_t i = 0; i < whole; i += 8) s.compress(load_le(data.data() + i, 8));
    // The last word: the 0-7 remaining bytes, and the length mod 256 in the top byte.
    const std::uint64_t last =
        load_le(data.data() + whole, data.size() - whole) | (std::uint64_t{data.size() & 0xff} << 56);
    s.compress(last);
    return s.finish();
}

random_source::random_source(std::uint64_t seed) : seed_(seed) {
    // The key is the seed, twice with different masks: any seed gives a full key.
    for (int i = 0; i < 8; ++i) {
        key_[i] = static_cast<std::uint8_t>(seed >> (8 * i));
        key_[8 + i] = static_cast<std::uint8_t>((seed ^ 0x9e3779b97f4a7c15ull) >> (8 * i));
    }
}

namespace {
// Fills out from getrandom(2); false when the kernel has no entropy to give.
bool from_kernel(std::span<std::uint8_t> out) {
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::getrandom(out.data() + got, out.size() - got, 0);
        if (n > 0)
            got += static_cast<std::size_t>(n);
        else if (n < 0 && errno != EINTR)
            return false;
    }
    return true;
}
}  // namespace

random_source random_source::from_entropy() {
    const auto fill = [](std::span<std::uint8_t> out) {
        if (from_kernel(out)) return;
        std::random_device rd;  // throws std::system_error if it has no source either
        for (auto& b : out) b = static_cast<std::uint8_t>(rd());
    };
    std::array<std::uint8_t, 8> label{};
    fill(label);
    std::uint64_t seed = 0;
    for (int i = 0; i < 8; ++i) seed |= std::uint64_t{label[i]} << (8 * i);
    random_source r(seed);
    fill(r.key_);  // secrets drawn from an entropy source get a full 128-bit key
    return r;
}

std::uint64_t random_source::next() noexcept {
    const std::uint64_t n = counter_++;
    std::array<std::byte, 8> block{};
    for (int i = 0; i < 8; ++i) block[i] = static_cast<std::byte>(n >> (8 * i));
    return siphash24(key_, block);
}

std::array<std::uint8_t, 16> random_source::key() noexcept {
    std::array<std::uint8_t, 16> k{};
    for (int half = 0; half < 2; ++half) {
        const std::uint64_t v = next();
        for (int i = 0; i < 8; ++i) k[8 * half + i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
    return k;
}

std::uint32_t random_source::below(std::uint32_t n) noexcept {
    return n == 0 ? 0 : static_cast<std::uint32_t>(next() % n);
}

}  // namespace coronet::runtime
