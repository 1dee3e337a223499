// RFC 6528 ISNs and RFC 4987 SYN cookies from SipHash-2-4 (runtime/random.hpp).
#include <chrono>
#include <coronet/tcp/isn.hpp>
#include <ratio>

namespace coronet::tcp {

isn_generator::isn_generator(std::array<std::uint8_t, 16> secret) : secret_(secret) {}

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
