// rtt_estimator: RFC 6298 section 2 in integer nanoseconds; the clock's
// resolution is far finer than G, so no rounding rule is needed.
#include <algorithm>
#include <coronet/tcp/rtt.hpp>
#include <limits>

namespace coronet::tcp {

using runtime::duration;

const rto_config rtt_estimator::defaults{};

void rtt_estimator::sample(duration r) {
    r = std::max(r, duration::zero());
    if (!has_sample_) {
        // RFC 6298 2.2: the first measurement.
        srtt_ = r;
        rttvar_ = r / 2;
        has_sample_ = true;
    } else {
        // RFC 6298 2.3: RTTVAR first, from the SRTT before this sample.
        const duration err = srtt_ > r ? srtt_ - r : r - srtt_;
        rttvar_ = (3 * rttvar_ + err) / 4;
        srtt_ = (7 * srtt_ + r) / 8;
    }
    backoffs_ = 0;
}

duration rtt_estimator::rto() const noexcept {
    const rto_config& cfg = *cfg_;
    duration base = cfg.initial;
    if (has_sample_) base = srtt_ + std::max(cfg.granularity, 4 * rttvar_);
    base = std::clamp(base, cfg.min, cfg.max);
    // Doubling stops at max, so it neither overflows nor loops for long.
    for (unsigned i = 0; i < backoffs_ && base > duration::zero() && base < cfg.max; ++i) base *= 2;
    return std::min(base, cfg.max);
}

void rtt_estimator::backoff() noexcept {
    if (backoffs_ < std::numeric_limits<unsigned>::max()) ++backoffs_;
}

}  // namespace coronet::tcp
