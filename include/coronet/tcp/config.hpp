// Tunables of the TCP layer, with defaults close to Linux's where Linux has one.
#pragma once

#include <coronet/tcp/rtt.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace coronet::tcp {

struct tcp_config {
    std::size_t send_buffer = 256 * 1024;
    std::size_t receive_buffer = 256 * 1024;
    runtime::duration msl = std::chrono::seconds(30);  // TIME_WAIT lasts 2*MSL = 60 s
    unsigned syn_retries = 6;         // Linux tcp_syn_retries: SYN sent 7 times, ~127 s in all
    unsigned synack_retries = 5;      // Linux tcp_synack_retries
    unsigned max_retransmits = 15;    // Linux tcp_retries2: then the connection times out
    rto_config rto;
    runtime::duration delayed_ack = std::chrono::milliseconds(40);
    bool nagle = true;                // on by default; connection::set_no_delay turns it off
    runtime::duration fin_wait_2_timeout = std::chrono::seconds(60);  // orphaned connections only
    std::size_t max_ooo_ranges = 32;  // out-of-order holes remembered per connection
    unsigned challenge_ack_limit = 100;  // per second, whole layer (RFC 5961 sec. 7)
    std::string congestion = "newreno";
    bool timestamps = true;
    bool window_scaling = true;
    std::uint16_t ephemeral_low = 32768, ephemeral_high = 60999;  // Linux ip_local_port_range
};

}  // namespace coronet::tcp
