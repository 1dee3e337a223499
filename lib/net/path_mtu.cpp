// The path MTU cache: RFC 1191's estimate per destination, with its floor,
// its plateau table for routers that do not name the next hop's MTU, and
// its expiry.
#include <algorithm>
#include <array>
#include <coronet/net/path_mtu.hpp>

namespace coronet::net {

namespace {

// RFC 1191 7: the plateaus, for a "fragmentation needed" without an MTU.
constexpr std::array<std::uint16_t, 11> plateaus{65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};

std::uint16_t plateau_below(std::uint16_t length) {
    for (const auto p : plateaus)
        if (p < length) return p;
    return plateaus.back();
}

}  // namespace

path_mtu_info path_mtu_cache::lookup(address_v4 dst, runtime::time_point now) const {
    if (entries_.empty()) return {.mtu = link_mtu_};
    const auto it = entries_.find(dst.to_uint());
    if (it == entries_.end() || it->second.expires <= now) return {.mtu = link_mtu_};
    return {.mtu = it->second.mtu, .valid_until = it->second.expires, .fragmentable = it->second.fragmentable};
}

std::optional<std::uint16_t> path_mtu_cache::lower(address_v4 dst, std::uint16_t next_hop_mtu,
                                                   std::uint16_t quoted_length, runtime::time_point now) {
    // A router sends the MTU the datagram did not fit: one at least as large
    // as the datagram is not a report about it (RFC 1191 4).
    std::uint16_t mtu = next_hop_mtu == 0 ? plateau_below(quoted_length) : next_hop_mtu;
    if (mtu >= quoted_length) return std::nullopt;
    const bool fragmentable = mtu < cfg_.min_mtu;
    mtu = std::max(mtu, cfg_.min_mtu);
    const path_mtu_info known = lookup(dst, now);
    if (mtu >= known.mtu && !(fragmentable && !known.fragmentable)) return std::nullopt;
    mtu = std::min(mtu, known.mtu);
    if (!entries_.contains(dst.to_uint())) make_room(now);
    entries_[dst.to_uint()] = {.mtu = mtu, .fragmentable = fragmentable, .expires = now + cfg_.expiry};
    ++generation_;
    return mtu;
}

// Expired entries go first; at capacity with none expired, the one that
// expires soonest (the oldest report) makes way.
void path_mtu_cache::make_room(runtime::time_point now) {
    if (entries_.size() < cfg_.capacity) return;
    std::erase_if(entries_, [now](const auto& e) { return e.second.expires <= now; });
    if (entries_.size() < cfg_.capacity || entries_.empty()) return;
    const auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return a.second.expires < b.second.expires;
    });
    entries_.erase(oldest);
}

}  // namespace coronet::net
