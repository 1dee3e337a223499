// Sending: segments built straight into a frame from the send buffer,
// Nagle and sender-side SWS avoidance, SACK blocks in our ACKs, zero-window
// probes and delayed ACKs. What is resent, and when, is recovery.cpp's.
// What may be sent (data, the FIN) is the calling state's send_policy.
#include <algorithm>
#include <coronet/tcp/tcb.hpp>
#include <limits>

namespace coronet::tcp {

using namespace wire::tcp_flag;

namespace {
// Paths with a round trip up to this are LANs: 64 KiB offload frames, no pacing.
constexpr auto lan_rtt = std::chrono::milliseconds(2);
// On a LAN, frames are paced only when the largest one lasts at least this
// long at the rate (64 KiB offload frames: below 5.2 Gbit/s).
constexpr std::uint64_t lan_frame_time_ns = 100'000;
// How long a segment that found no free frame waits before output() tries again.
constexpr auto tx_retry_delay = std::chrono::milliseconds(1);
// A TCP header with the most options, with none, and the timestamps' share.
constexpr std::size_t max_header_len = 60;
constexpr std::size_t base_header_len = 20;
constexpr std::size_t timestamp_option_len = 12;  // NOP NOP kind len TSval TSecr
// Where the checksum sits in the TCP header.
constexpr std::uint16_t checksum_offset = 16;
}  // namespace

// The window field to send; a SYN's is never scaled (RFC 7323 2.2).
std::uint16_t tcb::advertised_window(bool syn) {
    const std::size_t free = rcvbuf_.free();
    if (syn) return static_cast<std::uint16_t>(std::min<std::size_t>(free, 65535));
    // RFC 1122 4.2.3.3 receiver SWS avoidance: move the right edge only by
    // a useful amount (an MSS, or half the buffer), else keep the promise.
    const std::size_t promised = seq_.promised();
    const std::size_t step = std::min<std::size_t>(rcvbuf_.capacity() / 2, rcv_mss_);
    const std::size_t wnd = free >= promised + step ? free : std::min(promised, free);
    return rcv_wscale_.field_for(wnd);
}

std::optional<storage::packet> tcb::frame_for(std::uint8_t flags, std::size_t payload) {
    auto p = owner_.host().allocate(max_header_len + payload);
    // Every frame is in flight to the kernel: retry shortly, the ACK included,
    // rather than waiting for a timer that may not be armed.
    if (!p) retry_send(flags, tx_retry_delay);
    return p;
}

// A segment could not go: output() tries again `after` from now (the ACK
// too). SYNs have their own retransmission timer; a lost RST is answered
// by the peer's next segment.
void tcb::retry_send(std::uint8_t flags, runtime::duration after) {
    if (flags & (syn | rst)) return;
    if (tx_retry_at_ == never) tx_retry_at_ = ex_.now() + after;
    if (flags & ack) delack_at_ = tx_retry_at_;
}

std::size_t tcb::max_frame_payload() const {
    if (!owner_.host().offload()) return snd_mss_;
    return std::min(largest_frame_payload() / snd_mss_, frame_segments_for_rate()) * snd_mss_;
}

std::size_t tcb::largest_frame_payload() const {
    if (!owner_.host().offload()) return snd_mss_;
    constexpr std::size_t room = wire::ipv4_repr::max_packet_len - wire::ipv4_repr::header_len - max_header_len;
    return std::max<std::size_t>(room / snd_mss_, 1) * snd_mss_;
}

// The path's round trip is its smallest RTT sample (RACK's): SRTT counts the
// queue the sender itself builds. In wan.sh's clean cell (0.14 ms through the
// relay, 2 vCPUs) BBR's flight lifted SRTT to 2-14 ms, and the sender went
// over to pacing and 1 ms frames whenever it passed 2: a loop turn per frame,
// stopped by pacing at 85 % of its outputs. With the minimum, 32 MiB sent
// went from x0.70-0.73 of kernel BBR to x0.91-0.92 (3 runs each, two sets).
bool tcb::on_lan() const noexcept {
    if (!rtt_.has_sample()) return false;
    const runtime::duration min_rtt = xr().rack.min_rtt();
    return rtt_.srtt() <= lan_rtt || (min_rtt > runtime::duration::zero() && min_rtt <= lan_rtt);
}

// Offload frames sized to the sending rate, as Linux sizes its TSO frames
// (tcp_tso_autosize): about a millisecond of 2 x min(cwnd, SND.WND) per SRTT,
// at least two segments. A window sent as one 64 KiB frame reaches a Linux
// receiver as one skb per round trip: it ACKs it at once with the window
// left while that skb is still unread, its reader's first read after it
// finds the rest still queued (tcp_rcv_space_adjust counts copied minus
// queued, so the receive buffer never grows), and its window update after
// the read is suppressed (tcp_cleanup_rbuf wants twice the window left, more
// than window_clamp allows): the window stays at ~58 KB, one frame per round
// trip, for seconds. Several frames per round trip, as a Linux sender sends,
// let its buffer grow. Paths under ~2 ms (LANs) keep 64 KiB frames unless
// paced (below a LAN's rate: pacing_rate).
std::size_t tcb::frame_segments_for_rate() const {
    using std::chrono::nanoseconds;
    constexpr nanoseconds frame_time = std::chrono::milliseconds(1);
    if (const std::uint64_t rate = pacing_rate(); rate > 0)
        return std::max<std::size_t>(rate * frame_time.count() / 1'000'000'000 / snd_mss_, 2);
    const nanoseconds srtt = rtt_.srtt();
    if (!rtt_.has_sample() || on_lan()) return std::numeric_limits<std::size_t>::max();
    const std::uint64_t window = std::min(cc().window(), seq_.snd_wnd);
    const std::uint64_t bytes =
        2 * window * static_cast<std::uint64_t>(frame_time.count()) / static_cast<std::uint64_t>(srtt.count());
    return std::max<std::size_t>(bytes / snd_mss_, 2);
}

std::uint64_t tcb::pacing_rate(const congestion_control& c) const {
    using pacing_mode = tcp_config::pacing_mode;
    if (cfg_.pacing == pacing_mode::off) return 0;
    // On a LAN a window is a few 64 KiB frames, and a loop turn per paced
    // frame costs more than a burst: unpaced there. bench.sh on veth, BBR
    // sending: paced 20.8 Gbit/s (x0.85 of the kernel) and 1.1 without
    // offload; unpaced 36.7 (x1.18) and 2.9 (one run each). But only at a
    // LAN's rate: where the largest frame lasts 100 us or more (64 KiB
    // below 5.2 Gbit/s), a timer per frame is cheap, and something slower
    // than the LAN lies on the path. wan.sh's clean cell (0.14 ms through
    // a relay that forwards ~1 Gbit/s) had unpaced BBR send bursts of
    // 1.3 MB at 87 Gbit/s: the relay queued them for 7 ms, its ACKs came
    // back in one batch, and the sender stood idle 4-16 ms at a time (8 MiB:
    // x0.73-0.78 of kernel BBR; paced x0.87 and x0.96). Segment-sized
    // frames (no offload) would need a turn per 3 us at 4 Gbit/s: unpaced.
    const std::uint64_t rate = controller_rate(c);
    if (!on_lan()) return rate;
    const std::uint64_t frame_time_ns = rate == 0 ? 0 : largest_frame_payload() * 1'000'000'000 / rate;
    return frame_time_ns >= lan_frame_time_ns ? rate : 0;
}

std::uint64_t tcb::controller_rate(const congestion_control& c) const {
    using pacing_mode = tcp_config::pacing_mode;
    if (const std::uint64_t rate = c.pacing_rate(); rate > 0) return rate;
    if (cfg_.pacing == pacing_mode::controller || !rtt_.has_sample() || rtt_.srtt() <= runtime::duration::zero())
        return 0;
    // slow_start: congestion avoidance goes by the ACK clock, as Linux's
    // NewReno and CUBIC do without the fq qdisc.
    if (cfg_.pacing == pacing_mode::slow_start && c.window() >= c.ssthresh()) return 0;
    // Linux's tcp_update_pacing_rate: the window over SRTT, doubled in the
    // first half of slow start (so that it can still double per round
    // trip), 1.2 times after (a little ahead of the ACK clock).
    const std::uint64_t window = std::max(c.window(), seq_.flight_size());
    const unsigned percent = c.window() < c.ssthresh() / 2 ? 200 : 120;
    const auto srtt_ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(rtt_.srtt()).count());
    return window * percent * 10'000'000 / srtt_ns;  // * 1e9 / 100
}

void tcb::note_congestion_state() {
    if (xfer_) note_congestion_state(xfer_->stats, figures_of(cc()));  // else make_xfer() notes them
}

void tcb::note_congestion_state(connection_stats& st, const congestion_figures& f) noexcept {
    st.cwnd = f.cwnd;
    st.ssthresh = f.ssthresh;
    st.pacing_rate = f.pacing_rate;
    st.cc_bandwidth = f.info.bandwidth;
    st.cc_min_rtt_us =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(f.info.min_rtt).count());
}

bool tcb::pacing_holds(runtime::time_point now) {
    if (xr().next_tx <= now || pacing_rate() == 0) return false;
    xfer().pace_at = xr().next_tx;
    return true;
}

void tcb::paced(std::size_t bytes, runtime::time_point now) {
    const std::uint64_t rate = pacing_rate();
    if (rate == 0) return;
    const runtime::duration len = std::chrono::nanoseconds(bytes * 1'000'000'000 / rate);
    // A frame that leaves late (the loop's turn came after its time) lets
    // the next go sooner, by up to half its own time, as Linux credits
    // timer slack: the rate holds on average without bursts.
    runtime::time_point& next_tx = xfer().next_tx;
    next_tx = std::max(next_tx, now - len / 2) + len;
}

bool tcb::send_segment(seq32 seq, std::uint8_t flags, std::size_t offset, std::size_t len) {
    auto p = frame_for(flags, len);
    return p && send_segment(std::move(*p), seq, flags, offset, len);
}

bool tcb::send_segment(storage::packet frame, seq32 seq, std::uint8_t flags, std::size_t offset, std::size_t len) {
    wire::tcp_repr h{};
    h.src_port = id_.local_port;
    h.dst_port = id_.remote_port;
    h.seq = seq;
    h.flags = flags;
    if (flags & ack) h.ack = seq_.rcv_nxt;
    h.window = advertised_window(flags & syn);
    const std::pair timestamp{ts_now().value, ts_recent_.value};
    if (flags & syn) {
        h.options.mss = rcv_mss_;
        const bool active = !(flags & ack);
        if (cfg_.window_scaling && (active || wscale_ok_)) h.options.window_scale = rcv_wscale_.shift();
        if (cfg_.timestamps && (active || ts_ok_)) h.options.timestamp = timestamp;
        h.options.sack_permitted = cfg_.sack && (active || sack_ok_);
    } else {
        if (ts_ok_) h.options.timestamp = timestamp;
        if (sack_ok_ && (flags & ack) && !(flags & rst)) add_sack_blocks(h.options);
        // SND.MSS leaves room for timestamps only (RFC 6691): a packet
        // carrying data keeps only the SACK blocks that still fit in it.
        const std::size_t packet_payload = std::min<std::size_t>(len, snd_mss_);
        const std::size_t base_len = base_header_len + (ts_ok_ ? timestamp_option_len : 0);
        while (h.options.sack_count > 0 && h.header_len() - base_len > snd_mss_ - packet_payload)
            --h.options.sack_count;
    }
    const std::size_t hlen = h.header_len();
    if (frame.tailroom() < hlen + len) return false;
    auto segment = frame.put(hlen + len);
    if (len > 0) sndbuf_.peek(offset, segment.subspan(hlen, len));
    if (owner_.host().offload()) {
        // The device fills in the checksum (and cuts a long segment into MSS-sized ones).
        frame.offload = {.checksum_partial = true,
                         .csum_start = 0,
                         .csum_offset = checksum_offset,
                         .gso_size = len > snd_mss_ ? snd_mss_ : std::uint16_t{0}};
        h.emit(segment, id_.local, id_.remote, wire::checksum_mode::skip);
    } else {
        h.emit(segment, id_.local, id_.remote);
    }
    // Errors from the host (no route, the ARP queue full) leave the segment
    // unsent: counted, and output() tries again, sooner for a full queue.
    if (const std::error_code ec = owner_.host().send_ipv4(id_.remote, wire::ip_proto::tcp, std::move(frame))) {
        ++xfer().stats.send_errors;
        if (ec == std::errc::no_buffer_space) {
            retry_send(flags, tx_retry_delay);  // the queue drains soon
        } else if ((len > 0 || (flags & fin)) && rto_at_ == never) {
            // No route, too big: the retransmission timer tries again, backing
            // off, and ends the connection at its limit as for a silent peer.
            rto_at_ = ex_.now() + rtt_.rto();
        }
        return false;
    }
    if (h.options.sack_count > 0) ++xfer().stats.sack_segments_sent;
    if (h.options.sack_count > 0 && xr().dsack && h.options.sack[0].left == xr().dsack->left) {
        xfer().dsack.reset();
        ++xfer().stats.dsacks_sent;
    }
    if (flags & ack) {
        last_ack_sent_ = seq_.rcv_nxt;
        if (xfer_) {  // the delayed-ACK engine (none before data arrived)
            // A delayed ACK that went alone, on its timer: the peer is not
            // waiting for an answer to ride on (Linux leaves pingpong mode).
            transfer_state& x = *xfer_;
            if (x.delack_timed && delack_at_ <= ex_.now() && len == 0 && !(flags & (syn | fin))) x.pingpong = false;
            x.delack_timed = false;
            if (x.quick_acks > 0) --x.quick_acks;
            x.answer_may_carry_ack = false;
            x.sacks_deferred = 0;
            if (seq_.rcv_nxt == x.dup_acks_for && x.dup_acks_sent < UINT8_MAX) ++x.dup_acks_sent;
        }
        delack_at_ = never;
        segs_since_ack_ = 0;
    }
    // An answer within ato of the data it answers: an interactive exchange.
    if (len > 0 && xr().ato > runtime::duration::zero() && ex_.now() - xr().last_data_at < xr().ato)
        xfer().pingpong = true;
    const seq32 edge = seq_.rcv_nxt + ((flags & syn) ? window_scale{} : rcv_wscale_).expand(h.window);
    if (edge > seq_.rcv_adv || seq_.rcv_adv < seq_.rcv_nxt) seq_.rcv_adv = edge;
    const std::uint64_t segments = segments_in(len);
    count(early::segments_sent, segments);
    owner_.segments_sent(segments);
    if (len > 0) last_data_sent_ = ex_.now();
    return true;
}

// RFC 2018 4 and RFC 2883: a duplicate we received first, then the
// out-of-order ranges, the most recently changed first. A duplicate of
// out-of-order data is followed by the range that holds it (RFC 2883 4),
// however long ago that range changed: a sender recognises such a D-SACK
// only by that second block, and with timestamps three blocks fit.
void tcb::add_sack_blocks(wire::tcp_options& o) const {
    std::array<seq_range, 4> blocks{};
    std::size_t n = 0;
    std::optional<seq_range> holder;
    if (xr().dsack) {
        blocks[n++] = *xr().dsack;
        if ((holder = xr().ooo.holding(xr().dsack->left, xr().dsack->right))) blocks[n++] = *holder;
    }
    n += xr().ooo.sack_blocks(std::span(blocks).subspan(n), holder);
    for (std::size_t i = 0; i < n; ++i) o.sack[i] = {blocks[i].left, blocks[i].right};
    o.sack_count = static_cast<std::uint8_t>(n);
}

void tcb::send_syn(bool with_ack) {
    if (retries_ == 0) rtt_start_ = ex_.now();
    if (retries_ > 0) owner_.host().suspect(id_.remote);  // the peer's MAC may have changed
    send_segment(seq_.iss, with_ack ? (syn | ack) : syn, 0, 0);
    seq_.snd_nxt = seq_.iss + 1;
    if (seq_.snd_max < seq_.snd_nxt) seq_.snd_max = seq_.snd_nxt;
    rto_at_ = ex_.now() + rtt_.rto();
}

void tcb::send_rst() { send_segment(seq_.snd_nxt, rst | ack, 0, 0); }

std::size_t tcb::unsent() const noexcept {
    const std::uint32_t off = wire::distance(data_start(), seq_.snd_nxt);
    return off >= sndbuf_.size() ? 0 : sndbuf_.size() - off;
}

void tcb::output(send_policy policy, bool new_data_only) {
    const auto now = ex_.now();
    // The FIN goes out once the state machine has moved to a state that sends
    // it (the diagram's "close / snd FIN"), so traces and pcap comments show
    // the transition before the FIN.
    const seq32 sent_before = seq_.snd_nxt;
    if (pmtu_generation_ != owner_.host().path_mtu_generation() || now >= pmtu_valid_until_) follow_path_mtu();
    if (policy.data) {
        // New data after a pause with nothing in flight: the controller
        // restarts when the first of it is about to leave (below), timed
        // from the last data sent; a turn whose windows let nothing go
        // leaves the pause running.
        bool restart = !flight() && last_data_sent_ != no_data_sent;
        if (!new_data_only) retransmit_lost();
        for (;;) {
            // New data within both windows: the peer's (from SND.UNA) and
            // the congestion window (what is in the network: pipe). A tail
            // loss probe may send one segment past the congestion window.
            // (Nothing to send, nothing to size: an idle connection's
            // output() makes no congestion controller, cc().)
            const std::size_t avail = unsent();
            std::size_t usable = 0, len = 0;
            if (avail > 0) {
                const std::uint32_t pipe = xr().board.pipe(), cwnd = send_window(), flight_size = seq_.flight_size();
                const std::size_t by_peer = seq_.snd_wnd > flight_size ? seq_.snd_wnd - flight_size : 0;
                const std::size_t by_cwnd = xr().tlp_new_data && seq_.snd_nxt == sent_before ? snd_mss_
                                            : cwnd > pipe                                    ? cwnd - pipe
                                                                                             : 0;
                usable = std::min(by_peer, by_cwnd);
                len = std::min<std::size_t>({avail, max_frame_payload(), usable});
            }
            if (len > 0 && !xr().tlp_new_data && pacing_holds(now)) break;
            if (len > 0 && std::exchange(restart, false)) {
                cc().on_idle(now, now - last_data_sent_, rtt_.rto());
                continue;  // the restart window may be smaller: measure again
            }
            std::optional<storage::packet> frame;
            if (len > snd_mss_) {
                // Several segments in one offload frame: as many as its buffer holds,
                // and a short last one only where a short segment may go on its own
                // (the rule below, with the frame's full segments in flight).
                frame = frame_for(ack, len);
                if (!frame) break;
                const std::size_t room = frame->tailroom() - max_header_len;
                if (len > room) len = room / snd_mss_ * snd_mss_;
                const bool tail_may_go = len == avail && (!nagle_ || policy.fin);
                if (len > snd_mss_ && len % snd_mss_ != 0 && !tail_may_go) len -= len % snd_mss_;
            }
            const seq32 end = seq_.snd_nxt + static_cast<std::uint32_t>(len);
            const bool fin_now = policy.fin && len == avail && (!fin_seq_ || end == *fin_seq_) &&
                                 seq_.snd_nxt <= data_start() + static_cast<std::uint32_t>(sndbuf_.size());
            if (len == 0 && !fin_now) break;
            if (len < snd_mss_ && !fin_now) {
                // RFC 1122 4.2.3.4: send a short segment only if it is all there is
                // and (Nagle) nothing is unacknowledged, or it is half the largest window.
                const bool all = len == avail;
                if (!(all && (!nagle_ || !flight())) && len < seq_.max_snd_wnd / 2) break;
            }
            std::uint8_t flags = ack;
            // PSH ends every unit of transmission, as Linux 6.x marks every
            // TSO unit it sends (two segments at least; receivers flush GRO
            // on it): an offload frame of several segments, every second
            // lone segment, and the segment that ends the data or the burst
            // the windows allow.
            if (len > 0) {
                unit_segments_ += len > snd_mss_ ? 2 : 1;
                if (len == avail || usable - len < snd_mss_ || unit_segments_ >= 2) {
                    flags |= psh;
                    unit_segments_ = 0;
                }
            }
            if (fin_now) flags |= fin;
            const std::size_t offset = wire::distance(data_start(), seq_.snd_nxt);
            if (!(frame ? send_segment(std::move(*frame), seq_.snd_nxt, flags, offset, len)
                        : send_segment(seq_.snd_nxt, flags, offset, len)))
                break;
            if (!ts_ok_ && !rtt_timing_ && seq_.snd_nxt == seq_.snd_max && len > 0) {
                rtt_timing_ = true;
                rtt_seq_ = seq_.snd_nxt;
                rtt_start_ = now;
            }
            paced(len, now);
            if (fin_now) fin_seq_ = end;
            seq_.snd_nxt = end + (fin_now ? 1 : 0);
            if (seq_.snd_max < seq_.snd_nxt) seq_.snd_max = seq_.snd_nxt;
            xfer().board.sent(end - static_cast<std::uint32_t>(len), seq_.snd_nxt, now,
                              xfer().rate.on_send(xfer().board.empty(), now));
            if (in_recovery_) xfer().prr.sent(wire::distance(end - static_cast<std::uint32_t>(len), seq_.snd_nxt));
            if (rto_at_ == never) rto_at_ = now + rtt_.rto();
            if (fin_now) break;
        }
        // Less than a segment left to send and room in the window: until
        // what is in flight now is delivered, the delivery rate measures
        // the application, not the path.
        if (unsent() < snd_mss_ && xr().board.pipe() < send_window()) {
            if (xfer_)
                xfer_->rate.on_app_limited(xfer_->board.pipe());
            else
                app_limited_early_ = true;  // make_xfer() marks it (nothing was delivered or is in flight yet)
        }
        // Data waiting and nothing in flight: a zero window (RFC 9293 3.8.6.1),
        // or one too small to send into (RFC 1122 4.2.3.4's override timer) -
        // probe, or a lost window update would leave the connection silent.
        const bool waiting = unsent() > 0 || (policy.fin && !fin_seq_);
        if (!flight() && waiting && persist_at_ == never) persist_at_ = now + rtt_.rto();
    }
    if (new_data_only) return;  // the turn's output comes yet
    if (ack_owed() && !ack_awaits_answer()) send_ack();
    if (seq_.snd_nxt != sent_before && !xr().tlp_new_data) schedule_tlp();
    flight_at_output_ = wire::distance(seq_.snd_una, seq_.snd_max);
    arm_timer();
}

// An ACK now, not at the end of the turn with the turn's other ACKs: the
// sender counts duplicate ACKs one per segment out of order (RFC 5681 4.2),
// and the SACK blocks of one ACK describe the latest arrival and a few
// before it only (RFC 2018 4), so a turn's ACK for many segments scattered
// over holes left most of them unreported; the sender then took them for
// lost (RACK). ack_out_of_order waits where no block goes unreported.
void tcb::ack_at_once() { send_ack(); }

// RFC 5681 4.2 asks for an ACK at once for every segment out of order; with
// SACK, Linux (tcp_comp_sack) sends the first three at once, for a sender
// that counts duplicate ACKs, and then lets one ACK answer up to 44. At 3 %
// loss a receiver ACKing every segment sent the sender 2.6 ACKs for each the
// kernel sends (wan.sh loss3), and each of them costs both ends and the path.
// Here the ACK waits for the turn's end (schedule_ack: the turn's output)
// only while the segment grew the range the pending ACK reports first, so
// that ACK's blocks still tell everything that arrived: a segment that opens
// a new range or lands in another goes at once, reporting it first and the
// range grown before it second. Without SACK every duplicate ACK goes: it
// is all the sender learns.
void tcb::ack_out_of_order(seq32 left, seq32 right, std::optional<seq_range> latest) {
    constexpr unsigned immediate_dup_acks = 3, max_deferred = 44;  // Linux: TCP_FASTRETRANS_THRESH, tcp_comp_sack_nr
    transfer_state& x = xfer();
    if (x.dup_acks_for != seq_.rcv_nxt) {
        x.dup_acks_for = seq_.rcv_nxt;
        x.dup_acks_sent = 0;
    }
    const auto grown = x.ooo.holding(left, right);
    const bool same_block = latest && grown && grown->left <= latest->left && latest->right <= grown->right;
    if (!sack_ok_ || !same_block || x.dup_acks_sent < immediate_dup_acks || x.sacks_deferred >= max_deferred) {
        ack_at_once();
        return;
    }
    ++x.sacks_deferred;
    schedule_ack(true);
}

void tcb::schedule_ack(bool immediate) {
    if (immediate || xr().ato == runtime::duration::zero()) {
        delack_at_ = std::min(delack_at_, ex_.now());
    } else if (delack_at_ == never) {
        delack_at_ = ex_.now() + xr().ato;
        xfer().delack_timed = true;
    }
}

bool tcb::data_arrived() {
    const runtime::time_point now = ex_.now();
    transfer_state& x = xfer();
    const bool first = x.ato == runtime::duration::zero();
    if (first || now - x.last_data_at > rtt_.rto()) {
        // Linux's tcp_incr_quickack: half the window in full segments, 2 to 16.
        const std::size_t window = std::max<std::size_t>(rcvbuf_.capacity() - rcvbuf_.size(), rcv_mss_);
        x.quick_acks = static_cast<unsigned>(std::clamp<std::size_t>(window / (2u * rcv_mss_), 2, 16));
        x.answer_may_carry_ack = !x.pingpong;  // an interactive connection's ACK waits for its timer anyway
    }
    if (first) x.ato = cfg_.delayed_ack;
    x.last_data_at = now;
    return x.quick_acks > 0 && !x.pingpong;
}

// The ACK of the first data after a silence (quick-ack mode) goes at the
// end of the pass that received it, unless that pass woke coroutines that
// run only in the next one - the application the data woke among them: then
// it waits that one pass, so that an answer written then carries it. A
// request's ACK then rides on the response (crr: the response, its ACK and
// the server's FIN in one segment, six frames per connection instead of
// seven), and at most one pass of ready work delays it: never a timer's
// wait. (Another ACK owed meanwhile - a second segment, a window update -
// waits that pass with it.)
bool tcb::ack_awaits_answer() {
    if (!xfer_ || !xfer_->answer_may_carry_ack || !ex_.has_posted()) return false;
    xfer_->answer_may_carry_ack = false;
    return true;
}

// A zero-window probe: an old sequence number the peer must ACK with its window.
void tcb::on_persist() {
    ++probes_;
    ++xfer().stats.persist_probes;
    send_segment(seq_.snd_una - 1, ack, 0, 0);
    const auto backoff = rtt_.rto() * (1u << std::min(probes_, 6u));
    persist_at_ = ex_.now() + std::min<runtime::duration>(backoff, std::chrono::seconds(60));
}

}  // namespace coronet::tcp
