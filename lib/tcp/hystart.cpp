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

namespace {
// RttThresh (4.2): a base RTT / 8 within [4 ms, 16 ms].
runtime::duration rtt_thresh(runtime::duration base) noexcept {
    return std::clamp<runtime::duration>(base / hystart_pp::min_rtt_divisor, hystart_pp::min_rtt_thresh,
                                         hystart_pp::max_rtt_thresh);
}
}  // namespace

// 4.2: "At the start of each round during standard slow start and CSS".
void hystart_pp::start_round(std::uint64_t delivered) noexcept {
    round_end_delivered_ = delivered;
    ++rounds_;
    last_round_min_rtt_ = current_round_min_rtt_;
    current_round_min_rtt_ = infinity;
    rtt_sample_count_ = 0;
    first_block_min_rtt_ = block_min_rtt_ = infinity;
    blocks_judged_ = 0;
    round_rose_ = false;
}

// 4.2: currentRoundMinRTT >= lastRoundMinRTT + RttThresh, RttThresh being
// lastRoundMinRTT / 8 within [4 ms, 16 ms].
bool hystart_pp::delay_increased() const noexcept {
    if (last_round_min_rtt_ == infinity) return false;
    return current_round_min_rtt_ >= last_round_min_rtt_ + rtt_thresh(last_round_min_rtt_);
}

// One RTT sample: the round's minimum, and the blocks of the rise within
// the round (the header says why).
void hystart_pp::count_sample(runtime::duration rtt) noexcept {
    current_round_min_rtt_ = std::min(current_round_min_rtt_, rtt);
    ++rtt_sample_count_;
    if (rtt_sample_count_ <= n_rtt_sample) {
        first_block_min_rtt_ = std::min(first_block_min_rtt_, rtt);
        return;
    }
    block_min_rtt_ = std::min(block_min_rtt_, rtt);
    if (rtt_sample_count_ % n_rtt_sample != 0) return;
    ++blocks_judged_;
    if (block_min_rtt_ >= first_block_min_rtt_ + rtt_thresh(first_block_min_rtt_)) round_rose_ = true;
    block_min_rtt_ = infinity;
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
        if (in_css() && css_on_round_rise_ && blocks_judged_ > 0 && !round_rose_ && !delay_increased()) {
            // A whole round of CSS saw no rise, within it or over the last
            // (a queue that no longer drains between rounds): a false alarm.
            css_baseline_min_rtt_ = infinity;
        } else if (in_css() && ++css_rounds_done_ >= css_rounds) {
            return verdict::exit;  // the round CSS began in counts as its first
        }
        start_round(ack.delivered);
        round_start_ = train_last_ = ack.now;
    }
    if (train_too_long(ack, cwnd)) {
        train_exit_ = true;
        return verdict::exit;
    }
    // Not the RTT of an ACK a newer one overtook: on a path that reorders
    // ACKs by a few ms (wan.sh's jitter) those rose by the reordering, not a
    // queue, and ended slow start at about the BDP in four of six transfers
    // (coronet CUBIC sending at 178-223 Mbit/s; kernel CUBIC's median 267).
    if (ack.rtt > runtime::duration::zero() && !ack.overtaken) count_sample(ack.rtt);
    // Only a round with N_RTT_SAMPLE samples is judged: a few ACKs' jitter
    // must not end slow start.
    if (rtt_sample_count_ >= n_rtt_sample) {
        const bool rose_in_round = ack.paced && round_rose_;
        if (!in_css() && (rose_in_round || delay_increased())) {
            css_baseline_min_rtt_ = current_round_min_rtt_;
            css_rounds_done_ = 0;
            css_on_round_rise_ = rose_in_round;
        } else if (in_css() && !css_on_round_rise_ && current_round_min_rtt_ < css_baseline_min_rtt_) {
            // The rise was a false alarm (jitter): back to standard slow start.
            css_baseline_min_rtt_ = infinity;
        }
    }
    return in_css() ? verdict::grow_conservative : verdict::grow;
}

}  // namespace coronet::tcp
