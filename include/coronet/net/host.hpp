// One IPv4 host on one device: Ethernet demultiplexing, ARP (answers,
// resolution, gratuitous ARP at start), IPv4 input validation and output
// routing (on-link or via the gateway), ICMP echo, ICMP errors handed to
// the transport they quote, and the path MTU per destination (RFC 1191).
// Transport protocols plug in as ipv4_handlers. Every frame that is not
// accepted is counted.
#pragma once

#include <coronet/link/device.hpp>
#include <coronet/net/address_conflict.hpp>
#include <coronet/net/arp_cache.hpp>
#include <coronet/net/path_mtu.hpp>
#include <coronet/runtime/executor.hpp>
#include <coronet/runtime/random.hpp>
#include <coronet/wire/icmp.hpp>
#include <coronet/wire/ipv4.hpp>
#include <functional>
#include <optional>
#include <system_error>

namespace coronet::net {

struct host_config {
    address_v4 address;
    unsigned prefix_len = 24;
    std::optional<address_v4> gateway;
    std::optional<wire::mac_address> mac;  // default: the device's
    std::uint16_t mtu = 0;                 // 0: the device's
    // Let transports hand checksums and segmentation to the device when it
    // can (AF_PACKET with PACKET_VNET_HDR): TCP then sends up to 64 KiB per
    // frame. Off: every frame is MTU-sized and checksummed here.
    bool offload = true;
    // Answer ARP requests for our address and announce it at start. Off on
    // every stack but the first of a fanout group (README "Two loops"): they
    // share the address, and one answer is enough.
    bool arp_responder = true;
    arp_config arp;
    // Probing for the address before using it, and its defence (RFC 5227).
    // Off by default here; coronet::stack probes.
    conflict_config conflict;
    path_mtu_config path_mtu;
};

struct host_counters {
    std::uint64_t rx_frames = 0;
    std::uint64_t rx_bad_ethernet = 0, rx_other_mac = 0, rx_unknown_ethertype = 0;
    std::uint64_t rx_bad_arp = 0, arp_requests_answered = 0, arp_replies_received = 0, arp_conflicts = 0;
    std::uint64_t rx_bad_ipv4 = 0, rx_other_ip = 0, rx_fragments = 0, rx_ttl_zero = 0, rx_unknown_protocol = 0;
    // TCP in a link-layer broadcast frame (RFC 1122 4.2.3.10: no connection
    // has a broadcast end, whatever the IP destination says).
    std::uint64_t rx_broadcast_tcp = 0;
    std::uint64_t rx_bad_icmp = 0, icmp_echo_requests = 0, icmp_echo_replies = 0, icmp_other = 0;
    // ICMP errors handed to the transport they quote; those dropped because
    // the quote is malformed, is not of a datagram we sent, or names a
    // protocol nobody here speaks (RFC 5927 4.1, first checks).
    std::uint64_t icmp_errors = 0, icmp_errors_dropped = 0;
    std::uint64_t tx_packets = 0, tx_no_route = 0, tx_no_buffer = 0, tx_too_big = 0;
    std::uint64_t arp_requests_sent = 0, arp_resolve_failed = 0, arp_queue_drops = 0;
    // Unicast requests re-confirming an entry a transport doubted (host::suspect),
    // and entries dropped because none was answered.
    std::uint64_t arp_probes_sent = 0, arp_probes_failed = 0;
    // RFC 5227: probes for our own address at start, and announcements
    // sent to defend it (arp_conflicts counts every claim by another host).
    std::uint64_t address_probes_sent = 0, address_defences = 0;

    // Frames dropped as malformed or not addressed to us, all causes together.
    std::uint64_t rx_dropped() const noexcept {
        return rx_bad_ethernet + rx_other_mac + rx_unknown_ethertype + rx_bad_arp + rx_bad_ipv4 + rx_other_ip +
               rx_fragments + rx_ttl_zero + rx_unknown_protocol + rx_broadcast_tcp + rx_bad_icmp + icmp_errors_dropped;
    }
};

// An ICMP error about a datagram we sent (RFC 792), for its transport.
struct icmp_error {
    std::uint8_t type = 0, code = 0;
    std::uint16_t next_hop_mtu = 0;  // "fragmentation needed" (RFC 1191): the MTU the datagram missed
    wire::icmp_quote quote;          // what it quotes of our datagram
};

// A transport protocol's entry point for datagrams addressed to us, and
// for ICMP errors about the ones it sent.
class ipv4_handler {
public:
    virtual void on_ipv4(const wire::ipv4_view& ip, const storage::rx_meta& meta) = 0;
    virtual void on_icmp_error(const icmp_error& e) = 0;

protected:
    ~ipv4_handler() = default;
};

class host final : private link::frame_sink {
public:
    // rng keys the IP IDs (the kernel's entropy unless a seeded source is
    // given: the simulator, tests).
    host(runtime::executor& ex, link::device& dev, host_config cfg, std::optional<runtime::random_source> rng = {});
    ~host();
    host(const host&) = delete;
    host& operator=(const host&) = delete;

    // Starts receiving and announces the address with a gratuitous ARP;
    // with host_config::conflict.probes, probes for it first (RFC 5227):
    // address_phase() is probing until the probes went unanswered (then
    // claimed, and announced) or someone answered (conflict: the address is
    // not ours to use). While probing or in conflict the host answers no ARP
    // request for the address.
    void start();
    address_phase address_state() const noexcept { return conflict_.phase(); }
    // The MAC of the last host found claiming our address.
    std::optional<wire::mac_address> address_rival() const noexcept { return conflict_.rival(); }
    // The device moved to a new link (its interface came back): forgets the
    // neighbours, which may have new MACs (frames waiting for them are
    // dropped), takes the device's MAC unless one was configured, and
    // announces the address again.
    void relink();

    // A packet for a transport payload (headroom for IP and Ethernet), or
    // nullopt when the device's pool is exhausted. Asking for more than an
    // MTU (`wanted` bytes) may give a segmentation-offload frame; check tailroom().
    std::optional<storage::packet> allocate(std::size_t wanted = 0);
    // Whether transports may ask for checksum and segmentation offload
    // (packet::offload with checksum_partial, csum_start counted from the
    // transport header, and gso_size): the device supports it and the
    // configuration allows it.
    bool offload() const noexcept { return offload_; }
    // Sends l4 (the transport header and payload at data()) to dst. Errors:
    // network_unreachable (no route), no_buffer_space (ARP queue full),
    // message_size (over the MTU). A frame waiting for ARP is not an error.
    std::error_code send_ipv4(address_v4 dst, std::uint8_t protocol, storage::packet l4);
    // Sends an ICMP echo request carrying payload.
    std::error_code send_echo_request(address_v4 dst, std::uint16_t ident, std::uint16_t seq, wire::bytes payload);

    // A transport doubts the way to dst (a retransmission timed out): the
    // next hop's ARP entry is re-confirmed by unicast probes while it stays
    // in use, and dropped when none is answered (arp_cache::suspect), so a
    // peer that came back with another MAC is found in seconds, not when
    // the entry would have expired.
    void suspect(address_v4 dst);

    void set_handler(std::uint8_t protocol, ipv4_handler* h);
    // Called for each echo reply addressed to us.
    std::function<void(const wire::ipv4_view& ip, const wire::icmp_view& reply)> on_echo_reply;
    // Called when ARP resolution of a next hop failed (its frames were dropped).
    std::function<void(address_v4 next_hop)> on_unreachable;

    address_v4 address() const noexcept { return cfg_.address; }
    // The next hop towards dst: dst itself on the link, else the gateway (none: nullopt).
    std::optional<address_v4> next_hop(address_v4 dst) const noexcept {
        if (on_link(dst)) return dst;
        return cfg_.gateway;
    }
    // When datagrams to dst that waited for ARP last left (the epoch: none
    // did, or no route): what a transport timing a round trip from before
    // it counts from, as the wait was none of the path's.
    runtime::time_point released(address_v4 dst) const {
        const auto hop = next_hop(dst);
        return hop ? arp_.released(*hop) : runtime::time_point{};
    }
    wire::mac_address mac() const noexcept { return mac_; }
    // The interface's MTU (what every path starts from).
    std::uint16_t mtu() const noexcept { return mtu_; }
    // What is known of the path MTU towards dst (the interface's MTU unless
    // a validated ICMP report lowered it lately).
    path_mtu_info path_mtu(address_v4 dst) const { return path_mtu_.lookup(dst, ex_.now()); }
    // A transport validated a "fragmentation needed" about a datagram to
    // dst (RFC 5927): the path MTU goes down to what it names (see
    // path_mtu_cache::lower). Returns the new path MTU, or nullopt when it
    // did not change.
    std::optional<std::uint16_t> lower_path_mtu(address_v4 dst, std::uint16_t next_hop_mtu,
                                                std::uint16_t quoted_length) {
        return path_mtu_.lower(dst, next_hop_mtu, quoted_length, ex_.now());
    }
    // Changes whenever some path MTU goes down (path_mtu_cache::generation).
    std::uint64_t path_mtu_generation() const noexcept { return path_mtu_.generation(); }
    bool on_link(address_v4 ip) const noexcept;
    link::device& device() noexcept { return dev_; }
    runtime::executor& executor() noexcept { return ex_; }
    const host_counters& counters() const noexcept { return counters_; }
    const arp_cache& arp() const noexcept { return arp_; }

private:
    void on_frame(wire::bytes frame, const storage::rx_meta& meta) override;
    void announce();
    void arp_input(wire::bytes payload);
    void ipv4_input(wire::bytes payload, const storage::rx_meta& meta, bool link_broadcast);
    void icmp_input(const wire::ipv4_view& ip);
    void icmp_error_input(const wire::ipv4_view& ip, const wire::icmp_view& icmp);
    void send_arp(std::uint16_t op, const wire::mac_address& dst_mac, const wire::mac_address& target_mac,
                  address_v4 target_ip, std::optional<address_v4> sender_ip = {});
    void send_address_probe();
    void on_address_claim(address_conflict::verdict v);
    void arm_probe_timer();
    static void probe_timer_fired(runtime::timer_node& n);
    void send_frame(storage::packet p, const wire::mac_address& dst, std::uint16_t type);
    void flush(std::vector<storage::packet>& ready, const wire::mac_address& dst);
    void arm_arp_timer();
    static void arp_timer_fired(runtime::timer_node& n);
    // The first of `count` consecutive IP IDs for datagrams to dst.
    std::uint16_t next_ident(address_v4 dst, std::uint8_t protocol, std::uint16_t count);

    runtime::executor& ex_;
    link::device& dev_;
    host_config cfg_;
    wire::mac_address mac_;
    std::uint16_t mtu_;
    bool offload_;
    std::uint32_t netmask_;
    // IP IDs (RFC 7739 5.3): one of these counters per datagram, chosen by
    // a keyed hash of destination and protocol, each from a random start.
    // An observer sees only its own counter move: the host is no idle-scan
    // zombie, and IDs tell nothing of its traffic to others.
    std::array<std::uint8_t, 16> ident_key_;
    std::vector<std::uint16_t> idents_;
    std::uint32_t ident_last_dst_ = 0;  // the last destination's counter, found without hashing again
    std::uint8_t ident_last_protocol_ = 0;
    std::size_t ident_last_ = 0;
    arp_cache arp_;
    path_mtu_cache path_mtu_;
    runtime::timer_node arp_timer_;
    address_conflict conflict_;
    runtime::timer_node probe_timer_;
    ipv4_handler* tcp_ = nullptr;
    host_counters counters_;
    std::vector<storage::packet> ready_;  // scratch for frames released by ARP
};

}  // namespace coronet::net
