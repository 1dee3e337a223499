// The user-space stack on one interface: the AF_PACKET device (optionally
// tee'd into a pcapng file), the IPv4 host and the TCP layer above it, on a
// caller's loop. This is what applications create first.
#pragma once

#include <coronet/api/connection.hpp>
#include <coronet/link/af_packet.hpp>
#include <coronet/link/pcapng.hpp>
#include <coronet/net/host.hpp>
#include <coronet/runtime/loop.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace coronet {

namespace detail {
class address_claim;
}

struct interface_config {
    std::string ifname;
    std::string address;                 // "A.B.C.D/N"
    std::optional<std::string> gateway;  // "A.B.C.D"
    std::optional<std::string> mac;      // "aa:bb:cc:dd:ee:ff"; default: the interface's
    std::uint16_t mtu = 0;               // 0: the interface's
    // Permanent ARP entries, as `ip neigh add ... nud permanent`: address
    // "A.B.C.D" and MAC "aa:bb:cc:dd:ee:ff". Frames to them go without a
    // request, and nothing that arrives changes them.
    std::vector<std::pair<std::string, std::string>> neighbors;
    std::string pcap;                     // pcapng file of every frame; empty: none
    link::pcapng_rotation pcap_rotation;  // by size: off unless max_bytes is set
    bool offload = true;                  // checksum and segmentation offload (net::host_config::offload)
    // How frames are received (link::af_packet_options::rx); none: the rings
    // (with several loops, rings per loop).
    std::optional<link::rx_path> rx;
    unsigned rx_ring_slots = 0;  // the large slots' ring's slots; 0: link::af_packet_options' default
    // Before using the address the stack probes for it (RFC 5227 ARP
    // probes, net::conflict_config); an answer means another host has it,
    // and the constructor throws. probes = 0 skips the check (the address
    // is still claimed against other coronet stacks on this machine).
    net::conflict_config conflict{.probes = 3};
    tcp::tcp_config tcp;
    // One of `loops` stacks sharing the interface, address and MAC, each on
    // its own loop and thread (README "Two loops"): each TCP flow goes to one
    // of them, by the same rule whichever the receive path (rings: a socket
    // filter per loop; multishot: a PACKET_FANOUT group). Loop 0 starts; the
    // others are made with fanout_group = loop 0's stack::fanout_group(),
    // each after the one before (the kernel numbers a group's members in
    // joining order; with the rings each loop has a group of its own, and
    // fanout_group is not used).
    // loops 1: the stack has the interface to itself.
    unsigned loop_index = 0, loops = 1;
    std::optional<std::uint16_t> fanout_group;
    // When the interface goes away (deleted, or replaced by another of its
    // name): false, the stack reports it (stack::on_interface_lost) and stops
    // sending and receiving; true, it waits for an interface of the same name
    // to be up again, reopens it and announces its address there (its
    // connections keep their state). One loop only (a fanout group cannot be
    // rejoined in order).
    bool wait_for_interface = false;
};

// An address with its prefix length, parsed from "A.B.C.D/N" (N defaults to 32).
struct ipv4_prefix {
    boost::asio::ip::address_v4 address;
    unsigned length = 32;
};
// Parses "A.B.C.D/N"; throws std::invalid_argument with a readable message.
ipv4_prefix parse_ipv4_prefix(const std::string& text);

class stack {
public:
    // Opens the interface, makes sure the address is free and starts the
    // host (gratuitous ARP). Throws std::system_error / std::invalid_argument
    // on a bad interface or address, network_down when the interface is
    // down (unless wait_for_interface; one without a carrier yet is waited
    // for up to 2 s), address_in_use
    // when another coronet stack on this machine has the address on this
    // interface or another host answers the ARP probes for it (this runs the
    // loop for conflict.probes x probe_interval: 300 ms by default). Warns
    // when the kernel has an address in the same subnet on the interface (it
    // would answer our peers with RSTs).
    stack(runtime::loop& loop, const interface_config& cfg);
    ~stack();
    stack(const stack&) = delete;
    stack& operator=(const stack&) = delete;

    // Called once, from the loop, when the interface is gone and the stack
    // will not wait for it (interface_config::wait_for_interface off), with
    // the cause (no_such_device). The stack then neither sends nor receives;
    // the program should end. Unset: the stack logs it as an error.
    std::function<void(std::error_code)> on_interface_lost;
    // Whether the interface is gone (with wait_for_interface: not back yet).
    bool interface_gone() const noexcept { return raw_->status() == link::link_status::gone; }

    // Passive open on port. Errors: address_in_use.
    result<listener> listen(std::uint16_t port, std::size_t backlog = 128);
    // Active open; see coronet::connect for the errors.
    runtime::task<result<connection>> connect(endpoint remote, std::optional<runtime::duration> timeout = {}) {
        return coronet::connect(*tcp_, remote, timeout);
    }

    runtime::loop& loop() noexcept { return loop_; }
    net::host& host() noexcept { return *host_; }
    tcp::tcp_layer& tcp() noexcept { return *tcp_; }
    link::device& device() noexcept { return *device_; }
    link::pcap_tap* pcap() noexcept { return tap_.get(); }
    // The fanout group the stack's device joined (interface_config::loops > 1).
    std::optional<std::uint16_t> fanout_group() const noexcept { return raw_->fanout_group(); }

private:
    void on_link_status(link::link_status s, std::error_code ec);
    runtime::task<void> reopen_when_back();

    runtime::loop& loop_;
    bool wait_for_interface_ = false;
    static void wait_for_carrier(const link::af_packet_device& dev, const std::string& ifname);
    void probe_address(const std::string& ifname);
    std::unique_ptr<detail::address_claim> claim_;  // one stack per interface and address
    std::unique_ptr<link::af_packet_device> raw_;
    std::unique_ptr<link::pcap_tap> tap_;
    link::device* device_ = nullptr;
    std::unique_ptr<net::host> host_;
    std::unique_ptr<tcp::tcp_layer> tcp_;
};

// Every counter of the stack as one line of JSON (no newline): the device's
// ("dev_rx_frames", ...), the IPv4 host's ("rx_bad_ipv4", ..., "rx_dropped"),
// the TCP layer's ("tcp_bad_flags", ..., "tcp_dropped"), the calling
// thread's coroutine frame allocator ("frames_recycled", ...), the loop's
// ("loop_iterations", ..., "loop_quiet_spins") and, when
// given, one connection's ("conn_challenge_acks", ...). Keys are flat and unique, so a
// script or test can find one by name. Cannot fail.
std::string counters_json(stack& st, const tcp::connection_stats* connection = nullptr);
// One connection's counters alone, as one line of JSON with the same
// "conn_..." keys counters_json gives them. Cannot fail.
std::string connection_counters_json(const tcp::connection_stats& connection);

}  // namespace coronet
