// HyStart++ (RFC 9406 4.2): per round, the smallest RTT of the round
// against the last round's; a rise past RttThresh starts Conservative Slow
// Start, a fall below the RTT that started it resumes slow start, and
// CSS_ROUNDS rounds of CSS end slow start.
#include <algorithm>
#include <coronet/tcp/hystart.hpp>

namespace coronet::tcp {

// The ACK delivered data sent after the round began (see round_end_delivered_).
bool hystart_pp::round_ended(const ack_sample& ack) noexcept {
    return ack.rate.delivered > 0 && ack.rate.prior_delivered >= round_end_delivered_;
}

// 4.2: "At the start of each round during standard slow start and CSS".
void hystart_pp::start_round(std::uint64_t delivered) noexcept {
    round_end_delivered_ = delivered;
    ++rounds_;
    last_round_min_rtt_ = current_round_min_rtt_;
    current_round_min_rtt_ = infinity;
    rtt_sample_count_ = 0;
}

// 4.2: currentRoundMinRTT >= lastRoundMinRTT + RttThresh, RttThresh being
// lastRoundMinRTT / 8 within [4 ms, 16 ms].
bool hystart_pp::delay_increased() const noexcept {
    if (last_round_min_rtt_ == infinity) return false;
    const runtime::duration thresh =
        std::clamp<runtime::duration>(last_round_min_rtt_ / min_rtt_divisor, min_rtt_thresh, max_rtt_thresh);
    return current_round_min_rtt_ >= last_round_min_rtt_ + thresh;
}

hystart_pp::verdict hystart_pp::on_ack(const ack_sample& ack) noexcept {
    if (round_ended(ack)) {
        // The round CSS began in counts as its first.
        if (in_css() && ++css_rounds_done_ >= css_rounds) return verdict::exit;
        start_round(ack.delivered);
    }
    if (ack.rtt > runtime::duration::zero()) {
        current_round_min_rtt_ = std::min(current_round_min_rtt_, ack.rtt);
        ++rtt_sample_count_;
    }
    // Only a round with N_RTT_SAMPLE samples is judged: a few ACKs' jitter
    // must not end slow start.
    if (rtt_sample_count_ >= n_rtt_sample) {
        if (!in_css() && delay_increased()) {
            css_baseline_min_rtt_ = current_round_min_rtt_;
            css_rounds_done_ = 0;
        } else if (in_css() && current_round_min_rtt_ < css_baseline_min_rtt_) {
            // The rise was a false alarm (jitter): back to standard slow start.
            css_baseline_min_rtt_ = infinity;
        }
    }
    return in_css() ? verdict::grow_conservative : verdict::grow;
}

}  // namespace coronet::tcp
