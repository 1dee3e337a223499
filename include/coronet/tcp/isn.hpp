// RFC 6528 initial sequence numbers: ISN = M + F(4-tuple, secret), M a
// 4-microsecond clock and F SipHash-2-4 keyed with a per-stack secret.
#pragma once

#include <coronet/runtime/clock.hpp>
#include <coronet/wire/bytes.hpp>
#include <coronet/wire/seq32.hpp>

#include <boost/asio/ip/address_v4.hpp>

#include <array>
#include <cstdint>

namespace coronet::tcp {

// SipHash-2-4 of data under a 128-bit key.
std::uint64_t siphash24(const std::array<std::uint8_t, 16>& key, wire::bytes data);

class isn_generator {
public:
    explicit isn_generator(std::array<std::uint8_t, 16> secret) : key_(secret) {}
    // A generator with a secret from std::random_device.
    static isn_generator from_random_device();
    wire::seq32 next(boost::asio::ip::address_v4 local, std::uint16_t local_port, boost::asio::ip::address_v4 remote,
                     std::uint16_t remote_port, runtime::time_point now) const;

private:
    std::array<std::uint8_t, 16> key_;
};

}  // namespace coronet::tcp
