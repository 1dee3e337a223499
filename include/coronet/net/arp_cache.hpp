// The ARP cache (RFC 826): next-hop IPv4 -> MAC, with entry lifetimes,
// request retries and a bounded queue of frames waiting for resolution.
// Sans-I/O: time is passed in, and the caller sends what it is told to.
#pragma once

#include <boost/asio/ip/address_v4.hpp>
#include <coronet/runtime/clock.hpp>
#include <coronet/storage/packet.hpp>
#include <coronet/wire/ethernet.hpp>
#include <cstddef>
#include <optional>
#include <unordered_map>
#include <vector>

namespace coronet::net {

using boost::asio::ip::address_v4;

struct arp_config {
    std::size_t capacity = 1024;                             // entries learned (the permanent come on top)
    runtime::duration reachable = std::chrono::seconds(60);  // lifetime of a learned entry
    runtime::duration retry = std::chrono::seconds(1);       // between requests
    unsigned max_requests = 3;                               // then resolution fails
    std::size_t max_pending = 32;                            // frames queued per unresolved address
    // Frames queued for all unresolved addresses together: a flood of SYNs from
    // spoofed on-link sources must not park the whole transmit pool (512
    // frames) behind ARP requests nobody answers, starving ARP replies.
    std::size_t max_pending_total = 128;
    // Permanent entries (as `ip neigh ... nud permanent`): resolved from the
    // start, never expiring, evicted, re-confirmed or changed by ARP.
    std::vector<std::pair<address_v4, wire::mac_address>> permanent;
};

class arp_cache {
public:
    explicit arp_cache(arp_config cfg = {});

    // The MAC of ip if known and not expired.
    std::optional<wire::mac_address> lookup(address_v4 ip, runtime::time_point now) const;

    enum class queued { send_request, waiting, full };
    // Holds frame until ip resolves. send_request: the caller sends the first
    // ARP request now; full: the frame was dropped (queue or cache full).
    queued enqueue(address_v4 ip, storage::packet frame, runtime::time_point now);

    // Records ip -> mac (create = false only refreshes an existing entry, RFC
    // 826's merge); frames that were waiting for ip are appended to `ready`.
    void learn(address_v4 ip, const wire::mac_address& mac, runtime::time_point now, bool create,
               std::vector<storage::packet>& ready);

    // A transport doubts ip's entry (its retransmission timed out): while
    // the entry stays in use it is re-confirmed by unicast requests to the
    // MAC it holds (RFC 4861 7.3's PROBE, as Linux does for ARP), every
    // `retry`, `max_requests` in all; unanswered, the entry goes and the
    // next frame resolves afresh by broadcast. Returns the MAC to send the
    // first probe to now, or nullopt (no such entry, or probing already).
    std::optional<wire::mac_address> suspect(address_v4 ip, runtime::time_point now);

    // When frames that waited for ip's resolution last left (the epoch: none did).
    runtime::time_point released(address_v4 ip) const;

    struct tick_result {
        std::vector<address_v4> retry;                                // send another request for these
        std::vector<std::pair<address_v4, wire::mac_address>> probe;  // and a unicast probe for these
        std::vector<address_v4> failed;                               // gave up: their frames were dropped
        std::size_t dropped_frames = 0;
        std::size_t probes_failed = 0;  // entries dropped because no probe was answered
    };
    // Retries, failures and expiry due at now.
    void tick(runtime::time_point now, tick_result& out);
    // When tick() next has something to do, or time_point::max().
    runtime::time_point next_deadline() const;

    std::size_t size() const noexcept { return entries_.size(); }
    // Frames waiting for resolution, all addresses together.
    std::size_t pending() const noexcept { return pending_; }
    const arp_config& config() const noexcept { return cfg_; }

private:
    struct entry {
        bool resolved = false;
        bool probing = false;    // resolved, and being re-confirmed (suspect)
        bool permanent = false;  // arp_config::permanent
        wire::mac_address mac{};
        runtime::time_point deadline{};  // expiry when resolved, next retry or probe otherwise
        unsigned requests = 0;           // requests or probes sent
        runtime::time_point released{};  // when waiting frames last left (learn)
        std::vector<storage::packet> pending;
    };
    bool make_room(runtime::time_point now);

    arp_config cfg_;
    std::unordered_map<std::uint32_t, entry> entries_;
    std::size_t pending_ = 0;
};

}  // namespace coronet::net
