// The sender's scoreboard (RFC 6675) with the per-run transmit times that
// RACK (RFC 8985) needs. Runs are contiguous from the cumulative ACK, so the
// run holding a sequence number is found by binary search.
#include <algorithm>
#include <coronet/tcp/scoreboard.hpp>

namespace coronet::tcp {

scoreboard::run_list& scoreboard::no_runs() noexcept {
    static run_list none;
    return none;
}

void scoreboard::sent(seq32 start, seq32 end, runtime::time_point now, const delivery_rate::snapshot& rate) {
    if (start == end) return;
    // Frames sent in one turn of the loop share a time: one run holds them.
    if (!list().empty()) {
        run& last = list().back();
        if (last.order == sends_ && last.sent == now && last.end == start && !last.sacked && !last.lost &&
            !last.ever_retransmitted) {
            last.end = end;
            return;
        }
    }
    if (!runs_) runs_.emplace();  // the first data sent: an idle connection has no list
    list().push_back({.start = start, .end = end, .sent = now, .order = ++sends_, .rate = rate});
}

std::optional<std::size_t> scoreboard::cut_at(seq32 seq) {
    if (list().empty() || seq >= list().back().end) return list().size();
    if (seq <= list().front().start) return 0;
    const std::size_t i = index_of(seq);
    if (list()[i].start == seq) return i;
    if (list().size() >= max_runs_) {
        ++split_refused_;
        return std::nullopt;
    }
    run tail = list()[i];
    tail.start = seq;
    list()[i].end = seq;  // the counters hold: the two halves share every flag
    list().insert(list().begin() + static_cast<std::ptrdiff_t>(i) + 1, tail);
    return i + 1;
}

std::size_t scoreboard::index_of(seq32 seq) const noexcept {
    auto it = std::upper_bound(list().begin(), list().end(), seq, [](seq32 s, const run& r) { return s < r.start; });
    return it == list().begin() ? 0 : static_cast<std::size_t>(it - list().begin()) - 1;
}

void scoreboard::resent(seq32 start, seq32 end, runtime::time_point now, const delivery_rate::snapshot& rate) {
    // An edge the bound will not cut takes the whole run that holds it: the
    // run counts as out again (so NextSeg moves on) rather than the resend
    // going unrecorded, or the runs after it being marked with it.
    const std::size_t first = cut_at(start).value_or(index_of(start));
    const std::size_t stop = cut_at(end).value_or(index_of(end) + 1);
    const std::uint64_t order = ++sends_;
    for (std::size_t i = first; i < stop && i < list().size(); ++i) {
        run& r = list()[i];
        if (r.sacked) continue;
        r.sent = now;
        r.order = order;
        r.rate = rate;
        r.ever_retransmitted = true;
        set_retransmitted(r, true);
    }
}

scoreboard::delivery scoreboard::on_ack(seq32 una, std::span<const seq_range> blocks) {
    delivery d;
    const std::optional<seq32> fack_before = fack_;
    auto deliver = [&](const run& r, std::uint32_t bytes, std::uint32_t& into) {
        into += bytes;
        // RFC 8985 6.2 step 3: an original transmission arriving below data
        // SACKed earlier was reordered (a retransmission says nothing).
        if (fack_before && r.end < *fack_before && !r.ever_retransmitted) d.reordered = true;
        if (!d.newest || scoreboard::sent_after(r.order, r.end, d.newest->order, d.newest->end)) d.newest = r;
    };
    // The cumulative ACK: whole runs, then the front of one.
    while (!list().empty() && list().front().end <= una) {
        const run& r = list().front();
        if (!r.sacked) deliver(r, r.size(), d.acked);
        drop(r);
        list().pop_front();
    }
    if (!list().empty() && list().front().start < una) {
        run& r = list().front();
        const std::uint32_t part = wire::distance(r.start, una);
        if (!r.sacked) deliver(r, part, d.acked);
        if (r.sacked) sacked_ -= part;
        if (r.lost) lost_ -= part;
        if (r.retransmitted) retransmitted_ -= part;
        r.start = una;
    }
    for (const seq_range& b : blocks) {
        const seq32 left = std::max(b.left, una);
        if (list().empty() || left >= b.right) continue;
        const auto first = cut_at(left);
        const auto last = first ? cut_at(std::min(b.right, list().back().end)) : std::nullopt;
        if (!first || !last) continue;
        for (std::size_t i = *first; i < *last; ++i) {
            run& r = list()[i];
            if (r.sacked) continue;
            deliver(r, r.size(), d.sacked);
            set_sacked(r);
        }
        if (*last > *first && (!fack_ || *fack_ < list()[*last - 1].end)) fack_ = list()[*last - 1].end;
    }
    if (fack_ && *fack_ <= una) fack_.reset();
    return d;
}

std::optional<seq_range> scoreboard::next_lost(std::uint32_t max_len) const {
    for (const run& r : list())
        if (r.lost && !r.retransmitted) return seq_range{r.start, r.start + std::min(r.size(), max_len)};
    return std::nullopt;
}

std::uint32_t scoreboard::mark_head_lost(std::uint32_t len) {
    if (list().empty() || list().front().sacked || list().front().lost) return 0;
    cut_at(list().front().start + std::min(len, list().front().size()));
    set_lost(list().front(), true);
    return list().front().size();
}

std::uint32_t scoreboard::mark_all_lost() noexcept { return mark_lost_larger_than(0); }

std::uint32_t scoreboard::mark_lost_larger_than(std::uint32_t segment_size) noexcept {
    const std::uint32_t before = lost_;
    for (run& r : list()) {
        if (r.sacked || r.size() <= segment_size) continue;
        set_lost(r, true);
        set_retransmitted(r, false);
    }
    return lost_ - before;
}

void scoreboard::unmark_lost() noexcept {
    for (run& r : list()) set_lost(r, false);
}

void scoreboard::forget_sacks() noexcept {
    for (run& r : list()) r.sacked = false;
    sacked_ = 0;
    fack_.reset();
}

scoreboard::detection scoreboard::detect(std::uint64_t order, seq32 end, runtime::duration wait,
                                         runtime::time_point now) {
    detection out;
    for (run& r : list()) {
        if (r.sacked || (r.lost && !r.retransmitted)) continue;
        if (!sent_after(order, end, r.order, r.end)) {
            // Originals go out in sequence order and a resend after its
            // original: past an original sent after the reference, every
            // run was sent after it too.
            if (r.start >= end && !r.ever_retransmitted) break;
            continue;
        }
        const runtime::duration remaining = r.sent + wait - now;
        if (remaining <= runtime::duration::zero()) {
            set_lost(r, true);
            set_retransmitted(r, false);
            out.newly_lost += r.size();
        } else {
            out.next = std::max(out.next, remaining);
        }
    }
    return out;
}

void scoreboard::set_lost(run& r, bool on) noexcept {
    if (r.lost == on) return;
    r.lost = on;
    if (on)
        lost_ += r.size();
    else
        lost_ -= r.size();
}

void scoreboard::set_retransmitted(run& r, bool on) noexcept {
    if (r.retransmitted == on) return;
    r.retransmitted = on;
    if (on)
        retransmitted_ += r.size();
    else
        retransmitted_ -= r.size();
}

void scoreboard::set_sacked(run& r) noexcept {
    if (r.sacked) return;
    set_lost(r, false);
    set_retransmitted(r, false);
    r.sacked = true;
    sacked_ += r.size();
}

void scoreboard::drop(const run& r) noexcept {
    if (r.sacked) sacked_ -= r.size();
    if (r.lost) lost_ -= r.size();
    if (r.retransmitted) retransmitted_ -= r.size();
}

}  // namespace coronet::tcp
