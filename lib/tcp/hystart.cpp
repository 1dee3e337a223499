// HyStart++ (RFC 9406 4.2): per round, the smallest RTT of the round
// against the last round's; a rise past RttThresh starts Conservative Slow
// Start, a fall below the RTT that started it resumes slow start, and
// CSS_ROUNDS rounds of CSS end slow start. And Linux's ACK train (the
// header says why).
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

// The round's ACKs, each within train_ack_gap of the one before, now span
// more than the smallest RTT plus the time four frames take at slow start's
// pacing rate (twice the window per SRTT, as Linux computes it paced or
// not), halved when unpaced.
bool hystart_pp::train_too_long(const ack_sample& ack, std::uint32_t cwnd) noexcept {
    if (ack.mss == 0 || cwnd < train_low_window_segments * ack.mss) return false;
    if (ack.min_rtt <= runtime::duration::zero() || ack.now - train_last_ > train_ack_gap) return false;
    train_last_ = ack.now;
    runtime::duration ack_delay = train_max_ack_delay;
    if (ack.srtt > runtime::duration::zero())
        ack_delay = std::min<runtime::duration>(ack_delay, ack.srtt * (4 * train_frame_bytes) / (2 * cwnd));
    runtime::duration threshold = ack.min_rtt + ack_delay;
    if (!ack.paced) threshold /= 2;
    return ack.now - round_start_ > threshold;
}

hystart_pp::verdict hystart_pp::on_ack(const ack_sample& ack, std::uint32_t cwnd) noexcept {
    if (round_ended(ack)) {
        // The round CSS began in counts as its first.
        if (in_css() && ++css_rounds_done_ >= css_rounds) return verdict::exit;
        start_round(ack.delivered);
        round_start_ = train_last_ = ack.now;
    }
    if (train_too_long(ack, cwnd)) {
        train_exit_ = true;
        return verdict::exit;
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
