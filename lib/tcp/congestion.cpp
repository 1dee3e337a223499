// NewReno: RFC 5681 slow start, congestion avoidance and fast recovery, with
// RFC 3465 appropriate byte counting and RFC 6582 partial-ACK handling.
#include <algorithm>
#include <coronet/tcp/congestion.hpp>

namespace coronet::tcp {

std::uint32_t new_reno::initial_window(std::uint32_t mss) noexcept {
    return std::min(10 * mss, std::max(2 * mss, 14600u));
}

void new_reno::init(std::uint32_t mss) {
    mss_ = mss == 0 ? 536 : mss;
    cwnd_ = initial_window(mss_);
    ssthresh_ = infinite_ssthresh;
    bytes_acked_ = 0;
}

// cwnd += n, at most max_cwnd.
void new_reno::grow(std::uint32_t n) noexcept {
    if (cwnd_ < max_cwnd) cwnd_ = std::min(max_cwnd, cwnd_ + std::min(n, max_cwnd));
}

// RFC 5681 (4): ssthresh = max(FlightSize / 2, 2*SMSS).
void new_reno::set_ssthresh_after_loss(std::uint32_t flight_size) noexcept {
    ssthresh_ = std::max(flight_size / 2, 2 * mss_);
}

void new_reno::on_ack(const ack_sample& ack) {
    if (ack.ends_recovery) {
        // RFC 6582 3.2 step 3, option (1): no burst when little is in flight.
        cwnd_ = std::min(ssthresh_, std::max(ack.flight_after, mss_) + mss_);
        bytes_acked_ = 0;
    } else if (ack.in_recovery && ack.bytes_acked == 0) {
        grow(mss_);  // RFC 5681 3.2 step 4: a segment left the network
    } else if (ack.in_recovery) {
        // RFC 6582 3.2 step 5, a partial acknowledgment: deflate by the amount
        // acknowledged, add back one SMSS if at least that much was; never below one SMSS.
        cwnd_ = cwnd_ > ack.bytes_acked ? cwnd_ - ack.bytes_acked : 0;
        if (ack.bytes_acked >= mss_) cwnd_ += mss_;
        cwnd_ = std::max(cwnd_, mss_);
    } else {
        open_window(ack.bytes_acked, ack.flight_before);
    }
}

void new_reno::open_window(std::uint32_t bytes_acked, std::uint32_t flight_before) noexcept {
    // RFC 7661: a window the sender does not use is not validated by its
    // ACKs; grow only while at least half of it was in flight (an
    // application-limited flow otherwise inflates cwnd without bound).
    if (flight_before < cwnd_ / 2) return;
    if (cwnd_ < ssthresh_) {
        // Slow start (RFC 3465 2.2, L = 2*SMSS), up to ssthresh; what is left
        // of this ACK counts towards congestion avoidance.
        const std::uint32_t room = ssthresh_ - cwnd_;
        const std::uint32_t inc = std::min({bytes_acked, 2 * mss_, room});
        grow(inc);
        bytes_acked -= inc;
        if (cwnd_ < ssthresh_ || bytes_acked == 0) return;
    }
    // Congestion avoidance (RFC 3465 2.1, RFC 5681 3.1): one SMSS per cwnd of
    // acknowledged bytes, about one SMSS per round trip.
    bytes_acked_ += bytes_acked;
    if (bytes_acked_ >= cwnd_) {
        bytes_acked_ -= cwnd_;
        grow(mss_);
    }
}

void new_reno::on_loss(std::uint32_t flight_size, runtime::time_point) {
    set_ssthresh_after_loss(flight_size);
    cwnd_ = ssthresh_ + 3 * mss_;  // the three segments that left the network
    bytes_acked_ = 0;
}

void new_reno::on_timeout(std::uint32_t flight_size) {
    set_ssthresh_after_loss(flight_size);
    cwnd_ = mss_;  // RFC 5681 3.1: the loss window, one segment
    bytes_acked_ = 0;
}

void new_reno::on_idle(runtime::duration idle, runtime::duration rto) {
    // RW = min(IW, cwnd).
    if (idle > rto) cwnd_ = std::min(cwnd_, initial_window(mss_));
}

std::unique_ptr<congestion_control> make_congestion_control(std::string_view name) {
    if (name == "newreno") return std::make_unique<new_reno>();
    return nullptr;
}

}  // namespace coronet::tcp
