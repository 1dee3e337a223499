// RFC 6298 retransmission-timeout maths. Karn's rule is the caller's: it
// samples only segments sent once, or timestamp echoes.
#pragma once

#include <coronet/runtime/clock.hpp>

namespace coronet::tcp {

struct rto_config {
    runtime::duration initial = std::chrono::seconds(1);
    // Linux's floor (RFC 6298 2.4 asks for 1 s; every major stack uses less).
    runtime::duration min = std::chrono::milliseconds(200);
    runtime::duration max = std::chrono::seconds(120);
    runtime::duration granularity = std::chrono::milliseconds(1);
};

class rtt_estimator {
public:
    explicit rtt_estimator(rto_config cfg = {}) : cfg_(cfg) {}

    // RFC 6298 2.2/2.3 (alpha 1/8, beta 1/4, K = 4); resets the back-off.
    void sample(runtime::duration rtt);
    // The base RTO clamped to [min, max], doubled per back-off, at most max.
    runtime::duration rto() const noexcept;
    // RFC 6298 5.5: doubles the RTO (saturating at max).
    void backoff() noexcept {
        if (backoffs_ < 16) ++backoffs_;
    }
    void reset_backoff() noexcept { backoffs_ = 0; }
    unsigned backoffs() const noexcept { return backoffs_; }
    bool has_sample() const noexcept { return has_sample_; }
    runtime::duration srtt() const noexcept { return srtt_; }
    runtime::duration rttvar() const noexcept { return rttvar_; }

private:
    rto_config cfg_;
    bool has_sample_ = false;
    runtime::duration srtt_{}, rttvar_{};
    unsigned backoffs_ = 0;
};

}  // namespace coronet::tcp
