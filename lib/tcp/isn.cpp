#include <coronet/tcp/isn.hpp>

#include <random>

namespace coronet::tcp {

namespace {

std::uint64_t rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

std::uint64_t load_le64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

struct sip_state {
    std::uint64_t v0, v1, v2, v3;
    void round() {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }
    void absorb(std::uint64_t m) {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

}  // namespace

std::uint64_t siphash24(const std::array<std::uint8_t, 16>& key, wire::bytes data) {
    const std::uint64_t k0 = load_le64(key.data()), k1 = load_le64(key.data() + 8);
    sip_state s{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull, k0 ^ 0x6c7967656e657261ull,
                k1 ^ 0x7465646279746573ull};
    const auto* p = reinterpret_cast<const std::uint8_t*>(data.data());
    const std::size_t n = data.size();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) s.absorb(load_le64(p + i));
    std::uint64_t last = static_cast<std::uint64_t>(n & 0xff) << 56;
    for (std::size_t j = 0; i + j < n; ++j) last |= static_cast<std::uint64_t>(p[i + j]) << (8 * j);
    s.absorb(last);
    s.v2 ^= 0xff;
    for (int r = 0; r < 4; ++r) s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

isn_generator isn_generator::from_random_device() {
    std::random_device rd;
    std::array<std::uint8_t, 16> k{};
    for (auto& b : k) b = static_cast<std::uint8_t>(rd());
    return isn_generator{k};
}

wire::seq32 isn_generator::next(boost::asio::ip::address_v4 local, std::uint16_t local_port,
                                boost::asio::ip::address_v4 remote, std::uint16_t remote_port,
                                runtime::time_point now) const {
    std::array<std::byte, 12> tuple{};
    wire::store_u32(tuple, 0, local.to_uint());
    wire::store_u32(tuple, 4, remote.to_uint());
    wire::store_u16(tuple, 8, local_port);
    wire::store_u16(tuple, 10, remote_port);
    const auto ticks = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() / 4;
    return wire::seq32{static_cast<std::uint32_t>(ticks) + static_cast<std::uint32_t>(siphash24(key_, tuple))};
}

}  // namespace coronet::tcp
