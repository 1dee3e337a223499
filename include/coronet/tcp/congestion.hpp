// Congestion control behind a small interface, so CUBIC can follow NewReno.
// The sender keeps the recovery point and counts duplicate ACKs; the
// algorithm owns cwnd and ssthresh.
#pragma once

#include <coronet/runtime/clock.hpp>

#include <cstdint>
#include <memory>
#include <string_view>

namespace coronet::tcp {

class congestion_control {
public:
    virtual ~congestion_control() = default;
    virtual const char* name() const noexcept = 0;
    // RFC 6928 initial window; ssthresh starts "infinite".
    virtual void init(std::uint32_t mss) = 0;
    // New data acknowledged outside recovery: slow start or congestion avoidance.
    virtual void on_ack(std::uint32_t bytes_acked, std::uint32_t flight_size, runtime::time_point now) = 0;
    // Three duplicate ACKs (RFC 5681 3.2).
    virtual void on_enter_recovery(std::uint32_t flight_size, runtime::time_point now) = 0;
    virtual void on_dup_ack_in_recovery() = 0;
    // RFC 6582 partial acknowledgment.
    virtual void on_partial_ack(std::uint32_t bytes_acked) = 0;
    // RFC 6582 full acknowledgment.
    virtual void on_exit_recovery(std::uint32_t flight_size) = 0;
    // Retransmission timeout: RFC 5681 loss window.
    virtual void on_rto(std::uint32_t flight_size) = 0;
    // RFC 5681 4.1: after an idle period longer than an RTO.
    virtual void on_idle_restart(runtime::duration idle, runtime::duration rto) = 0;
    virtual std::uint32_t cwnd() const noexcept = 0;
    virtual std::uint32_t ssthresh() const noexcept = 0;
};

// RFC 5681 with RFC 3465 byte counting (L = 2 SMSS) and RFC 6582 recovery.
class new_reno final : public congestion_control {
public:
    const char* name() const noexcept override { return "newreno"; }
    void init(std::uint32_t mss) override;
    void on_ack(std::uint32_t bytes_acked, std::uint32_t flight_size, runtime::time_point now) override;
    void on_enter_recovery(std::uint32_t flight_size, runtime::time_point now) override;
    void on_dup_ack_in_recovery() override { cwnd_ += mss_; }
    void on_partial_ack(std::uint32_t bytes_acked) override;
    void on_exit_recovery(std::uint32_t flight_size) override;
    void on_rto(std::uint32_t flight_size) override;
    void on_idle_restart(runtime::duration idle, runtime::duration rto) override;
    std::uint32_t cwnd() const noexcept override { return cwnd_; }
    std::uint32_t ssthresh() const noexcept override { return ssthresh_; }

    static std::uint32_t initial_window(std::uint32_t mss) noexcept;

private:
    std::uint32_t half_flight(std::uint32_t flight_size) const noexcept;
    std::uint32_t mss_ = 536, cwnd_ = 536 * 4, ssthresh_ = 0xffffffff, acked_in_ca_ = 0;
};

// "newreno"; nullptr for a name it does not know.
std::unique_ptr<congestion_control> make_congestion_control(std::string_view name);

}  // namespace coronet::tcp
