// Loss recovery: what each ACK tells the scoreboard (SACK, RFC 2018; DSACK,
// RFC 2883), loss detection (RACK, RFC 8985, with SACK; three duplicate
// ACKs, RFC 5681 / RFC 6582, without), the window reduction paced by PRR
// (RFC 6937), retransmission of what is lost (RFC 6675 NextSeg rule 1),
// tail loss probes (RFC 8985 7), the retransmission timeout, and the undo
// of reductions that DSACK or timestamps (RFC 3522, RFC 4015) prove spurious.
#include <algorithm>
#include <coronet/tcp/tcb.hpp>

namespace coronet::tcp {

using namespace wire::tcp_flag;

namespace {
// RFC 8985 7.2: the worst-case delayed-ACK time added when one segment is out.
constexpr auto worst_case_delayed_ack = std::chrono::milliseconds(200);
constexpr auto min_probe_timeout = std::chrono::milliseconds(10);
constexpr unsigned dupthresh = 3;  // RFC 5681 3.2
}  // namespace

// The SACK blocks of seg that can be believed: inside what we sent and not
// below the cumulative ACK, except the first one when it reports a duplicate
// (RFC 2883 4: below the ACK, or inside the second block). Others are counted.
tcb::sack_info tcb::read_sacks(const wire::tcp_view& seg) {
    sack_info out;
    if (!sack_ok_) return out;
    const auto& o = seg.options();
    const seq32 ack = seg.ack();
    const seq32 oldest = seq_.snd_una - seq_.max_snd_wnd;  // RFC 5961 5.2's bound for old ACKs
    for (std::size_t i = 0; i < std::min<std::size_t>(o.sack_count, o.sack.size()); ++i) {
        const seq_range b{o.sack[i].left, o.sack[i].right};
        if (!(b.left < b.right) || b.right > seq_.snd_max || b.left < oldest) {
            ++xfer().stats.sack_ignored;
            continue;
        }
        const bool inside_second = o.sack_count > 1 && o.sack[1].left <= b.left && b.right <= o.sack[1].right;
        if (i == 0 && (b.left < ack || inside_second)) {
            out.dsack = b;
            continue;
        }
        if (b.left < ack) {  // stale: data the ACK itself covers
            ++xfer().stats.sack_ignored;
            continue;
        }
        out.blocks[out.count++] = b;
    }
    return out;
}

// Everything one acceptable ACK means for loss recovery and the congestion
// window (after process_ack moved SND.UNA and the window update).
void tcb::account_ack(const wire::tcp_view& seg, const sack_info& sacks, seq32 una_before, std::uint32_t wnd_before) {
    const auto now = ex_.now();
    const std::uint32_t flight_before = wire::distance(una_before, seq_.snd_max);
    const bool advanced = seq_.snd_una > una_before;
    // Read through xr() where nothing changes, so that the ACKs of an idle
    // connection (no transfer state: nothing sent but the SYN) make none: an
    // empty scoreboard with no SACK blocks delivers nothing.
    const bool board_needed = xfer_ || sacks.count > 0;
    const std::uint32_t pipe_before = xr().board.pipe();
    const scoreboard::delivery d =
        board_needed ? xfer().board.on_ack(seq_.snd_una, {sacks.blocks.data(), sacks.count}) : scoreboard::delivery{};
    const std::uint64_t lost_before = xr().stats.lost_bytes;
    const rate_sample rate =
        d.newest ? xfer().rate.on_ack(d.delivered(), d.newest->rate, d.newest->sent, now, xfer().rack.min_rtt())
                 : rate_sample{};
    // Karn: a resend's ACK times nothing.
    const runtime::duration rtt_sample =
        d.newest && !d.newest->ever_retransmitted ? now - d.newest->sent : runtime::duration::zero();
    if (d.sacked > 0) xfer().stats.sacked_bytes += d.sacked;
    if (sack_ok_ && advanced && xr().board.head_sacked()) {
        // The ACK stops at data the peer SACKed: it dropped it (RFC 2018 8).
        xfer().board.forget_sacks();
        ++xfer().stats.renegings;
    }
    if (sacks.dsack) on_dsack(*sacks.dsack);
    if (d.newest) xfer().rack.on_delivered(*d.newest, now);
    if (d.reordered) xfer().rack.saw_reordering();

    // RFC 5681 2 (and RFC 6675 2 with SACK): a duplicate acknowledgment.
    const bool bare = seg.payload().empty() && !seg.has(fin) && !seg.has(syn);
    const bool dup = !advanced && bare && flight_before > 0 &&
                     (sack_ok_ ? d.sacked > 0 : snd_wscale_.expand(seg.window()) == wnd_before);
    if (dup) ++xfer().stats.dup_acks;
    if (advanced) dupacks_ = 0;

    if (xr().undo_marker && advanced && (ack_shows_delayed(seg) || recovered_without_resending())) undo();
    if (xr().tlp_end && seq_.snd_una >= *xr().tlp_end) {
        // RFC 8985 7.4: a resent tail acknowledged without a DSACK repaired a loss.
        if (xfer().tlp_resent && !xfer().tlp_dsacked && !in_recovery_) {
            ++xfer().stats.tlp_recoveries;
            start_undo_episode();
            cc().on_loss(flight_at_loss(flight_before), now);
        }
        xfer().tlp_end.reset();
    }

    if (sack_ok_) {
        detect_losses(pipe_before);
    } else if (dup && ++dupacks_ == dupthresh && !in_recovery_ &&
               (seq_.snd_una >= recover_ || cc().window() > 2u * snd_mss_)) {
        // RFC 6582 3.2 forbids a new recovery inside the window an RTO resent
        // (duplicates of go-back-N look like losses); its 4.2 ACK heuristic
        // allows it once the window has regrown, else each loss there costs an RTO.
        xfer().stats.lost_bytes += xfer().board.mark_head_lost(snd_mss_);
        enter_recovery(pipe_before);
    } else if (in_recovery_ && advanced && seq_.snd_una < recover_) {
        // RFC 6582 3.2 step 5, a partial acknowledgment: the next hole is lost too.
        xfer().stats.lost_bytes += xfer().board.mark_head_lost(snd_mss_);
    }

    // What left the network: without SACK a duplicate stands for one segment (RFC 6937).
    std::uint32_t delivered = d.delivered();
    if (!sack_ok_ && dup) delivered = std::max<std::uint32_t>(delivered, snd_mss_);
    ack_sample sample{.bytes_acked = d.delivered(),
                      .flight_before = std::max(flight_before, flight_at_output_),
                      .flight_after = seq_.flight_size(),
                      .pipe = xr().board.pipe(),
                      .now = now,
                      .in_recovery = in_recovery_,
                      .lost = static_cast<std::uint32_t>(xr().stats.lost_bytes - lost_before),
                      .delivered = xr().rate.delivered(),
                      .rtt = rtt_sample,
                      .min_rtt = xr().rack.min_rtt(),
                      .srtt = rtt_.srtt(),
                      .mss = snd_mss_,
                      .rate = rate,
                      .sack_only = !advanced,
                      .below_una = seg.ack() < una_before,
                      .overtaken = older_than_ts_recent(seg),
                      .reordering = xr().rack.reordering_seen()};
    // Only an ACK the controller hears asks for it: an idle connection's
    // handshake ACK makes none.
    const auto tell_controller = [&] {
        sample.paced = pacing_rate() > 0;
        cc().on_ack(sample);
    };
    // PRR's window (RFC 6937) once this ACK's delivery is counted.
    const auto count_in_prr = [&] {
        xfer().recovery_window = xfer().prr.on_ack(delivered, xfer().board.pipe(), cc().ssthresh(), snd_mss_);
    };
    if (in_recovery_ && seq_.snd_una >= recover_) {
        // As Linux's tcp_time_to_recover, data that loss detection marked
        // lost while this episode ran, beyond its recovery point, starts the
        // next one on this ACK (RFC 6675 would start it on the next
        // duplicate ACK). Not data a path-MTU drop marked: that is resent
        // without a reduction.
        const bool again = xr().loss_found_in_recovery && xr().board.lost_bytes() > 0;
        end_recovery();
        // A controller that sets its own window in recovery sees one
        // recovery go on (the sample says in recovery, not its end), as
        // Linux's BBR sees Recovery on both sides of this ACK: told of an
        // end and a new start, BBR restored its window and then held it to
        // what was in flight for a round trip (packet conservation) every
        // time. On 1 % random loss at 20 ms, STARTUP spent most round trips
        // so, and moved x0.88-1.01 of kernel BBR's goodput (below it on
        // seven of eight relay seeds). A window controller hears the end
        // (cwnd = ssthresh) and then reduces again.
        const bool goes_on = again && cc().sets_recovery_window();
        if (goes_on) enter_recovery(pipe_before, false);
        sample.ends_recovery = !goes_on;
        sample.counted_by_duplicates = sample.ends_recovery && !sack_ok_;
        tell_controller();
        if (again && !goes_on) {
            enter_recovery(pipe_before, false);
            count_in_prr();  // as the ACK that finds a loss counts in the episode it starts
        }
    } else if (in_recovery_) {
        tell_controller();
        count_in_prr();
    } else if (sample.bytes_acked > 0 || sample.lost > 0) {
        tell_controller();
    }
    if (advanced) schedule_tlp();
    note_congestion_state();
    // Every ACK that delivers, cumulatively or by SACK, with the window it
    // leaves: in recovery SACKs shrink the pipe while the buffer stays full.
    if (d.delivered() > 0) tune_send_buffer();
}

// RFC 8985 6.2 step 5 and 6.3: time-based loss detection, and the timer for
// what is not late enough yet. A loss found starts recovery.
void tcb::detect_losses(std::uint32_t pipe_before) {
    if (!xr().rack.has_reference() || (xr().board.sacked_bytes() == 0 && !in_recovery_)) {
        if (xfer_) xfer_->reo_at = never;
        return;
    }
    const auto now = ex_.now();
    const runtime::duration reo_wnd = reordering_window();
    xfer().stats.reordering_window_us =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(reo_wnd).count());
    const runtime::duration wait = xfer().rack.rtt() + reo_wnd;
    const scoreboard::detection r = xfer().board.detect(xfer().rack.order(), xfer().rack.end(), wait, now);
    xfer().reo_at = r.next > runtime::duration::zero() ? now + r.next : never;
    if (r.newly_lost == 0) return;
    xfer().stats.lost_bytes += r.newly_lost;
    if (in_recovery_) {
        xfer().loss_found_in_recovery = true;
    } else {
        enter_recovery(pipe_before);
    }
}

// Fast recovery (RFC 6675 5, RFC 6937): ssthresh drops, PRR paces the flight
// down to it, and the episode ends when the ACK passes `recover_`.
void tcb::enter_recovery(std::uint32_t pipe_before, bool early_output) {
    in_recovery_ = true;
    xfer().recovery_with_reo_wnd = xr().rack.reordering_seen();
    xfer().loss_found_in_recovery = false;
    ++xfer().stats.recoveries;
    start_undo_episode();
    if (early_output && ex_.turn_end_queued(output_node_) && !cc().sets_recovery_window()) {
        // Earlier events of this turn (ACKs before the one that found the
        // loss, a write) left output to the turn's end. Taken one at a time,
        // as the RFCs' sender and Linux take ACKs, the new data they let out
        // would have left before the loss was known, inside the episode it
        // starts; left to the turn's end it went out under PRR, past the
        // recovery point, and a loss among it made a second reduction (on
        // 1 % random loss at 20 ms, NewReno reduced up to 6 % more often
        // than Linux Reno and moved x0.90-0.95 of its goodput). So it goes
        // now: the room the window had before this ACK, new data only (the
        // fast retransmit follows under PRR, as it would have).
        const std::uint32_t pipe = xr().board.pipe(), window = cwnd();
        xfer().recovery_window = pipe + (window > pipe_before ? window - pipe_before : 0);
        output(turn_output_, true);
    }
    recover_ = seq_.snd_max;
    const std::uint32_t flight = seq_.flight_size();
    xfer().prr.start(flight);  // RFC 6937's RecoverFS: SND.NXT - SND.UNA
    cc().on_loss(flight_at_loss(flight), ex_.now());
    xfer().recovery_window = xfer().prr.on_ack(0, xfer().board.pipe(), cc().ssthresh(), snd_mss_);
    xfer().tlp_end.reset();
    xfer().tlp_at = never;
}

void tcb::end_recovery() {
    in_recovery_ = false;
    xfer().rack.on_recovery_end();
    xfer().undo_marker.reset();
}

// A reduction begins: what is resent from now on may yet prove unnecessary.
// Resends of the episode before that are still unacknowledged stay in this
// one, with the timestamp of the first of them (as Linux's tcp_init_undo
// counts retrans_out and keeps retrans_stamp): a recovery ends once the ACK
// passes `recover`, and holes found beyond it were resent in it too. The
// ACKs for those echo timestamps older than this episode's first resend, and
// an Eifel check from that resend took them for proof that nothing had been
// lost: on 1 % random loss BBR undid 3 to 23 of 7 to 24 recoveries per
// 8 MiB, each restoring the window and telling RACK the path reorders.
void tcb::start_undo_episode() {
    transfer_state& x = xfer();
    x.undo_marker = seq_.snd_una;
    // What was resent below SND.UNA has been acknowledged (the set holds
    // sequence numbers within one window: 1 GiB below reaches them all).
    x.undo_bytes -= x.undo_resent.remove(seq_.snd_una - (1u << 30), seq_.snd_una);
    if (x.retrans_stamp && (!x.undo_resent.empty() || x.board.retransmitted_bytes() > 0)) return;
    x.undo_bytes = 0;
    x.undo_resent.clear();
    x.retrans_stamp.reset();
}

// RFC 2883: the peer received [left, right) twice. Within the current
// episode that takes back one of our resends; when all are taken back the
// reduction was for nothing (reordering or a delay, not a loss). Only a
// resend of this episode is taken back, and once (RFC 3708 2): a duplicate
// of an original, or the same report again, says nothing of a loss repaired.
void tcb::on_dsack(seq_range r) {
    transfer_state& x = xfer();
    // Segments as resend() counted them: our FIN's byte is no data.
    const std::uint32_t len = wire::distance(r.left, r.right);
    const bool fin_in = fin_seq_ && r.right == *fin_seq_ + 1;
    x.stats.dsacks_received += segments_in(len - (fin_in ? 1 : 0));
    x.dsacked_bytes += len;
    const bool probe = x.tlp_end && r.right == *x.tlp_end;
    if (probe) x.tlp_dsacked = true;
    // RFC 8985 6.2 step 4 widens the window for a DSACK of a resend RACK
    // made too soon. As Linux (tcp_dsack_seen), not for one before any
    // reordering was seen, nor for the probe's (a timer resent it), nor once
    // more was reported twice than was ever resent (the network duplicated it).
    if (!probe && x.rack.reordering_seen() && x.dsacked_bytes <= x.stats.retransmitted_bytes)
        x.rack.on_dsack(seq_.snd_una, seq_.snd_nxt);
    if (!x.undo_marker || r.left < *x.undo_marker) return;
    const std::uint32_t resent = x.undo_resent.remove(r.left, r.right);
    if (resent == 0) return;
    xfer().undo_bytes -= resent;
    if (xfer().undo_bytes <= 0 && xfer().retrans_stamp) undo();
}

// RFC 3522 (Eifel detection): the ACK echoes a timestamp older than our first
// resend, so the original, not the resend, reached the peer.
bool tcb::ack_shows_delayed(const wire::tcp_view& seg) const {
    const auto& ts = seg.options().timestamp;
    return ts_ok_ && ts && ts->second != 0 && xr().retrans_stamp && wire::ts32{ts->second} < *xr().retrans_stamp;
}

// A fast recovery that resent nothing, and whose data marked lost has all
// arrived since (it was reordered, and came before the window let the
// resend out): no DSACK or timestamp will ever speak for it, and nothing
// was lost (Linux's tcp_packet_delayed: "nothing was retransmitted").
bool tcb::recovered_without_resending() const noexcept {
    return in_recovery_ && !xr().retrans_stamp && xr().board.lost_bytes() == 0;
}

// RFC 4015 3.2 / RFC 3708: the window back as it was, nothing lost, and
// the reordering noted so that RACK waits longer next time. A fast recovery
// RACK began with reordering already seen had a window too short for this
// path: it widens as for a DSACK of a resend (RFC 8985 6.2 step 4), but now,
// not when that DSACK comes a round trip later. On a jittery path (wan.sh
// jitter, 0-3 ms each way, BBR) RACK started up to five needless recoveries
// within that round trip, each undone, where the kernel started none.
void tcb::undo() {
    ++xfer().stats.undos;
    cc().on_undo();
    xfer().board.unmark_lost();
    if (in_recovery_ && xr().recovery_with_reo_wnd) xfer().rack.on_dsack(seq_.snd_una, seq_.snd_nxt);
    xfer().rack.saw_reordering();
    if (in_recovery_) end_recovery();
    xfer().undo_marker.reset();
    xfer().retrans_stamp.reset();
    retries_ = 0;
    rtt_.reset_backoff();
}

// How many bytes may be in the network: PRR's window in recovery, else cwnd.
std::uint32_t tcb::send_window() const {
    if (in_recovery_ && !cc().sets_recovery_window()) return xr().recovery_window;
    // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new segment out.
    const std::uint32_t extra = sack_ok_ ? 0 : std::min(dupacks_, 2u) * snd_mss_;
    return cwnd() + extra;  // (no controller made for an idle connection's output)
}

// RFC 6675 NextSeg rule 1: lost data first, as far as the window lets.
void tcb::retransmit_lost() {
    if (xr().board.lost_bytes() == 0) return;  // nothing marked lost: nothing to resend
    for (;;) {
        const std::uint32_t pipe = xr().board.pipe(), wnd = send_window();
        if (pipe >= wnd || pacing_holds(ex_.now())) return;
        const std::uint32_t room = std::max<std::uint32_t>((wnd - pipe) / snd_mss_, 1) * snd_mss_;
        const auto r =
            xr().board.next_lost(std::min<std::uint32_t>(room, static_cast<std::uint32_t>(max_frame_payload())));
        if (!r || !resend(*r)) return;
    }
}

// Sends [r.left, r.right) again (with our FIN when it ends there).
bool tcb::resend(seq_range r) {
    std::uint32_t len = wire::distance(r.left, r.right);
    std::uint8_t flags = ack;
    if (fin_seq_ && r.right == *fin_seq_ + 1) {
        flags |= fin;
        --len;
    }
    if (!send_segment(r.left, flags, wire::distance(data_start(), r.left), len)) return false;
    const std::uint32_t size = wire::distance(r.left, r.right);
    xfer().board.resent(r.left, r.right, ex_.now(), xfer().rate.on_send(false, ex_.now()));
    paced(size, ex_.now());
    const std::uint64_t segments = segments_in(len);  // the FIN, alone, is one
    xfer().stats.retransmits += segments;
    if (in_recovery_) xfer().stats.fast_retransmits += segments;
    xfer().stats.retransmitted_bytes += size;
    xfer().undo_bytes += size;
    // A resend the set has no room for can never be taken back: no undo by
    // DSACK for this episode, which errs on the side of the reduction.
    xfer().undo_resent.add(r.left, r.right);
    if (!xfer().retrans_stamp) xfer().retrans_stamp = ts_now();
    if (in_recovery_) xfer().prr.sent(size);
    rtt_timing_ = false;  // Karn
    if (rto_at_ == never) rto_at_ = ex_.now() + rtt_.rto();
    return true;
}

// RFC 6298 5.4-5.7 and RFC 5681 3.1: back off, collapse cwnd, and resend
// everything not SACKed (RFC 6675 5.1) as the window reopens.
void tcb::on_rto(send_policy policy) {
    ++xfer().stats.timeouts;
    owner_.host().suspect(id_.remote);  // the peer's MAC may have changed: ARP re-confirms it
    if (retries_++ == 0) start_undo_episode();
    cc().on_timeout(seq_.flight_size());
    note_congestion_state();
    if (in_recovery_) end_recovery();
    dupacks_ = 0;
    recover_ = seq_.snd_max;
    rtt_.backoff();
    rtt_timing_ = false;
    xfer().stats.lost_bytes += xfer().board.mark_all_lost();
    xfer().tlp_end.reset();
    xfer().tlp_at = xfer().reo_at = never;
    rto_at_ = never;
    output(policy);
    if (rto_at_ == never && flight()) rto_at_ = ex_.now() + rtt_.rto();
}

// RFC 8985 7.2: with data out and no loss being repaired, a probe goes
// after about two round trips of silence, long before the RTO.
void tcb::schedule_tlp() {
    if (xfer_) xfer_->tlp_at = never;
    if (!sack_ok_ || in_recovery_ || xr().tlp_end || !flight() || retries_ > 0 || !rtt_.has_sample()) return;
    auto pto = 2 * rtt_.srtt();
    if (seq_.flight_size() <= snd_mss_) pto += worst_case_delayed_ack;
    pto = std::max<runtime::duration>(pto, min_probe_timeout);
    // The probe comes no later than the RTO would, and takes its place (RFC 8985 7.2).
    xfer().tlp_at = std::min(ex_.now() + pto, rto_at_);
}

// RFC 8985 7.3: the probe is one new segment if the windows allow, else the
// last segment sent again; the RTO is restarted behind it.
void tcb::on_tlp(send_policy policy) {
    if (!sack_ok_ || in_recovery_ || xfer().tlp_end || !flight()) return;
    ++xfer().stats.tlp_probes;
    const seq32 before = seq_.snd_nxt;
    if (policy.data && unsent() > 0 && seq_.snd_wnd > seq_.flight_size()) {
        xfer().tlp_new_data = true;
        output(policy);
        xfer().tlp_new_data = false;
    }
    if (seq_.snd_nxt != before) {
        xfer().tlp_resent = false;
    } else if (!xfer().board.empty()) {
        const scoreboard::run& last = xfer().board.runs().back();
        const seq32 start = last.size() > snd_mss_ ? last.end - snd_mss_ : last.start;
        if (!resend({start, last.end})) return;
        xfer().tlp_resent = true;
    }
    xfer().tlp_end = seq_.snd_nxt;
    xfer().tlp_dsacked = false;
    rto_at_ = ex_.now() + rtt_.rto();
}

// Receiver side, RFC 2883: [left, right) arrived again; the next ACK says so.
void tcb::note_duplicate(seq32 left, seq32 right) {
    if (!sack_ok_ || !(left < right)) return;
    xfer().dsack = seq_range{left, right};
}

}  // namespace coronet::tcp
