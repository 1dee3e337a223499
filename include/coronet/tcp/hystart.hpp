// HyStart++ (RFC 9406): slow start that watches the RTT rise as a queue
// builds, and then grows a quarter as fast (Conservative Slow Start) for a
// few rounds before it hands over to congestion avoidance, instead of
// doubling the window until a queue overflows. The controller asks it how
// to grow on each slow-start ACK; cwnd and ssthresh stay the controller's.
#pragma once

#include <coronet/runtime/clock.hpp>
#include <coronet/tcp/congestion.hpp>
#include <cstdint>

namespace coronet::tcp {

class hystart_pp {
public:
    static constexpr auto min_rtt_thresh = std::chrono::milliseconds(4);   // MIN_RTT_THRESH
    static constexpr auto max_rtt_thresh = std::chrono::milliseconds(16);  // MAX_RTT_THRESH
    static constexpr int min_rtt_divisor = 8;                              // MIN_RTT_DIVISOR
    static constexpr unsigned n_rtt_sample = 8;                            // N_RTT_SAMPLE
    static constexpr std::uint32_t css_growth_divisor = 4;                 // CSS_GROWTH_DIVISOR
    static constexpr unsigned css_rounds = 5;                              // CSS_ROUNDS

    // What slow start does with this ACK's bytes.
    enum class verdict {
        grow,               // standard slow start: cwnd += bytes acked
        grow_conservative,  // CSS: cwnd += bytes acked / css_growth_divisor
        exit,               // CSS_ROUNDS are over: ssthresh = cwnd, congestion avoidance
    };

    // A fresh slow start: no round, no RTT seen.
    void restart() noexcept { *this = hystart_pp{}; }
    // One ACK during slow start (or CSS): counts rounds and RTT samples, and
    // says whether to grow fully, conservatively, or to stop.
    verdict on_ack(const ack_sample& ack) noexcept;
    bool in_css() const noexcept { return css_baseline_min_rtt_ != infinity; }
    // The round trips completed so far (for tests and statistics).
    std::uint64_t rounds() const noexcept { return rounds_; }

private:
    static constexpr runtime::duration infinity = runtime::duration::max();

    bool round_ended(const ack_sample& ack) noexcept;
    void start_round(std::uint64_t delivered) noexcept;
    bool delay_increased() const noexcept;

    // RFC 9406 counts rounds with sequence numbers (windowEnd = SND.NXT). We
    // count them with the delivered counter as BBR does: a round ends when an
    // ACK delivers data sent after it began, i.e. whose rate sample's
    // prior_delivered has reached the count noted at the round's start. It
    // needs no sequence numbers and is not fooled by resends.
    std::uint64_t round_end_delivered_ = 0;
    std::uint64_t rounds_ = 0;
    runtime::duration last_round_min_rtt_ = infinity;     // lastRoundMinRTT
    runtime::duration current_round_min_rtt_ = infinity;  // currentRoundMinRTT
    unsigned rtt_sample_count_ = 0;                       // rttSampleCount
    runtime::duration css_baseline_min_rtt_ = infinity;   // cssBaselineMinRtt; infinity: not in CSS
    unsigned css_rounds_done_ = 0;
};

}  // namespace coronet::tcp
