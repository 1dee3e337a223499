#include <coronet/tcp/rtt.hpp>

#include <algorithm>

namespace coronet::tcp {

void rtt_estimator::sample(runtime::duration r) {
    if (r < runtime::duration::zero()) r = runtime::duration::zero();
    if (!has_sample_) {
        srtt_ = r;
        rttvar_ = r / 2;
        has_sample_ = true;
    } else {
        const runtime::duration err = srtt_ > r ? srtt_ - r : r - srtt_;
        rttvar_ = (3 * rttvar_ + err) / 4;
        srtt_ = (7 * srtt_ + r) / 8;
    }
    backoffs_ = 0;
}

runtime::duration rtt_estimator::rto() const noexcept {
    runtime::duration base = has_sample_ ? srtt_ + std::max(cfg_.granularity, 4 * rttvar_) : cfg_.initial;
    base = std::clamp(base, cfg_.min, cfg_.max);
    for (unsigned i = 0; i < backoffs_ && base < cfg_.max; ++i) base *= 2;
    return std::min(base, cfg_.max);
}

}  // namespace coronet::tcp
