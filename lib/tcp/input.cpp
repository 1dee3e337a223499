// SEGMENT ARRIVES, RFC 9293 3.10.7.3 (SYN_SENT) and 3.10.7.4 (the other
// states), one named step per check, with RFC 5961's rules for RST, SYN and
// ACK and RFC 7323's timestamps. What a step means for the state is decided
// by the state coroutines (states.cpp) from the input_result; what a step may
// take (text, the handshake's ACK) is the calling state's receive_policy.
#include <algorithm>
#include <coronet/tcp/tcb.hpp>
#include <cstring>

namespace coronet::tcp {

using namespace wire::tcp_flag;

void tcb::take_options(const wire::tcp_options& o, bool syn) {
    if (!syn) return;
    // RFC 9293 3.7.1: without an MSS option the peer takes 536.
    // A floor (Linux's is 48) keeps a hostile MSS of 0, or one below the
    // timestamps' 12 bytes, from stalling or wrapping the segment size.
    constexpr std::uint16_t min_mss = 64;
    peer_mss_ = std::max(o.mss.value_or(536), min_mss);
    if (cfg_.window_scaling && o.window_scale) {
        wscale_ok_ = true;
        snd_wscale_ = window_scale(*o.window_scale);  // at most 14, RFC 7323 2.3
    } else {
        wscale_ok_ = false;
        snd_wscale_ = rcv_wscale_ = window_scale{};
    }
    sack_ok_ = cfg_.sack && o.sack_permitted;
    if (cfg_.timestamps && o.timestamp) {
        ts_ok_ = true;
        ts_recent_ = wire::ts32{o.timestamp->first};
    } else {
        ts_ok_ = false;
    }
    sync_mss();
}

void tcb::sync_mss() noexcept {
    const net::host& host = owner_.host();
    const net::path_mtu_info path = host.path_mtu(id_.remote);
    pmtu_generation_ = host.path_mtu_generation();
    pmtu_valid_until_ = path.valid_until;
    const auto by_path = static_cast<std::uint16_t>(path.mtu - 40);
    snd_mss_ = std::min({peer_mss_, rcv_mss_, by_path});
    if (ts_ok_) snd_mss_ = static_cast<std::uint16_t>(snd_mss_ - 12);  // every segment carries 12 option bytes
}

void tcb::follow_path_mtu() {
    const std::uint16_t before = snd_mss_;
    sync_mss();
    if (snd_mss_ >= before) return;
    ++xfer().stats.mss_reductions;
    xfer().stats.lost_bytes += xfer().board.mark_lost_larger_than(snd_mss_);
}

tcb::syn_answer tcb::syn_sent_input(const wire::tcp_view& seg) {
    // first check the ACK bit
    if (seg.has(ack) && (seg.ack() <= seq_.iss || seg.ack() > seq_.snd_max)) {
        owner_.reset_for(id_, seg);  // <SEQ=SEG.ACK><CTL=RST>, unless it is a RST
        return syn_answer::ignore;
    }
    // second check the RST bit: only with an acceptable ACK
    if (seg.has(rst)) return seg.has(ack) ? syn_answer::reset : syn_answer::ignore;
    // fourth check the SYN bit
    if (!seg.has(syn)) return syn_answer::ignore;
    seq_.irs = seg.seq();
    seq_.rcv_nxt = seq_.rcv_adv = seq_.irs + 1;  // rcv_adv too: left at 0 it reads as ahead of a high ISN
    take_options(seg.options(), true);
    if (seg.has(ack)) {
        seq_.snd_una = seg.ack();
        seq_.snd_wnd = seq_.max_snd_wnd = seg.window();  // never scaled on a SYN
        seq_.snd_wl1 = seg.seq();
        seq_.snd_wl2 = seg.ack();
        if (retries_ == 0) rtt_.sample(handshake_rtt());  // Karn: only an unretransmitted SYN
        retries_ = 0;
        rto_at_ = never;
        start_congestion_control();
        schedule_ack(true);  // the third segment of the handshake
        return syn_answer::established;
    }
    return syn_answer::simultaneous;
}

// RFC 9293 3.10.7.4 "first check sequence number": the acceptability test.
bool tcb::acceptable(const wire::tcp_view& seg) const {
    const std::uint32_t wnd = seq_.promised();
    const std::uint32_t len = seg.seg_len();
    const seq32 nxt = seq_.rcv_nxt;
    if (len == 0) return wnd == 0 ? seg.seq() == nxt : wire::in_window(seg.seq(), nxt, wnd);
    // A zero window still takes the ACK of a segment at RCV.NXT; its text is trimmed.
    if (wnd == 0) return seg.seq() == nxt;
    return wire::in_window(seg.seq(), nxt, wnd) || wire::in_window(seg.seq() + (len - 1), nxt, wnd);
}

tcb::input_result tcb::input(const wire::tcp_view& seg, receive_policy policy) {
    input_result r;
    const auto& ts = seg.options().timestamp;
    // RFC 7323 3.2: once both ends chose timestamps every segment but a RST
    // carries them; one that does not is not the peer's, and is dropped
    // without a word (an answer would help a blind attacker).
    if (ts_ok_ && !ts && !seg.has(rst)) {
        ++xfer().stats.missing_timestamps;
        return r;
    }
    // RFC 7323 5.3 PAWS: an old timestamp marks an old duplicate, but for
    // a duplicate ACK the network reordered (Linux's tcp_disordered_ack):
    // its SACK blocks are news. As Linux (TCP_PAWS_WINDOW), a timestamp
    // one tick older than TS.Recent passes: on a path that reorders ACKs by
    // a few ticks, the strict check dropped twice the ACKs the kernel drops
    // (paws_window). In every state here; Linux keeps TIME-WAIT and
    // SYN-RECEIVED strict, where a tick decides nothing that matters (an
    // old FIN answered, 2MSL started over). The ACK PAWS owes the sender
    // goes at most every half second (Linux's tcp_invalid_ratelimit):
    // reordered ACKs would otherwise draw one each.
    if (ts_ok_ && ts && !seg.has(rst) && ts_recent_ - wire::ts32{ts->first} > paws_window &&
        !disordered_ack(seg, ts->first)) {
        ++xfer().stats.paws_rejected;
        if (const auto now = ex_.now(); now - xfer().last_paws_ack >= paws_ack_interval) {
            xfer().last_paws_ack = now;
            send_ack();
        }
        return r;
    }
    if (!acceptable(seg)) {
        if (seg.has(rst)) {
            ++xfer().stats.rst_ignored;
        } else {
            ++xfer().stats.out_of_window;
            // An old duplicate below RCV.NXT is reported (RFC 2883 4.1.1).
            if (const auto len = static_cast<std::uint32_t>(seg.payload().size()); len > 0 && seg.seq() < seq_.rcv_nxt)
                note_duplicate(seg.seq(), std::min(seg.seq() + len, seq_.rcv_nxt));
            send_ack();
        }
        return r;
    }
    if (seg.has(rst)) {
        check_rst(seg, r);
        return r;
    }
    // fourth check the SYN bit: in SYN-RECEIVED the state decides (a passive
    // open returns to LISTEN); elsewhere a challenge ACK, whatever its
    // sequence number (RFC 5961 4.2).
    if (seg.has(syn)) {
        if (policy.handshake && passive_)
            r.syn = true;
        else
            challenge_ack();
        return r;
    }
    // fifth check the ACK field
    if (!seg.has(ack) || !check_ack(seg, policy)) return r;
    update_ts_recent(seg);
    process_text(seg, policy);  // seventh (text) and eighth (FIN)
    measure_receive_rtt(seg);   // buffer tuning
    return r;
}

// RFC 9293 3.10.7.4 "second check the RST bit", as RFC 5961 3.2 tightens it:
// only an exact match resets; any other in-window RST draws a challenge ACK.
void tcb::check_rst(const wire::tcp_view& seg, input_result& r) {
    if (seg.seq() == seq_.rcv_nxt)
        r.reset = true;
    else
        challenge_ack();
}

// RFC 5961 sec. 7: this connection's budget first, so that a flood at one
// connection spends only its own; then the layer's.
void tcb::challenge_ack() {
    const auto now = ex_.now();
    transfer_state& x = xfer();
    if (now - x.challenge_window >= std::chrono::seconds(1)) {
        x.challenge_window = now;
        x.challenges = 0;
    }
    if (x.challenges >= cfg_.challenge_acks_per_connection) {
        ++x.stats.challenge_acks_limited;
        return;
    }
    ++x.challenges;
    if (!owner_.challenge_ack_allowed()) return;
    ++xfer().stats.challenge_acks;
    send_ack();
}

// RFC 9293 3.10.7.4 "fifth check the ACK field" with RFC 5961 5.2's range.
bool tcb::check_ack(const wire::tcp_view& seg, receive_policy policy) {
    const seq32 a = seg.ack();
    if (policy.handshake) {  // SYN-RECEIVED: the ACK must cover our SYN
        if (!(seq_.snd_una < a && a <= seq_.snd_max)) {
            owner_.reset_for(id_, seg);
            return false;
        }
        complete_handshake(seg);
    }
    if (a > seq_.snd_max) {  // acknowledges something not yet sent
        ++xfer().stats.ack_of_unsent;
        send_ack();
        return false;
    }
    if (a < seq_.snd_una - seq_.max_snd_wnd) {  // too old to be believed (RFC 5961 5.2)
        ++xfer().stats.ack_too_old;
        send_ack();
        return false;
    }
    const sack_info sacks = read_sacks(seg);
    const seq32 una_before = seq_.snd_una;
    const std::uint32_t wnd_before = seq_.snd_wnd;
    if (a > seq_.snd_una) process_ack(seg, wire::distance(seq_.snd_una, a));
    // The window first, as Linux updates it before loss recovery: entering
    // recovery may send (enter_recovery), and must not past this window.
    update_window(seg);
    account_ack(seg, sacks, una_before, wnd_before);
    return true;
}

// The ACK of our SYN in SYN-RECEIVED: the peer's window, the first RTT sample.
void tcb::complete_handshake(const wire::tcp_view& seg) {
    seq_.snd_wnd = seq_.max_snd_wnd = snd_wscale_.expand(seg.window());
    seq_.snd_wl1 = seg.seq();
    seq_.snd_wl2 = seg.ack();
    if (retries_ == 0) rtt_.sample(handshake_rtt());
    retries_ = 0;
    start_congestion_control();
}

// The SYN's round trip, from when it left: a SYN that waited for ARP left
// when the peer's MAC came (a relay's 20 ms in that wait made a server's
// first SRTT 41 ms on a 20 ms path, and its BBR paced STARTUP's second
// round at half the rate; the ramp stayed a round behind the kernel's).
// (Should the entry have been resolved again for other frames while the
// SYN was out, the sample comes out short: an RTO's worth of rarity.)
runtime::duration tcb::handshake_rtt() const {
    return ex_.now() - std::max(rtt_start_, owner_.host().released(id_.remote));
}

// New data acknowledged: the send buffer, SND.UNA, an RTT sample and the
// retransmission timer (loss recovery and cwnd are account_ack's).
void tcb::process_ack(const wire::tcp_view& seg, std::uint32_t acked) {
    const auto now = ex_.now();
    // Sequence space beyond the data: our SYN before it, our FIN after it.
    std::uint32_t data = acked;
    const bool acked_syn = seq_.snd_una == seq_.iss;
    if (acked_syn) --data;
    if (fin_seq_ && seg.ack() > *fin_seq_) --data;
    sndbuf_.consume(std::min<std::size_t>(data, sndbuf_.size()));
    seq_.snd_una = seg.ack();
    if (seq_.snd_nxt < seq_.snd_una) seq_.snd_nxt = seq_.snd_una;

    if (!acked_syn) sample_rtt(seg, now);  // the ACK of our SYN gave its sample in complete_handshake
    retries_ = 0;
    rto_at_ = flight() ? now + rtt_.rto() : never;
    wake_app();
}

// RTT from an ACK of data: the echoed timestamp, else the one timed segment (Karn).
void tcb::sample_rtt(const wire::tcp_view& seg, runtime::time_point now) {
    const auto& ts = seg.options().timestamp;
    if (ts_ok_ && ts && ts->second != 0) {
        // An echo from the future is no measurement (a forged or mangled segment).
        if (const std::int32_t ms = ts_now() - wire::ts32{ts->second}; ms >= 0)
            rtt_.sample(std::chrono::milliseconds(ms));
    } else if (rtt_timing_ && seq_.snd_una > rtt_seq_) {
        rtt_.sample(now - rtt_start_);
        rtt_timing_ = false;
    }
}

// SND.WND follows the newest segment (SND.WL1, SND.WL2).
void tcb::update_window(const wire::tcp_view& seg) {
    if (!(seq_.snd_wl1 < seg.seq() || (seq_.snd_wl1 == seg.seq() && seq_.snd_wl2 <= seg.ack()))) return;
    seq_.snd_wnd = snd_wscale_.expand(seg.window());
    seq_.max_snd_wnd = std::max(seq_.max_snd_wnd, seq_.snd_wnd);
    seq_.snd_wl1 = seg.seq();
    seq_.snd_wl2 = seg.ack();
    if (seq_.snd_wnd > 0) {
        persist_at_ = never;
        probes_ = 0;
    }
}

// RFC 7323 4.3: remember the timestamp of the segment at the left window
// edge; never an older one (a disordered ACK's).
void tcb::update_ts_recent(const wire::tcp_view& seg) {
    const auto& ts = seg.options().timestamp;
    if (ts_ok_ && ts && seg.seq() <= last_ack_sent_ && !older_than_ts_recent(seg)) ts_recent_ = wire::ts32{ts->first};
}

bool tcb::older_than_ts_recent(const wire::tcp_view& seg) const noexcept {
    const auto& ts = seg.options().timestamp;
    return ts_ok_ && ts && wire::ts32{ts->first} < ts_recent_;
}

// A pure duplicate ACK at RCV.NXT that does not move the window, with a
// timestamp older than TS.Recent by less than an RTO: an ACK the network
// reordered, not an old duplicate (Linux's tcp_disordered_ack).
bool tcb::disordered_ack(const wire::tcp_view& seg, std::uint32_t tsval) const {
    if (!seg.has(ack) || seg.has(syn) || seg.has(fin) || !seg.payload().empty()) return false;
    if (seg.seq() != seq_.rcv_nxt || seg.ack() != seq_.snd_una) return false;
    const std::uint32_t wnd = snd_wscale_.expand(seg.window());
    const bool moves_window =
        seq_.snd_wl1 < seg.seq() || (seq_.snd_wl1 == seg.seq() && (wnd > seq_.snd_wnd || wnd == 0));
    if (moves_window) return false;
    const auto rto_ms = std::chrono::duration_cast<std::chrono::milliseconds>(rtt_.rto()).count();
    return static_cast<std::int64_t>(ts_recent_ - wire::ts32{tsval}) <= rto_ms;
}

// Seventh (segment text) and eighth (FIN) steps: in-order data to the
// receive buffer, out-of-order data into its free space beyond the tail.
void tcb::process_text(const wire::tcp_view& seg, receive_policy policy) {
    wire::bytes data = policy.text ? seg.payload() : wire::bytes{};
    seq32 seq = seg.seq();
    bool fin_flag = seg.has(fin);
    if (seq < seq_.rcv_nxt) {  // already have the front
        const std::uint32_t skip = wire::distance(seq, seq_.rcv_nxt);
        note_duplicate(seq, seq + static_cast<std::uint32_t>(std::min<std::size_t>(skip, data.size())));
        data = skip >= data.size() ? wire::bytes{} : data.subspan(skip);
        seq = seq_.rcv_nxt;
    }
    const std::size_t offset = wire::distance(seq_.rcv_nxt, seq);
    const std::size_t room = app_gone() ? data.size() + offset : rcvbuf_.free();
    if (offset >= room && !(data.empty() && offset == 0)) {  // a bare FIN at RCV.NXT needs no room
        data = {};
        fin_flag = false;
    } else if (data.size() > room - offset) {
        data = data.first(room - offset);
        fin_flag = false;  // the FIN lies beyond what we keep
    }
    if (!data.empty()) {
        if (offset == 0) {
            place_in_order(data);
        } else if (const seq32 end = seq + static_cast<std::uint32_t>(data.size()); xfer().ooo.covers(seq, end)) {
            note_duplicate(seq, end);
            ack_at_once();
        } else if (const auto latest = xr().ooo.latest(); !app_gone() && xfer().ooo.add(seq, end)) {
            rcvbuf_.write_at(offset, data);
            ++xfer().stats.ooo_segments;
            ack_out_of_order(seq, end, latest);
        } else if (!app_gone()) {
            ++xfer().stats.ooo_refused;  // the sender will resend it
        }
    } else if (seg.payload().size() > 0) {
        // All of it we have: a duplicate ACK at once (RFC 5681 4.2), unless a
        // FIN rides on it, taken below: then the turn's ACK covers that too.
        if (fin_flag)
            schedule_ack(true);
        else
            ack_at_once();
    }
    if (fin_flag) peer_fin_ = seq + static_cast<std::uint32_t>(data.size());
    if (peer_fin_ && *peer_fin_ == seq_.rcv_nxt && !fin_received_ && policy.text) {
        seq_.rcv_nxt += 1;
        fin_received_ = true;
        // Linux: the peer's FIN in ESTABLISHED makes the connection
        // interactive, its ACK delayed to ride on our answer (or our FIN);
        // in the other states it is ACKed at once.
        if (state_ == state::established) {
            xfer().pingpong = true;
            schedule_ack(false);
        } else {
            schedule_ack(true);
        }
        wake_app();
    }
}

// At most two ACKs at once per turn for full-sized segments: a turn that
// brings a burst of them (a busy receiver, a large window) leaves the rest
// to its one ACK at its end, as a busy Linux receiver's backlog coalesces
// segments. With no cap, BBR receiving on a CPU-bound path lost 5-8 %
// (wan.sh clean and loss3, eight runs each: x0.82 and x0.94 of the kernel
// against x0.90 and x0.98 with two; 2026-12-05 12:20 UTC).
bool tcb::ack_at_once_in_turn() {
    constexpr unsigned per_turn = 2;
    transfer_state& x = xfer();
    if (x.acks_at_once_turn != ex_.turns()) {
        x.acks_at_once_turn = ex_.turns();
        x.acks_at_once = 0;
    }
    if (x.acks_at_once >= per_turn) return false;
    ++x.acks_at_once;
    return true;
}

// Data at RCV.NXT: into a waiting reader's buffer or the receive buffer,
// then whatever out-of-order data it joins up with.
void tcb::place_in_order(wire::bytes data) {
    if (loan_ && rcvbuf_.empty() && xfer().ooo.empty() && !app_gone()) {
        // A reader waits with its buffer: straight in, the rest behind it.
        read_loan& l = *loan_;
        const std::size_t n = std::min(data.size(), l.into.size() - l.placed);
        std::memcpy(l.into.data() + l.placed, data.data(), n);
        l.placed += n;
        count(early::bytes_placed, n);
        if (l.placed == l.into.size()) loan_ = nullptr;  // full: the reader takes it from here
        rcvbuf_.write(data.subspan(n));
    } else if (!app_gone()) {
        rcvbuf_.write(data);  // an application that closed reads nothing
    }
    seq_.rcv_nxt += static_cast<std::uint32_t>(data.size());
    count(early::bytes_received, data.size());
    const bool filled_hole = !xfer().ooo.empty();
    if (const std::uint32_t more = xfer().ooo.take_contiguous(seq_.rcv_nxt)) {
        rcvbuf_.commit(more);
        seq_.rcv_nxt += more;
        count(early::bytes_received, more);
    }
    // RFC 5681 4.2: an ACK for at least every second full-sized segment;
    // a GRO super-frame is several of them.
    segs_since_ack_ += data.size() > rcv_mss_ ? 2 : 1;
    const bool quick = data_arrived();
    if (data.size() <= rcv_mss_ && wire::distance(last_ack_sent_, seq_.rcv_nxt) > rcv_mss_ && ack_at_once_in_turn()) {
        // Segments of one MSS, as a path that is not a LAN delivers them:
        // an ACK for every second, at once, as a Linux receiver sends,
        // rather than one for the whole turn (two per turn at most). A
        // sender with a window of a few segments (a lossy path) depends on
        // each: when a turn's one ACK was lost it had nothing left to send
        // and waited for its retransmission timer (wan.sh loss3, kernel
        // Reno sending: 31-36 timeouts in five runs against 16-28 with a
        // kernel receiver). GRO super-frames still share the turn's ACK.
        ack_at_once();
    } else {
        schedule_ack(quick || filled_hole || segs_since_ack_ >= 2);
    }
    wake_app();
}

}  // namespace coronet::tcp
