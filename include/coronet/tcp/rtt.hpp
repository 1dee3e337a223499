// RFC 6298 retransmission-timeout maths: smoothed RTT, its variation, and the
// exponential back-off. Karn's rule is the caller's: it samples only segments
// sent once, or timestamp echoes.
#pragma once

#include <chrono>
#include <coronet/runtime/clock.hpp>

namespace coronet::tcp {

struct rto_config {
    runtime::duration initial = std::chrono::seconds(1);  // RFC 6298 2.1
    // The floor. RFC 6298 2.4 asks for 1 s; we follow Linux (TCP_RTO_MIN,
    // 200 ms), as every major stack uses far less than 1 s.
    runtime::duration min = std::chrono::milliseconds(200);
    runtime::duration max = std::chrono::seconds(120);             // Linux's TCP_RTO_MAX (RFC 6298 2.5 allows one)
    runtime::duration granularity = std::chrono::milliseconds(1);  // G, the clock granularity
};

class rtt_estimator {
public:
    // No sample yet: rto() is cfg.initial. The configuration is held by
    // reference and must outlive the estimator's use (a connection's is its
    // TCP layer's tcp_config::rto: one copy for a million connections).
    explicit rtt_estimator(const rto_config& cfg = defaults) noexcept : cfg_(&cfg) {}
    explicit rtt_estimator(rto_config&&) = delete;  // a temporary would be gone by the first rto()

    // Takes one RTT measurement R (RFC 6298 2.2/2.3: alpha 1/8, beta 1/4,
    // K = 4); negative values count as 0. Resets the back-off.
    void sample(runtime::duration rtt);
    // SRTT + max(G, 4 * RTTVAR) (cfg.initial before any sample), clamped to
    // [min, max], then doubled once per back-off, at most max.
    runtime::duration rto() const noexcept;
    // RFC 6298 5.5: doubles the RTO for the next retransmission (saturates at max).
    void backoff() noexcept;
    // Undoes every back-off (RFC 6298 5.7 leaves the rest to the next sample).
    void reset_backoff() noexcept { backoffs_ = 0; }
    // Back-offs since the last sample or reset: consecutive timeouts.
    unsigned backoffs() const noexcept { return backoffs_; }

    bool has_sample() const noexcept { return has_sample_; }
    // SRTT; zero before the first sample.
    runtime::duration srtt() const noexcept { return srtt_; }
    // RTTVAR; zero before the first sample.
    runtime::duration rttvar() const noexcept { return rttvar_; }
    const rto_config& config() const noexcept { return *cfg_; }
    // The configuration of an estimator made without one.
    static const rto_config defaults;

private:
    const rto_config* cfg_;
    runtime::duration srtt_{};
    runtime::duration rttvar_{};
    unsigned backoffs_ = 0;
    bool has_sample_ = false;
};

}  // namespace coronet::tcp
