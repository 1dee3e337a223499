// Congestion control behind a small interface (window, on_ack, on_loss,
// on_timeout, on_undo, pacing rate), so that other algorithms can follow
// NewReno without touching input or output. The sender detects losses,
// keeps the recovery point and paces the reduction during recovery (PRR,
// RFC 6937); the algorithm owns cwnd and ssthresh. Sizes are in bytes.
#pragma once

#include <coronet/runtime/clock.hpp>
#include <cstdint>
#include <memory>
#include <string_view>

namespace coronet::tcp {

// What one ACK tells the congestion controller.
struct ack_sample {
    std::uint32_t bytes_acked = 0;    // newly delivered data: cumulatively acknowledged or SACKed (0: a duplicate ACK)
    std::uint32_t flight_before = 0;  // bytes in flight before this ACK
    std::uint32_t flight_after = 0;   // and after it
    runtime::time_point now{};
    bool in_recovery = false;    // the sender is repairing a loss (fast recovery)
    bool ends_recovery = false;  // this ACK covers the recovery point: the repair is complete
};

class congestion_control {
public:
    virtual ~congestion_control() = default;
    // The name make_congestion_control knows it by.
    virtual const char* name() const noexcept = 0;
    // Starts over for a sender segment size mss: cwnd = the RFC 6928 initial
    // window min(10*mss, max(2*mss, 14600)); ssthresh "infinite" (0xffffffff).
    virtual void init(std::uint32_t mss) = 0;
    // The congestion window: how many bytes may be in flight.
    virtual std::uint32_t window() const noexcept = 0;
    virtual std::uint32_t ssthresh() const noexcept = 0;
    // The rate at which to pace segments out, bytes per second; 0: unpaced.
    virtual std::uint64_t pacing_rate() const noexcept { return 0; }
    // An ACK arrived (new data delivered, or a duplicate in recovery). In
    // recovery the sender's PRR decides what goes out; the algorithm sets
    // cwnd for after it when the ACK ends it.
    virtual void on_ack(const ack_sample& ack) = 0;
    // Loss detected by the ACK stream (fast retransmit, RACK): recovery
    // begins; ssthresh (and cwnd, the target) drop.
    virtual void on_loss(std::uint32_t flight_size, runtime::time_point now) = 0;
    // Retransmission timeout: RFC 5681 3.1 (4) and the loss window.
    virtual void on_timeout(std::uint32_t flight_size) = 0;
    // The last on_loss or on_timeout was spurious (DSACK, timestamps: RFC
    // 3522, RFC 4015): cwnd and ssthresh return to at least what they were.
    virtual void on_undo() = 0;
    // RFC 5681 4.1: sending again after an idle period; acts only when idle > rto.
    virtual void on_idle(runtime::duration idle, runtime::duration rto) = 0;
};

// RFC 5681 with RFC 3465 byte counting (every acknowledged byte in slow
// start, as Linux counts every acknowledged segment: a receiver that ACKs
// once per 64 KiB super-frame must not make slow start linear; one SMSS per
// cwnd of acknowledged bytes in congestion avoidance); recovery ends with
// cwnd = ssthresh (RFC 6937).
class new_reno final : public congestion_control {
public:
    // The "infinite" initial ssthresh.
    static constexpr std::uint32_t infinite_ssthresh = 0xffffffff;
    // cwnd never grows past this: about the largest window RFC 7323 lets a peer offer (65535 << 14).
    static constexpr std::uint32_t max_cwnd = 1u << 30;

    // Ready for mss 536 (RFC 9293's default); init() sets the real one.
    new_reno() { init(536); }

    const char* name() const noexcept override { return "newreno"; }
    // mss 0 is taken as 536.
    void init(std::uint32_t mss) override;
    std::uint32_t window() const noexcept override { return cwnd_; }
    std::uint32_t ssthresh() const noexcept override { return ssthresh_; }
    // Outside recovery: slow start or congestion avoidance. In recovery
    // nothing grows; the ACK that ends it sets cwnd to ssthresh.
    void on_ack(const ack_sample& ack) override;
    // RFC 5681 3.2 step 2: ssthresh = max(FlightSize / 2, 2*SMSS), cwnd the same.
    void on_loss(std::uint32_t flight_size, runtime::time_point now) override;
    void on_timeout(std::uint32_t flight_size) override;
    void on_undo() override;
    void on_idle(runtime::duration idle, runtime::duration rto) override;

    // RFC 6928 2: min(10*mss, max(2*mss, 14600)).
    static std::uint32_t initial_window(std::uint32_t mss) noexcept;

private:
    void grow(std::uint32_t n) noexcept;
    void open_window(std::uint32_t bytes_acked, std::uint32_t flight_before) noexcept;
    void set_ssthresh_after_loss(std::uint32_t flight_size) noexcept;

    std::uint32_t mss_ = 536;
    std::uint32_t cwnd_ = 0;
    std::uint32_t ssthresh_ = infinite_ssthresh;
    std::uint32_t bytes_acked_ = 0;                      // RFC 3465 bytes_acked, counted in congestion avoidance
    std::uint32_t prior_cwnd_ = 0, prior_ssthresh_ = 0;  // before the last reduction (on_undo)
};

// A fresh algorithm by name: "newreno"; nullptr for a name it does not know.
std::unique_ptr<congestion_control> make_congestion_control(std::string_view name);

}  // namespace coronet::tcp
