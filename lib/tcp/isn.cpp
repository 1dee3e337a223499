// SipHash-2-4 written from the paper's description (section 2): four 64-bit
// words of state, two SipRounds per 8-byte message word, four to finish.
#include <coronet/tcp/isn.hpp>

#include <sys/random.h>

#include <bit>
#include <cerrno>
#include <chrono>
#include <random>
#include <ratio>

namespace coronet::tcp {

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

std::uint64_t siphash24(const std::array<std::uint8_t, 16>& key, wire::bytes data) {
    const auto kb = std::as_bytes(std::span{key});
    const std::uint64_t k0 = load_le(kb.data(), 8), k1 = load_le(kb.data() + 8, 8);
    // Initialization: the key xor "somepseudorandomlygeneratedbytes".
    sip_state s{k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d, k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573};
    const std::size_t whole = data.size() / 8 * 8;
    for (std::size_t i = 0; i < whole; i += 8) s.compress(load_le(data.data() + i, 8));
    // The last word: the 0-7 remaining bytes, and the length mod 256 in the top byte.
    const std::uint64_t last = load_le(data.data() + whole, data.size() - whole) | (std::uint64_t{data.size() & 0xff} << 56);
    s.compress(last);
    return s.finish();
}

isn_generator::isn_generator(std::array<std::uint8_t, 16> secret) : secret_(secret) {}

isn_generator isn_generator::from_random_device() {
    std::array<std::uint8_t, 16> secret{};
    std::size_t got = 0;
    while (got < secret.size()) {
        const ssize_t n = ::getrandom(secret.data() + got, secret.size() - got, 0);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
        } else if (n < 0 && errno != EINTR) {
            break;
        }
    }
    if (got < secret.size()) {
        std::random_device rd;  // throws std::system_error if it has no source either
        for (auto& b : secret) b = static_cast<std::uint8_t>(rd());
    }
    return isn_generator{secret};
}

wire::seq32 isn_generator::next(boost::asio::ip::address_v4 local, std::uint16_t local_port,
                                boost::asio::ip::address_v4 remote, std::uint16_t remote_port,
                                runtime::time_point now) const {
    const auto f = static_cast<std::uint32_t>(siphash24(secret_, tuple(local, local_port, remote, remote_port)));
    // M: a timer that ticks every 4 microseconds, modulo 2^32.
    using ticks = std::chrono::duration<std::int64_t, std::ratio<4, 1'000'000>>;
    const auto m = static_cast<std::uint32_t>(std::chrono::floor<ticks>(now.time_since_epoch()).count());
    return wire::seq32{m} + f;
}

std::array<std::byte, 12> isn_generator::tuple(boost::asio::ip::address_v4 local, std::uint16_t local_port,
                                                boost::asio::ip::address_v4 remote, std::uint16_t remote_port) {
    std::array<std::byte, 12> t{};
    wire::store_address_v4(t, 0, local);
    wire::store_u16(t, 4, local_port);
    wire::store_address_v4(t, 6, remote);
    wire::store_u16(t, 10, remote_port);
    return t;
}

namespace {

// A MAC over the tuple, the peer's ISN and `extra`, in a domain of its own
// (the leading tag) so that no cookie MAC equals an ISN's F.
std::uint64_t cookie_mac(const std::array<std::uint8_t, 16>& key, const std::array<std::byte, 12>& tuple,
                         wire::seq32 peer_isn, std::uint32_t extra) {
    std::array<std::byte, 24> in{};
    wire::store_u32(in, 0, 0x636f6f6b);  // "cook"
    std::copy(tuple.begin(), tuple.end(), in.begin() + 4);
    wire::store_u32(in, 16, peer_isn.value);
    wire::store_u32(in, 20, extra);
    return siphash24(key, in);
}

constexpr std::uint32_t cookie_mask_extra = 0xffffffff;  // the top byte's mask knows no period

}  // namespace

wire::seq32 isn_generator::cookie(const std::array<std::byte, 12>& tuple, wire::seq32 peer_isn, std::uint32_t period,
                                  unsigned mss_index) const {
    const std::uint32_t top = ((period & 0x1f) << 3) | (mss_index & 7);
    const std::uint32_t mask = static_cast<std::uint32_t>(cookie_mac(secret_, tuple, peer_isn, cookie_mask_extra));
    const std::uint32_t mac = static_cast<std::uint32_t>(cookie_mac(secret_, tuple, peer_isn, (period << 3) | top));
    return wire::seq32{((top << 24) ^ (mask & 0xff000000u)) | (mac & 0x00ffffffu)};
}

int isn_generator::check_cookie(const std::array<std::byte, 12>& tuple, wire::seq32 peer_isn, wire::seq32 cookie,
                                std::uint32_t period) const {
    const std::uint32_t mask = static_cast<std::uint32_t>(cookie_mac(secret_, tuple, peer_isn, cookie_mask_extra));
    const std::uint32_t top = ((cookie.value ^ mask) >> 24) & 0xff;
    const std::uint32_t age = (period - (top >> 3)) & 0x1f;
    if (age > 1) return -1;
    const unsigned index = top & 7;
    return this->cookie(tuple, peer_isn, period - age, index) == cookie ? static_cast<int>(index) : -1;
}

}  // namespace coronet::tcp
