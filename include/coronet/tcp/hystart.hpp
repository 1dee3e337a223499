// HyStart++ (RFC 9406): slow start that watches the RTT rise as a queue
// builds, and then grows a quarter as fast (Conservative Slow Start) for a
// few rounds before it hands over to congestion avoidance, instead of
// doubling the window until a queue overflows. The controller asks it how
// to grow on each slow-start ACK; cwnd and ssthresh stay the controller's.
//
// Beside it, the ACK train of the original HyStart, which Linux's CUBIC
// runs and RFC 9406 leaves out: when one round's ACKs, each within 2 ms of
// the one before, span more than (the smallest RTT + the time four 64 KiB
// frames take at slow start's rate, at most 1 ms) / 2 (not halved when
// paced, since pacing spreads them), the window has passed the path's
// bandwidth-delay product and slow start ends at once. The delay test
// cannot see that below RFC 9406's 4 ms threshold: on a path of a tenth of
// a millisecond (wan.sh's clean cell) HyStart++ alone let the window reach
// 2.7 MB, 18 ms of queue in the relay, where Linux's CUBIC left slow start
// at ~0.2 MB. Two differences from Linux: an ACK's time is its loop
// turn's (one clock read per turn), so a long turn stretches the train;
// and "paced" is the sender's state at each ACK (on a LAN pacing starts
// only below a LAN's rate), where Linux's is fixed per socket.
//
// And for a paced sender, a rise within a round. Paced at twice cwnd/SRTT,
// slow start sends a round's data in the first half of the round trip and
// nothing in the second, so a queue it builds drains before the next round
// begins: every round's smallest RTT is its first ACKs', the path's own,
// and RFC 9406's round-against-round test never fires (through a 100
// Mbit/s, 20 ms path with a one-BDP queue, CUBIC doubled its window to 1.4
// times what the path and queue hold, and resent 181-621 segments per 8
// MiB against kernel CUBIC's 16-17). So each round is cut into blocks of
// N_RTT_SAMPLE samples, and the smallest RTT of a later block against the
// first block's is a rise as well. A block's minimum, not a sample, makes
// the test as blind to jitter as the RFC's: single samples took 0-3 ms of
// jitter each way for a queue. CSS begun on such a rise ends as a false
// alarm after a round in which later blocks were judged and none rose, and
// whose minimum did not rise over the last round's either (the RFC's test,
// a round minimum below the baseline, would end it at once: the next round
// starts with the queue drained again).
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
    // The ACK train (Linux's hystart_low_window, hystart_ack_delta_us and
    // the 64 KiB frame of hystart_ack_delay).
    static constexpr std::uint32_t train_low_window_segments = 16;
    static constexpr auto train_ack_gap = std::chrono::milliseconds(2);
    static constexpr auto train_max_ack_delay = std::chrono::milliseconds(1);
    static constexpr std::uint64_t train_frame_bytes = 64 * 1024;

    // What slow start does with this ACK's bytes.
    enum class verdict {
        grow,               // standard slow start: cwnd += bytes acked
        grow_conservative,  // CSS: cwnd += bytes acked / css_growth_divisor
        exit,               // CSS_ROUNDS are over, or an ACK train: ssthresh = cwnd, congestion avoidance
    };

    // A fresh slow start: no round, no RTT seen.
    void restart() noexcept { *this = hystart_pp{}; }
    // One ACK during slow start (or CSS) with the window cwnd: counts rounds
    // and RTT samples, times the round's ACK train, and says whether to grow
    // fully, conservatively, or to stop.
    verdict on_ack(const ack_sample& ack, std::uint32_t cwnd) noexcept;
    bool in_css() const noexcept { return css_baseline_min_rtt_ != infinity; }
    // Whether an ACK train ended slow start (for tests and statistics).
    bool train_exit() const noexcept { return train_exit_; }
    // The round trips completed so far (for tests and statistics).
    std::uint64_t rounds() const noexcept { return rounds_; }

private:
    static constexpr runtime::duration infinity = runtime::duration::max();

    bool round_ended(const ack_sample& ack) noexcept;
    void start_round(std::uint64_t delivered) noexcept;
    bool delay_increased() const noexcept;
    void count_sample(runtime::duration rtt) noexcept;
    bool train_too_long(const ack_sample& ack, std::uint32_t cwnd) noexcept;

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
    // The paced sender's rise within a round: the smallest RTT of the
    // round's first N_RTT_SAMPLE samples, that of the block being filled,
    // how many later blocks were judged, and whether one rose.
    runtime::duration first_block_min_rtt_ = infinity;
    runtime::duration block_min_rtt_ = infinity;
    unsigned blocks_judged_ = 0;
    bool round_rose_ = false;
    bool css_on_round_rise_ = false;     // CSS began on a rise within a round
    runtime::time_point round_start_{};  // when this round's first ACK came
    runtime::time_point train_last_{};   // the train's latest ACK
    bool train_exit_ = false;
};

}  // namespace coronet::tcp
