#include <algorithm>
#include <coronet/link/impairment.hpp>

namespace coronet::link {

namespace {

// How long len bytes take to serialise at rate_mbit.
runtime::duration serialisation_time(std::size_t len, double rate_mbit) {
    return std::chrono::duration_cast<runtime::duration>(
        std::chrono::duration<double, std::micro>(static_cast<double>(len) * 8 / rate_mbit));
}

}  // namespace

std::optional<runtime::time_point> bottleneck::admit(std::size_t len, runtime::time_point now, const impairment& p) {
    if (p.rate_mbit <= 0) return now;
    drain(now);
    const bool full_packets = p.queue_packets > 0 && count_ + 1 > p.queue_packets;
    const bool full_bytes = p.queue_bytes > 0 && bytes_ + len > p.queue_bytes;
    if (full_packets || full_bytes) return std::nullopt;  // tail drop
    // Frames leave one after another: each starts when the one before it is out.
    if (link_free_ < now) link_free_ = now;
    link_free_ += serialisation_time(len, p.rate_mbit);
    push({link_free_, len});
    return link_free_;
}

bool policer::admit(std::size_t len, runtime::time_point now, const impairment& p) {
    if (p.police_mbit <= 0) return true;
    const auto depth = static_cast<double>(p.police_burst);
    if (tokens_ < 0) {
        tokens_ = depth;
    } else {
        const double earned = std::chrono::duration<double>(now - last_).count() * p.police_mbit * 1e6 / 8;
        tokens_ = std::min(depth, tokens_ + earned);
    }
    last_ = now;
    if (tokens_ < static_cast<double>(len)) return false;
    tokens_ -= static_cast<double>(len);
    return true;
}

void bottleneck::drain(runtime::time_point now) {
    while (count_ > 0 && ring_[head_].departs <= now) {
        bytes_ -= ring_[head_].len;
        head_ = (head_ + 1) % ring_.size();
        --count_;
    }
}

void bottleneck::push(in_queue f) {
    if (count_ == ring_.size()) {
        // Full ring: unroll it oldest-first into one twice the size.
        std::vector<in_queue> bigger(std::max<std::size_t>(64, ring_.size() * 2));
        for (std::size_t i = 0; i < count_; ++i) bigger[i] = ring_[(head_ + i) % ring_.size()];
        ring_ = std::move(bigger);
        head_ = 0;
    }
    ring_[(head_ + count_) % ring_.size()] = f;
    ++count_;
    bytes_ += f.len;
}

runtime::duration impairment_model::draw_jitter() {
    if (p_.jitter <= runtime::duration::zero()) return {};
    std::uniform_int_distribution<runtime::duration::rep> j(0, p_.jitter.count());
    return runtime::duration(j(rng_));
}

std::optional<std::size_t> impairment_model::draw_corrupt_bit(std::size_t frame_len) {
    if (frame_len <= 14 || !chance(p_.corrupt)) return std::nullopt;
    std::uniform_int_distribution<std::size_t> bit(14 * 8, frame_len * 8 - 1);
    return bit(rng_);
}

impairment_model::verdict impairment_model::decide(std::size_t frame_len, runtime::time_point now) {
    verdict v;
    if (chance(p_.loss)) {
        v.drop = true;
        ++counters_.dropped;
        return v;
    }
    // Every draw is made for every frame that is not lost, in a fixed order,
    // so a queue drop does not shift the decisions of the frames after it.
    const runtime::duration propagation = p_.delay + draw_jitter();
    const bool reordered = chance(p_.reorder);
    const bool duplicate = chance(p_.duplicate);
    const auto corrupt_bit = draw_corrupt_bit(frame_len);
    // Past the bottleneck, the propagation delay, then the hold of a
    // reordered frame.
    const runtime::duration after_bottleneck = propagation + (reordered ? p_.reorder_gap : runtime::duration{});

    if (!policer_.admit(frame_len, now, p_)) {
        v.police_drop = true;
        ++counters_.police_drops;
        return v;
    }
    const auto out = bottleneck_.admit(frame_len, now, p_);
    if (!out) {
        v.queue_drop = true;
        ++counters_.queue_drops;
        return v;
    }
    ++counters_.passed;
    v.delay = (*out - now) + after_bottleneck;
    v.reordered = reordered;
    if (reordered) ++counters_.reordered;
    v.corrupt_bit = corrupt_bit;
    if (corrupt_bit) ++counters_.corrupted;
    if (duplicate) {
        // The copy is a second frame on the wire: it queues right behind.
        v.duplicate = true;
        ++counters_.duplicated;
        if (!policer_.admit(frame_len, now, p_)) {
            v.duplicate_police_drop = true;
            ++counters_.police_drops;
        } else if (const auto copy_out = bottleneck_.admit(frame_len, now, p_)) {
            v.duplicate_delay = (*copy_out - now) + after_bottleneck;
        } else {
            ++counters_.queue_drops;
        }
    }
    return v;
}

}  // namespace coronet::link
