#include <coronet/net/address_conflict.hpp>
#include <coronet/wire/arp.hpp>

namespace coronet::net {

const char* to_string(address_phase p) noexcept {
    switch (p) {
        case address_phase::probing:
            return "probing";
        case address_phase::claimed:
            return "claimed";
        case address_phase::conflict:
            return "conflict";
    }
    return "?";
}

bool address_conflict::start(runtime::time_point now) {
    probes_sent_ = 0;
    rival_.reset();
    if (cfg_.probes == 0) {
        phase_ = address_phase::claimed;
        next_ = runtime::time_point::max();
        return false;
    }
    phase_ = address_phase::probing;
    probes_sent_ = 1;
    next_ = now + cfg_.probe_interval;
    return true;
}

address_conflict::action address_conflict::tick(runtime::time_point now) {
    if (phase_ != address_phase::probing || now < next_) return action::none;
    next_ = now + cfg_.probe_interval;
    if (probes_sent_ < cfg_.probes) {
        ++probes_sent_;
        return action::send_probe;
    }
    phase_ = address_phase::claimed;
    next_ = runtime::time_point::max();
    return action::announce;
}

address_conflict::verdict address_conflict::on_arp(const wire::arp_view& arp, const wire::mac_address& own_mac,
                                                   runtime::time_point now) {
    const bool claims_it = arp.sender_ip() == address_;
    switch (phase_) {
        case address_phase::probing: {
            // RFC 5227 2.1.1: any ARP packet from the address, or another
            // host's probe for it.
            const bool rival_probe =
                arp.sender_ip().is_unspecified() && arp.target_ip() == address_ && arp.sender_mac() != own_mac;
            if (!claims_it && !rival_probe) return verdict::none;
            rival_ = arp.sender_mac();
            phase_ = address_phase::conflict;
            next_ = runtime::time_point::max();
            return verdict::conflict;
        }
        case address_phase::claimed:
            if (!claims_it || arp.sender_mac() == own_mac) return verdict::none;
            rival_ = arp.sender_mac();
            // RFC 5227 2.4 (c): one announcement per DEFEND_INTERVAL at most.
            if (last_defence_ && now - *last_defence_ < cfg_.defend_interval) return verdict::conflict;
            last_defence_ = now;
            return verdict::defend;
        case address_phase::conflict:
            return verdict::none;
    }
    return verdict::none;
}

}  // namespace coronet::net
