// Loss recovery's arithmetic, apart from the TCB: RACK's state and
// reordering window (RFC 8985 6) and Proportional Rate Reduction (RFC 6937),
// which paces the window down to ssthresh during recovery.
#pragma once

#include <algorithm>
#include <coronet/runtime/clock.hpp>
#include <coronet/tcp/scoreboard.hpp>
#include <cstdint>
#include <optional>

namespace coronet::tcp {

// RFC 8985 RACK: the most recently sent segment known delivered, the RTT
// it took, and the reordering window.
class rack_state {
public:
    // Step 2: the most recently sent run among those one ACK delivered. A
    // resent run delivered sooner than min_rtt after its resend was the
    // original's delivery: no sample.
    void on_delivered(const scoreboard::run& r, runtime::time_point now) {
        const runtime::duration rtt = now - r.sent;
        if (r.ever_retransmitted && min_rtt_ && rtt < *min_rtt_) return;
        if (!min_rtt_ || rtt < *min_rtt_) min_rtt_ = rtt;
        rtt_ = rtt;
        if (!order_ || scoreboard::sent_after(r.order, r.end, *order_, end_)) {
            order_ = r.order;
            end_ = r.end;
        }
    }
    // The most recently sent delivery (RACK.xmit_ts and RACK.end_seq, with
    // the transmission count for the time: see scoreboard::run::order).
    bool has_reference() const noexcept { return order_.has_value(); }
    std::uint64_t order() const noexcept { return order_.value_or(0); }
    seq32 end() const noexcept { return end_; }
    runtime::duration rtt() const noexcept { return rtt_; }
    runtime::duration min_rtt() const noexcept { return min_rtt_.value_or(runtime::duration::zero()); }

    // Step 3: reordering was seen (or a loss episode proved spurious).
    void saw_reordering() noexcept { reordering_seen_ = true; }
    bool reordering_seen() const noexcept { return reordering_seen_; }
    // Step 4's DSACK adaptation: one more min_rtt/4 per round trip with a
    // DSACK (or a recovery undone, tcb::undo).
    void on_dsack(seq32 snd_una, seq32 snd_nxt) noexcept {
        if (dsack_round_ && snd_una >= *dsack_round_) dsack_round_.reset();
        if (dsack_round_) return;
        dsack_round_ = snd_nxt;
        mult_ = std::min(mult_ + 1, max_mult);
        persist_ = 16;
    }
    // Step 4: after 16 recoveries without a DSACK the window is one quarter min_rtt again.
    void on_recovery_end() noexcept {
        if (persist_ > 0 && --persist_ == 0) mult_ = 1;
    }
    unsigned multiplier() const noexcept { return mult_; }
    // Step 4: RACK.reo_wnd.
    runtime::duration reo_wnd(bool in_recovery, std::uint32_t sacked, std::uint32_t mss,
                              runtime::duration srtt) const noexcept {
        constexpr unsigned dupthresh = 3;
        if (!reordering_seen_ && (in_recovery || sacked >= dupthresh * mss)) return runtime::duration::zero();
        return std::min(min_rtt() * mult_ / 4, srtt);
    }

private:
    static constexpr unsigned max_mult = 64;
    std::optional<std::uint64_t> order_;
    seq32 end_;
    runtime::duration rtt_{};
    std::optional<runtime::duration> min_rtt_;
    bool reordering_seen_ = false;
    std::optional<seq32> dsack_round_;
    unsigned mult_ = 1, persist_ = 0;
};

// RFC 6937 Proportional Rate Reduction with slow start reduction bound.
class prr_state {
public:
    // Recovery begins with recover_fs bytes in flight.
    void start(std::uint32_t recover_fs) noexcept {
        recover_fs_ = std::max(recover_fs, 1u);
        delivered_ = out_ = 0;
    }
    // Bytes sent during recovery (prr_out).
    void sent(std::uint32_t bytes) noexcept { out_ += bytes; }
    // One ACK delivered `delivered` bytes, leaving `pipe`: the window that
    // lets out what PRR allows (pipe + sndcnt). The first ACK of recovery
    // always lets one segment out (the fast retransmit).
    std::uint32_t on_ack(std::uint32_t delivered, std::uint32_t pipe, std::uint32_t ssthresh,
                         std::uint32_t mss) noexcept {
        delivered_ += delivered;
        std::int64_t sndcnt = 0;
        if (pipe > ssthresh) {
            const std::uint64_t share = (std::uint64_t{delivered_} * ssthresh + recover_fs_ - 1) / recover_fs_;  // CEIL
            sndcnt = static_cast<std::int64_t>(share) - out_;
        } else {
            const std::int64_t limit = std::max<std::int64_t>(std::int64_t{delivered_} - out_, delivered) + mss;
            sndcnt = std::min<std::int64_t>(ssthresh - pipe, limit);
        }
        sndcnt = std::max<std::int64_t>(sndcnt, out_ == 0 ? mss : 0);
        return pipe + static_cast<std::uint32_t>(std::min<std::int64_t>(sndcnt, 1 << 30));
    }
    std::uint32_t delivered() const noexcept { return delivered_; }
    std::uint32_t out() const noexcept { return out_; }

private:
    std::uint32_t recover_fs_ = 1, delivered_ = 0, out_ = 0;
};

}  // namespace coronet::tcp
