// RFC 6528 initial sequence numbers: ISN = M + F(localip, localport,
// remoteip, remoteport, secretkey), M a 4-microsecond clock and F SipHash-2-4
// keyed with a per-stack secret, so that off-path attackers cannot guess ISNs.
#pragma once

#include <array>
#include <boost/asio/ip/address_v4.hpp>
#include <coronet/runtime/clock.hpp>
#include <coronet/runtime/random.hpp>
#include <coronet/wire/bytes.hpp>
#include <coronet/wire/seq32.hpp>
#include <cstdint>

namespace coronet::tcp {

using runtime::siphash24;

class isn_generator {
public:
    // A generator keyed with secret (from the stack's random_source, or a fixed value in tests).
    explicit isn_generator(std::array<std::uint8_t, 16> secret);
    // The ISN for this connection at time now (RFC 6528 3).
    wire::seq32 next(boost::asio::ip::address_v4 local, std::uint16_t local_port, boost::asio::ip::address_v4 remote,
                     std::uint16_t remote_port, runtime::time_point now) const;

    // SYN cookies (RFC 4987 3.6): the ISS of a SYN+ACK sent without keeping
    // any state. Its top 8 bits carry the 64-second period (mod 32) and an
    // MSS index (0-7), masked by a MAC of the connection; the low 24 bits are
    // a MAC of the connection, the peer's ISN, the period and the index.
    wire::seq32 cookie(const std::array<std::byte, 12>& tuple, wire::seq32 peer_isn, std::uint32_t period,
                       unsigned mss_index) const;
    // The MSS index of a cookie made in this period or the one before, or -1.
    int check_cookie(const std::array<std::byte, 12>& tuple, wire::seq32 peer_isn, wire::seq32 cookie,
                     std::uint32_t period) const;
    // F's input: the 4-tuple in network order, in RFC 6528's order.
    static std::array<std::byte, 12> tuple(boost::asio::ip::address_v4 local, std::uint16_t local_port,
                                           boost::asio::ip::address_v4 remote, std::uint16_t remote_port);

private:
    std::array<std::uint8_t, 16> secret_;
};

}  // namespace coronet::tcp
