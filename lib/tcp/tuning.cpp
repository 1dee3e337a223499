// Buffer auto-tuning. The receive buffer is the receive window, so it
// limits a transfer to one buffer per round trip: Linux's dynamic
// right-sizing grows it when the application drains more per round trip than
// half of it. The send buffer holds what is in flight and what waits to go:
// it grows with what cwnd and the peer's window let fly while the application
// waits for room. Growth asks the layer for the memory first
// (tcb_owner::reserve); buffers never shrink while the connection lives.
#include <coronet/tcp/tcb.hpp>

namespace coronet::tcp {

namespace {
// Linux's rcvq_space starts at the initial congestion window: 10 segments.
constexpr std::uint64_t initial_segments = 10;
}  // namespace

// The receiver's RTT, as Linux measures it (tcp_rcv_rtt_measure_ts and
// tcp_rcv_rtt_measure): a full-sized segment that echoes one of our
// timestamps left the peer about one RTT after the ACK that carried it
// (RFC 7323 4.1); and one window of data takes at least one RTT to arrive,
// so those measurements are upper bounds. A receiver that sends nothing has
// no other clock.
void tcb::measure_receive_rtt(const wire::tcp_view& seg) {
    if (!cfg_.buffer_auto_tuning || seg.payload().empty()) return;
    const auto now = ex_.now();
    const auto& ts = seg.options().timestamp;
    if (ts_ok_ && ts && ts->second != 0 && seg.payload().size() >= snd_mss_) {
        // Our timestamps count milliseconds: a shorter RTT reads as one.
        if (const std::int32_t ms = ts_now() - wire::ts32{ts->second}; ms >= 0)
            receive_rtt_sample(std::chrono::milliseconds(std::max(ms, 1)), false);
    }
    if (xfer().rcv_rtt_start != runtime::time_point{} && seq_.rcv_nxt >= xfer().rcv_rtt_end) {
        receive_rtt_sample(now - xfer().rcv_rtt_start, true);
        xfer().rcv_rtt_start = {};
    }
    if (xfer().rcv_rtt_start == runtime::time_point{}) {
        xfer().rcv_rtt_start = now;
        xfer().rcv_rtt_end = seq_.rcv_nxt + std::max<std::uint32_t>(seq_.promised(), rcv_mss_);
    }
    tune_receive_buffer();  // data placed straight into a waiting reader was drained too
}

// Timestamp samples are smoothed (gain 1/8, as RFC 6298's SRTT); a window's
// time only ever lowers the estimate.
void tcb::receive_rtt_sample(runtime::duration d, bool upper_bound) noexcept {
    if (xfer().rcv_rtt == runtime::duration::zero())
        xfer().rcv_rtt = d;
    else if (upper_bound)
        xfer().rcv_rtt = std::min(xfer().rcv_rtt, d);
    else
        xfer().rcv_rtt += (d - xfer().rcv_rtt) / 8;
}

// Dynamic right-sizing (Linux tcp_rcv_space_adjust): once per receiver RTT,
// what the application drained in it (read, or placed in its buffer) is
// compared with the most it drained in any earlier one. More means the
// sender is still speeding up, or the window holds it back: the buffer (the
// window) becomes twice this round's amount plus 16 segments, so it stays
// ahead of the application by a round trip, and grows further in proportion
// to the round's growth, twice over: a sender in slow start doubles each
// round, and a window only twice the last round would hold it to that
// (wan.sh, RTT 20 ms: 0.80x the kernel receiving 32 MiB; 0.99x with fixed
// 6 MiB buffers).
void tcb::tune_receive_buffer() {
    if (!cfg_.buffer_auto_tuning || app_gone() || xr().rcv_rtt == runtime::duration::zero()) return;
    const auto now = ex_.now();
    const std::uint64_t drained = counted(early::bytes_received) - rcvbuf_.size();
    if (xfer().rcv_space_at == runtime::time_point{}) {  // the first RTT starts now
        xfer().rcv_space = std::min<std::uint64_t>(rcvbuf_.capacity(), initial_segments * rcv_mss_);
        xfer().rcv_space_mark = drained;
        xfer().rcv_space_at = now;
        return;
    }
    if (now - xfer().rcv_space_at < xfer().rcv_rtt) return;
    const std::uint64_t round = drained - xfer().rcv_space_mark;
    xfer().rcv_space_mark = drained;
    xfer().rcv_space_at = now;
    if (round <= xfer().rcv_space) return;
    std::uint64_t wanted = 2 * round + 16 * std::uint64_t{rcv_mss_};
    wanted += 2 * wanted * (round - xfer().rcv_space) / std::max<std::uint64_t>(xfer().rcv_space, 1);
    xfer().rcv_space = round;
    // The window field cannot offer more than 65535 units of the scale (no
    // scaling: 64 KiB), whatever the buffer holds.
    const std::size_t offerable = std::size_t{65535} << rcv_wscale_.shift();
    grow_buffer(rcvbuf_, static_cast<std::size_t>(std::min<std::uint64_t>(wanted, SIZE_MAX)),
                std::min(cfg_.receive_buffer_limit(), offerable));
}

// On an ACK (Linux tcp_sndbuf_expand): the application waits for room, and
// the buffer holds less than it must for cwnd and the peer's window to be
// the limit: what they let fly, and besides it the data in flight that is
// no longer in the network (SACKed, or marked lost), which stays until it
// is cumulatively acknowledged (RFC 2018 8: the receiver may renege).
// Twice what they allow keeps the next round trip's data queued behind this
// one's; in slow start cwnd itself doubles within that round trip, so four
// times. (Flight itself is no guide here: the ACK has just shrunk it.)
// Without the held data, one loss at 20 ms and 1 % loss left a BBR sender
// in STARTUP with its 256 KiB buffer full of data behind the hole and the
// pipe at a third of cwnd for a round trip (wan.sh's rtt20-loss1).
void tcb::tune_send_buffer() {
    if (!cfg_.buffer_auto_tuning || !send_limited_ || write_shut_) return;
    const std::size_t flyable = std::min<std::size_t>(cc().window(), seq_.snd_wnd);
    const std::size_t flight = seq_.flight_size();
    const std::size_t held = flight - std::min<std::size_t>(flight, xr().board.pipe());
    if (sndbuf_.capacity() >= held + flyable) return;  // cwnd or the peer's window is the limit, not the buffer
    const bool slow_start = cc().window() < cc().ssthresh();
    // The writer waits for room: it is there now, also when this ACK freed none (a SACK).
    if (grow_buffer(sndbuf_, held + (slow_start ? 4 : 2) * flyable, cfg_.send_buffer_limit())) wake(writer_);
}

// Grows ring to `wanted` bytes, whole pages (huge ones from 1 MiB on:
// byte_ring::growth_capacity), at most `limit`, when the layer grants the
// memory, all of it counted; false when it stays as it is.
bool tcb::grow_buffer(byte_ring& ring, std::size_t wanted, std::size_t limit) {
    const std::size_t to = byte_ring::growth_capacity(wanted, limit);
    if (to <= ring.capacity() || reserved_ == 0) return false;  // reserved_ 0: the buffers were given back
    const std::size_t more = to - ring.capacity();
    if (!owner_.reserve(more)) return false;
    reserved_ += more;
    const bool receive = &ring == &rcvbuf_;
    // What the ring holds: the readable bytes, and in the receive buffer the
    // out-of-order data placed past them, up to the end of the highest range.
    std::size_t keep = ring.size();
    if (receive && !xr().ooo.empty()) keep += wire::distance(seq_.rcv_nxt, xr().ooo.ranges().back().right);
    ring.grow(to, keep);
    ++(receive ? xfer().stats.receive_buffer_growths : xfer().stats.send_buffer_growths);
    (receive ? xfer().stats.receive_buffer : xfer().stats.send_buffer) = to;
    return true;
}

}  // namespace coronet::tcp
