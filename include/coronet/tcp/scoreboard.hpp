// The sender's record of the sequence space in flight (RFC 6675's
// scoreboard): runs of bytes sent together, each with when it was last
// sent and what the receiver said of it (SACKed), what loss detection
// concluded (lost), and whether it is out again (retransmitted). From it
// come pipe (RFC 6675 2), the next segment to resend (NextSeg rule 1) and
// RACK's time-based loss detection (RFC 8985 6.2). Sizes are bytes of
// sequence space (a FIN counts one).
#pragma once

#include <coronet/runtime/clock.hpp>
#include <coronet/runtime/frame_allocator.hpp>
#include <coronet/tcp/delivery_rate.hpp>
#include <coronet/tcp/interval_set.hpp>
#include <coronet/wire/seq32.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>

namespace coronet::tcp {

using wire::seq32;

class scoreboard {
public:
    // Sequence space sent in one go (or the part of it a SACK edge cut off).
    struct run {
        seq32 start, end;            // [start, end)
        runtime::time_point sent{};  // its latest transmission
        // Which transmission that was, counting every one (RACK's
        // RACK_sent_after, RFC 8985 6.2): frames sent in one turn of the loop
        // share a time, and a resend in that turn can follow new data.
        std::uint64_t order = 0;
        bool sacked = false;              // the receiver holds it (RFC 2018)
        bool lost = false;                // loss detection gave it up (RFC 6675 IsLost, RFC 8985)
        bool retransmitted = false;       // sent again since it was marked lost (in flight again)
        bool ever_retransmitted = false;  // sent more than once (Karn; RACK step 2)
        delivery_rate::snapshot rate{};   // the delivery state at its latest transmission
        std::uint32_t size() const noexcept { return wire::distance(start, end); }
    };
    // RFC 8985 RACK_sent_after, by transmission count rather than time: (o1,
    // e1) went out after (o2, e2). One transmission sends its bytes in
    // sequence order.
    static bool sent_after(std::uint64_t o1, seq32 e1, std::uint64_t o2, seq32 e2) noexcept {
        return o1 > o2 || (o1 == o2 && e1 > e2);
    }

    // What one ACK delivered.
    struct delivery {
        std::uint32_t acked = 0;   // newly cumulatively acknowledged and not SACKed before
        std::uint32_t sacked = 0;  // newly SACKed
        bool reordered = false;    // something arrived below data SACKed before (RFC 8985 6.2 step 3)
        // The most recently sent run among those delivered (RACK.xmit_ts, RACK.end_seq).
        std::optional<run> newest;
        std::uint32_t delivered() const noexcept { return acked + sacked; }
    };

    // At most max_runs runs are kept; SACK blocks that would split past it are ignored.
    explicit scoreboard(std::size_t max_runs = 16384) : max_runs_(max_runs) {}

    bool empty() const noexcept { return runs().empty(); }
    // [start, end) went out for the first time (start: the end of the last run).
    // `rate`: the delivery state it carries (delivery_rate::on_send).
    void sent(seq32 start, seq32 end, runtime::time_point now, const delivery_rate::snapshot& rate = {});
    // [start, end), already sent, went out again.
    void resent(seq32 start, seq32 end, runtime::time_point now, const delivery_rate::snapshot& rate = {});

    // The cumulative ACK una and the (valid, in-window) SACK blocks of one ACK.
    delivery on_ack(seq32 una, std::span<const seq_range> blocks);

    // RFC 6675 pipe: bytes sent and thought in the network (not SACKed, not
    // lost; a retransmission counts again).
    std::uint32_t pipe() const noexcept { return outstanding() - sacked_ - lost_ + retransmitted_; }
    // Bytes from the cumulative ACK to the end of the last run.
    std::uint32_t outstanding() const noexcept {
        return empty() ? 0 : wire::distance(runs().front().start, runs().back().end);
    }
    std::uint32_t sacked_bytes() const noexcept { return sacked_; }
    std::uint32_t lost_bytes() const noexcept { return lost_; }
    std::uint32_t retransmitted_bytes() const noexcept { return retransmitted_; }
    // The highest end of SACKed data (RACK.fack's sequence), or nullopt.
    std::optional<seq32> highest_sacked() const noexcept { return fack_; }

    // The first lost run not yet resent, at most max_len of it from its start
    // (NextSeg rule 1), or nullopt.
    std::optional<seq_range> next_lost(std::uint32_t max_len) const;
    // Marks [start, start + len) of the first run lost (RFC 6582's "the first
    // unacknowledged segment is lost"). Returns the bytes newly marked.
    std::uint32_t mark_head_lost(std::uint32_t len);
    // RTO: every run not SACKed is lost (RFC 6675 5.1; a SACKed one stays).
    // Returns the bytes newly marked.
    std::uint32_t mark_all_lost() noexcept;
    // The path MTU went down: every run not SACKed that is larger than the
    // new segment size held a segment too big for the path (a run holds one
    // frame, or the frames of one turn, of segments at the old size) and is
    // lost, its resends too. Returns the bytes newly marked.
    std::uint32_t mark_lost_larger_than(std::uint32_t segment_size) noexcept;
    // Undo of a spurious loss episode: nothing is lost any more.
    void unmark_lost() noexcept;
    // Reneging (RFC 2018 8): the receiver dropped what it SACKed; forget every SACK.
    void forget_sacks() noexcept;

    // RACK loss detection (RFC 8985 6.2 step 5): every run sent before the
    // most recently sent delivery (its run::order and end: RACK.xmit_ts and
    // RACK.end_seq) that is neither SACKed nor already lost is lost once it
    // has been out for `wait` (RACK.rtt + RACK.reo_wnd). Returns how many
    // bytes were newly marked and the time until the next run would be (0: none).
    struct detection {
        std::uint32_t newly_lost = 0;
        runtime::duration next{};
    };
    detection detect(std::uint64_t order, seq32 end, runtime::duration wait, runtime::time_point now);

    // Whether the run that starts at una is SACKed (a cumulative ACK that
    // stops at SACKed data: reneging, RFC 6675 5.1).
    bool head_sacked() const noexcept { return !runs().empty() && runs().front().sacked; }
    // The runs, in sequence order (tests, the connection table).
    using run_list = std::deque<run, runtime::recycling_allocator<run>>;  // nodes recycled: one per few runs sent
    const run_list& runs() const noexcept { return runs_ ? *runs_ : no_runs(); }
    // SACK edges ignored because splitting would have passed max_runs.
    std::uint64_t split_refused() const noexcept { return split_refused_; }

private:
    // The runs; before the first data sent, a shared empty list that stays
    // empty (only sent() adds to an empty list, and it makes runs_ first).
    run_list& list() noexcept { return runs_ ? *runs_ : no_runs(); }
    const run_list& list() const noexcept { return runs(); }
    static run_list& no_runs() noexcept;
    // Index of the run holding seq, cut so that one starts at seq; list().size()
    // when seq is at or past the end; nullopt when the cut would pass max_runs.
    std::optional<std::size_t> cut_at(seq32 seq);
    // Index of the run holding seq (the first run when seq is below it; the last when past it).
    std::size_t index_of(seq32 seq) const noexcept;
    void set_lost(run& r, bool lost) noexcept;
    void set_retransmitted(run& r, bool on) noexcept;
    void set_sacked(run& r) noexcept;
    void drop(const run& r) noexcept;  // its share of the counters, before it goes

    // Contiguous from the cumulative ACK, ascending; made by the first data
    // sent (a std::deque allocates when made, and idle connections are many).
    std::optional<run_list> runs_;
    std::uint64_t sends_ = 0;  // transmissions so far (run::order)
    std::size_t max_runs_;
    std::uint32_t sacked_ = 0, lost_ = 0, retransmitted_ = 0;
    std::optional<seq32> fack_;
    std::uint64_t split_refused_ = 0;
};

}  // namespace coronet::tcp
