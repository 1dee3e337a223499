// The RFC 9293 connection states, with their names as traced in logs.
#pragma once

#include <cstdint>
#include <string_view>

namespace coronet::tcp {

enum class state : std::uint8_t {
    closed,
    listen,
    syn_sent,
    syn_rcvd,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};

// "SYN_SENT", "ESTABLISHED", ... as the state diagram names them.
constexpr std::string_view to_string(state s) noexcept {
    switch (s) {
        case state::closed:
            return "CLOSED";
        case state::listen:
            return "LISTEN";
        case state::syn_sent:
            return "SYN_SENT";
        case state::syn_rcvd:
            return "SYN_RCVD";
        case state::established:
            return "ESTABLISHED";
        case state::fin_wait_1:
            return "FIN_WAIT_1";
        case state::fin_wait_2:
            return "FIN_WAIT_2";
        case state::close_wait:
            return "CLOSE_WAIT";
        case state::closing:
            return "CLOSING";
        case state::last_ack:
            return "LAST_ACK";
        case state::time_wait:
            return "TIME_WAIT";
    }
    return "?";
}

// Whether the connection has exchanged SYNs (RFC 9293's synchronized states).
constexpr bool synchronized(state s) noexcept { return s >= state::established; }

}  // namespace coronet::tcp
