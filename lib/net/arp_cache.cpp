#include <algorithm>
#include <coronet/net/arp_cache.hpp>
#include <utility>

namespace coronet::net {

arp_cache::arp_cache(arp_config cfg) : cfg_(std::move(cfg)) {
    for (const auto& [ip, mac] : cfg_.permanent) {
        entry& e = entries_[ip.to_uint()];
        e.resolved = e.permanent = true;
        e.mac = mac;
        e.deadline = runtime::time_point::max();
    }
}

std::optional<wire::mac_address> arp_cache::lookup(address_v4 ip, runtime::time_point now) const {
    auto it = entries_.find(ip.to_uint());
    if (it == entries_.end() || !it->second.resolved || it->second.deadline <= now) return std::nullopt;
    return it->second.mac;
}

bool arp_cache::make_room(runtime::time_point now) {
    if (entries_.size() < cfg_.capacity + cfg_.permanent.size()) return true;
    // Evict an expired entry, else the resolved one closest to expiry;
    // entries still resolving keep their place.
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (!it->second.resolved || it->second.permanent) continue;
        if (it->second.deadline <= now) {
            victim = it;
            break;
        }
        if (victim == entries_.end() || it->second.deadline < victim->second.deadline) victim = it;
    }
    if (victim == entries_.end()) return false;
    entries_.erase(victim);
    return true;
}

arp_cache::queued arp_cache::enqueue(address_v4 ip, storage::packet frame, runtime::time_point now) {
    auto it = entries_.find(ip.to_uint());
    if (it != entries_.end() && it->second.resolved && it->second.deadline <= now) {
        entries_.erase(it);  // expired: resolve afresh
        it = entries_.end();
    }
    if (pending_ >= cfg_.max_pending_total) return queued::full;
    if (it == entries_.end()) {
        if (!make_room(now)) return queued::full;
        ++pending_;
        entry e;
        e.deadline = now + cfg_.retry;
        e.requests = 1;
        e.pending.push_back(std::move(frame));
        entries_.emplace(ip.to_uint(), std::move(e));
        return queued::send_request;
    }
    entry& e = it->second;
    if (e.pending.size() >= cfg_.max_pending) return queued::full;
    ++pending_;
    e.pending.push_back(std::move(frame));
    return queued::waiting;
}

void arp_cache::learn(address_v4 ip, const wire::mac_address& mac, runtime::time_point now, bool create,
                      std::vector<storage::packet>& ready) {
    auto it = entries_.find(ip.to_uint());
    if (it == entries_.end()) {
        if (!create || !make_room(now)) return;
        it = entries_.emplace(ip.to_uint(), entry{}).first;
    }
    entry& e = it->second;
    if (e.permanent) return;  // what the configuration says stands (nothing waits for it)
    e.resolved = true;
    e.probing = false;
    e.mac = mac;
    e.deadline = now + cfg_.reachable;
    e.requests = 0;
    pending_ -= e.pending.size();
    if (!e.pending.empty()) e.released = now;
    for (auto& p : e.pending) ready.push_back(std::move(p));
    e.pending.clear();
}

runtime::time_point arp_cache::released(address_v4 ip) const {
    const auto it = entries_.find(ip.to_uint());
    return it == entries_.end() ? runtime::time_point{} : it->second.released;
}

std::optional<wire::mac_address> arp_cache::suspect(address_v4 ip, runtime::time_point now) {
    auto it = entries_.find(ip.to_uint());
    if (it == entries_.end() || !it->second.resolved || it->second.permanent || it->second.probing ||
        it->second.deadline <= now)
        return std::nullopt;
    entry& e = it->second;
    e.probing = true;
    e.requests = 1;
    e.deadline = now + cfg_.retry;
    return e.mac;
}

void arp_cache::tick(runtime::time_point now, tick_result& out) {
    for (auto it = entries_.begin(); it != entries_.end();) {
        entry& e = it->second;
        if (e.deadline > now) {
            ++it;
            continue;
        }
        if (e.probing && e.requests < cfg_.max_requests) {
            ++e.requests;
            e.deadline = now + cfg_.retry;
            out.probe.emplace_back(address_v4(it->first), e.mac);
            ++it;
        } else if (e.resolved) {
            out.probes_failed += e.probing ? 1 : 0;
            it = entries_.erase(it);
        } else if (e.requests >= cfg_.max_requests) {
            out.failed.push_back(address_v4(it->first));
            out.dropped_frames += e.pending.size();
            pending_ -= e.pending.size();
            it = entries_.erase(it);
        } else {
            ++e.requests;
            e.deadline = now + cfg_.retry;
            out.retry.push_back(address_v4(it->first));
            ++it;
        }
    }
}

runtime::time_point arp_cache::next_deadline() const {
    runtime::time_point next = runtime::time_point::max();
    for (const auto& [ip, e] : entries_) next = std::min(next, e.deadline);
    return next;
}

}  // namespace coronet::net
