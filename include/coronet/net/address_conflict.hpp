// IPv4 address conflict detection for the host's one address (RFC 5227):
// ARP probes before the address is used, then its defence while it is.
// Sans-I/O like the ARP cache: the host passes in the ARP packets it
// receives and the time, and sends what it is told to.
#pragma once

#include <boost/asio/ip/address_v4.hpp>
#include <coronet/runtime/clock.hpp>
#include <coronet/wire/ethernet.hpp>
#include <optional>

namespace coronet::wire {
class arp_view;
}

namespace coronet::net {

using boost::asio::ip::address_v4;

struct conflict_config {
    // ARP probes sent before the address is used (RFC 5227's PROBE_NUM is
    // 3); 0: the address is used at once, unchecked.
    unsigned probes = 0;
    // Between probes, and after the last one before the address is taken.
    // RFC 5227 waits 1-2 s between probes and 2 s after them, for links that
    // are slow to answer and for many hosts booting at once; on the links a
    // user-space stack runs on, an answer takes well under a millisecond.
    runtime::duration probe_interval = std::chrono::milliseconds(100);
    // At most one defending announcement this often (RFC 5227 DEFEND_INTERVAL).
    runtime::duration defend_interval = std::chrono::seconds(10);
};

enum class address_phase { probing, claimed, conflict };
const char* to_string(address_phase p) noexcept;

class address_conflict {
public:
    address_conflict(address_v4 address, conflict_config cfg) : address_(address), cfg_(cfg) {}

    // Begins probing (claimed at once without probes). Returns whether the
    // caller sends the first probe now.
    bool start(runtime::time_point now);
    address_phase phase() const noexcept { return phase_; }
    // When tick() has something to do; time_point::max() when nothing.
    runtime::time_point next_deadline() const noexcept { return next_; }

    enum class action { none, send_probe, announce };
    // The deadline passed: send the next probe, or, after the last one's
    // wait, the address is claimed and the caller announces it.
    action tick(runtime::time_point now);

    enum class verdict { none, conflict, defend };
    // A received ARP packet (not one we sent). While probing, one that says
    // someone else has or wants the address is a conflict (RFC 5227 2.1.1):
    // the address is not used. Once claimed, another host claiming it is
    // defended (2.4 (c): a configured address is not given up): `defend`
    // asks for one announcement, at most one per defend_interval; `conflict`
    // is a claim seen while a recent defence stands.
    verdict on_arp(const wire::arp_view& arp, const wire::mac_address& own_mac, runtime::time_point now);
    // The MAC of the last host found claiming the address.
    std::optional<wire::mac_address> rival() const noexcept { return rival_; }

private:
    address_v4 address_;
    conflict_config cfg_;
    address_phase phase_ = address_phase::claimed;
    unsigned probes_sent_ = 0;
    runtime::time_point next_ = runtime::time_point::max();
    std::optional<runtime::time_point> last_defence_;
    std::optional<wire::mac_address> rival_;
};

}  // namespace coronet::net
