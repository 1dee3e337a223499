// Path MTU discovery's memory (RFC 1191): what ICMP "fragmentation needed"
// messages taught about each destination, for a while. Sans-I/O like the
// ARP cache: time is passed in. The transport validates a message before
// it gets here (RFC 5927); this only keeps the figures sane.
#pragma once

#include <boost/asio/ip/address_v4.hpp>
#include <coronet/runtime/clock.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

namespace coronet::net {

using boost::asio::ip::address_v4;

struct path_mtu_config {
    // RFC 1191 5 suggests 10 minutes before trying the interface's MTU
    // again (Linux's ip_rt_mtu_expires is the same).
    runtime::duration expiry = std::chrono::minutes(10);
    // The floor (Linux's min_pmtu). A router claiming less is answered by
    // sending datagrams this size without DF, so that it may fragment them.
    std::uint16_t min_mtu = 552;
    std::size_t capacity = 4096;  // destinations remembered
};

// What is known of the path to one destination.
struct path_mtu_info {
    std::uint16_t mtu = 0;                                         // the interface's when nothing is known
    runtime::time_point valid_until = runtime::time_point::max();  // when to look again
    bool fragmentable = false;                                     // send without DF (the path is below the floor)
};

class path_mtu_cache {
public:
    path_mtu_cache(std::uint16_t interface_mtu, path_mtu_config cfg = {}) : link_mtu_(interface_mtu), cfg_(cfg) {}

    path_mtu_info lookup(address_v4 dst, runtime::time_point now) const;
    // A validated "fragmentation needed" for a datagram of quoted_length
    // bytes to dst, naming next_hop_mtu (0 from a pre-RFC 1191 router: the
    // next plateau below quoted_length is taken). Returns the new path MTU
    // when it went down; nullopt when the report is no news (not below
    // what is known) or impossible (not below the datagram it quotes).
    std::optional<std::uint16_t> lower(address_v4 dst, std::uint16_t next_hop_mtu, std::uint16_t quoted_length,
                                       runtime::time_point now);
    // Changes whenever some path MTU goes down: connections compare it to
    // the value they last saw (and look again at valid_until on their own).
    std::uint64_t generation() const noexcept { return generation_; }
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }

private:
    struct entry {
        std::uint16_t mtu;
        bool fragmentable;
        runtime::time_point expires;
    };
    void make_room(runtime::time_point now);

    std::uint16_t link_mtu_;
    path_mtu_config cfg_;
    std::unordered_map<std::uint32_t, entry> entries_;
    std::uint64_t generation_ = 0;
};

}  // namespace coronet::net
