#include <coronet/tcp/congestion.hpp>

#include <algorithm>

namespace coronet::tcp {

std::uint32_t new_reno::initial_window(std::uint32_t mss) noexcept {
    return std::min(10 * mss, std::max(2 * mss, 14600u));  // RFC 6928
}

void new_reno::init(std::uint32_t mss) {
    mss_ = mss ? mss : 536;
    cwnd_ = initial_window(mss_);
    ssthresh_ = 0xffffffff;
    acked_in_ca_ = 0;
}

void new_reno::on_ack(std::uint32_t bytes_acked, std::uint32_t, runtime::time_point) {
    if (cwnd_ < ssthresh_) {
        cwnd_ += std::min(bytes_acked, 2 * mss_);  // RFC 3465 ABC, L = 2*SMSS
        return;
    }
    // Congestion avoidance: one SMSS per cwnd of acknowledged bytes.
    acked_in_ca_ += bytes_acked;
    if (acked_in_ca_ >= cwnd_) {
        acked_in_ca_ -= cwnd_;
        cwnd_ += mss_;
    }
}

std::uint32_t new_reno::half_flight(std::uint32_t flight_size) const noexcept {
    return std::max(flight_size / 2, 2 * mss_);  // RFC 5681 (4)
}

void new_reno::on_enter_recovery(std::uint32_t flight_size, runtime::time_point) {
    ssthresh_ = half_flight(flight_size);
    cwnd_ = ssthresh_ + 3 * mss_;
}

void new_reno::on_partial_ack(std::uint32_t bytes_acked) {
    cwnd_ = cwnd_ > bytes_acked ? cwnd_ - bytes_acked : 0;
    if (bytes_acked >= mss_) cwnd_ += mss_;
    cwnd_ = std::max(cwnd_, mss_);
}

void new_reno::on_exit_recovery(std::uint32_t flight_size) {
    cwnd_ = std::min(ssthresh_, std::max(flight_size, mss_) + mss_);
    acked_in_ca_ = 0;
}

void new_reno::on_rto(std::uint32_t flight_size) {
    ssthresh_ = half_flight(flight_size);
    cwnd_ = mss_;
    acked_in_ca_ = 0;
}

void new_reno::on_idle_restart(runtime::duration idle, runtime::duration rto) {
    if (idle > rto) cwnd_ = std::min(cwnd_, initial_window(mss_));
}

std::unique_ptr<congestion_control> make_congestion_control(std::string_view name) {
    if (name == "newreno" || name == "reno") return std::make_unique<new_reno>();
    return nullptr;
}

}  // namespace coronet::tcp
