#include <coronet/link/impairment.hpp>

namespace coronet::link {

impairment_model::verdict impairment_model::decide(std::size_t frame_len, runtime::time_point now) {
    verdict v;
    if (chance(p_.loss)) {
        v.drop = true;
        ++counters_.dropped;
        return v;
    }
    ++counters_.passed;
    v.delay = p_.delay;
    if (p_.jitter > runtime::duration::zero()) {
        std::uniform_int_distribution<runtime::duration::rep> j(0, p_.jitter.count());
        v.delay += runtime::duration(j(rng_));
    }
    if (p_.rate_mbit > 0) {
        // Serialise frames: each waits for the ones before it to leave.
        const auto tx_time = std::chrono::duration_cast<runtime::duration>(
            std::chrono::duration<double, std::micro>(static_cast<double>(frame_len) * 8 / p_.rate_mbit));
        if (link_free_ < now) link_free_ = now;
        link_free_ += tx_time;
        v.delay += link_free_ - now;
    }
    if (chance(p_.reorder)) {
        v.delay += p_.reorder_gap;
        ++counters_.reordered;
    }
    if (chance(p_.duplicate)) {
        v.duplicate = true;
        ++counters_.duplicated;
    }
    if (frame_len > 14 && chance(p_.corrupt)) {
        std::uniform_int_distribution<std::size_t> bit(14 * 8, frame_len * 8 - 1);
        v.corrupt_bit = bit(rng_);
        ++counters_.corrupted;
    }
    return v;
}

}  // namespace coronet::link
