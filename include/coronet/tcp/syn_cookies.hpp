// SYN cookies (RFC 4987 3.6): a listener whose SYN queue is full answers a
// SYN with a SYN+ACK whose ISS encodes what the connection needs (an MSS
// index; with timestamps, the peer's window scale rides in our TSval), and
// keeps no state until the peer's ACK returns a valid cookie.
#pragma once

#include <coronet/runtime/clock.hpp>
#include <coronet/tcp/config.hpp>
#include <coronet/tcp/isn.hpp>
#include <coronet/tcp/tcb.hpp>
#include <coronet/wire/tcp.hpp>
#include <coronet/wire/tcp_values.hpp>
#include <cstdint>
#include <optional>

namespace coronet::tcp {

class syn_cookies {
public:
    // Cookies keyed like ISNs (gen); our_mss: the MSS this host offers.
    syn_cookies(const isn_generator& gen, const tcp_config& cfg, std::uint16_t our_mss) noexcept
        : gen_(gen), cfg_(cfg), our_mss_(our_mss) {}

    // The SYN+ACK that answers syn for connection id at `now`; max_segment:
    // the listener's MSS clamp (TCP_MAXSEG), 0 for none.
    wire::tcp_repr answer(const four_tuple& id, const wire::tcp_view& syn, runtime::time_point now,
                          std::uint16_t max_segment = 0) const;

    // What a valid cookie remembered.
    struct opening {
        std::uint16_t mss = 536;
        std::optional<wire::window_scale> peer_wscale;  // only for a peer with timestamps
    };
    // The cookie that ack returns, if it was made for id in this period or the one before.
    std::optional<opening> check(const four_tuple& id, const wire::tcp_view& ack, runtime::time_point now) const;

    // How long after the last cookie sent an ACK may still carry one.
    static constexpr runtime::duration valid_for = std::chrono::seconds(128);

private:
    const isn_generator& gen_;
    const tcp_config& cfg_;
    std::uint16_t our_mss_;
};

}  // namespace coronet::tcp
