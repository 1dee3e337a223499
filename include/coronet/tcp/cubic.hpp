// CUBIC (RFC 9438): after a reduction the window grows as a cubic function
// of the time since, plateauing around the window where the loss came
// (W_max) and probing beyond it, independent of the RTT; never slower than
// Reno would (the Reno-friendly region). Slow start is HyStart++ (RFC 9406).
// Sizes outside are in bytes; the cubic function works in segments.
#pragma once

#include <coronet/tcp/congestion.hpp>
#include <coronet/tcp/hystart.hpp>
#include <optional>

namespace coronet::tcp {

class cubic final : public congestion_control {
public:
    static constexpr double c = 0.4;           // C (RFC 9438 5.1), segments per second cubed
    static constexpr double beta_cubic = 0.7;  // the multiplicative decrease (5.1)
    // 4.3: Reno's additive increase that, with beta_cubic, takes the same
    // share as AIMD(1, 0.5).
    static constexpr double alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic);

    // Ready for mss 536 (RFC 9293's default); init() sets the real one.
    cubic() { init(536); }

    const char* name() const noexcept override { return "cubic"; }
    // mss 0 is taken as 536; the RFC 6928 initial window, no W_max.
    void init(std::uint32_t mss) override;
    std::uint32_t window() const noexcept override { return s_.cwnd; }
    std::uint32_t ssthresh() const noexcept override { return s_.ssthresh; }
    // Outside recovery: HyStart++ slow start or the cubic window. In
    // recovery nothing grows (the sender's PRR paces the reduction); the ACK
    // that ends it sets cwnd to ssthresh.
    void on_ack(const ack_sample& ack) override;
    // 4.6: ssthresh = max(cwnd * beta_cubic, 2*SMSS), cwnd the same; W_max per 4.7.
    void on_loss(std::uint32_t flight_size, runtime::time_point now) override;
    // 4.8: ssthresh as on a loss, cwnd one segment, W_max forgotten.
    void on_timeout(std::uint32_t flight_size) override;
    // 4.9: the state before the last reduction, epoch included.
    void on_undo() override;
    // RFC 5681 4.1's restart window; the epoch moves on by the idle time.
    void on_idle(runtime::time_point now, runtime::duration idle, runtime::duration rto) override;
    congestion_info info() const override { return {.phase = phase()}; }

    // W_max (4.1) in segments: where the cubic function plateaus; 0 before
    // any congestion event.
    double w_max() const noexcept { return s_.w_max; }
    const hystart_pp& hystart() const noexcept { return hystart_; }

private:
    // One congestion-avoidance stage (4.2): from its first ACK to the next reduction.
    struct avoidance_epoch {
        runtime::time_point start;  // t = 0
        double k = 0;               // K, seconds: when W_cubic reaches W_max
        double w_est = 0;           // W_est (4.3), segments
        double credit = 0;          // bytes of growth earned but not yet a whole byte
    };
    // What a reduction changes and an undo (4.9) puts back.
    struct window_state {
        std::uint32_t cwnd = 0;
        std::uint32_t ssthresh = new_reno::infinite_ssthresh;
        double w_max = 0;       // W_max, segments
        double cwnd_prior = 0;  // cwnd_prior (4.6): cwnd when ssthresh was last set, segments
        std::optional<avoidance_epoch> epoch;
    };

    const char* phase() const noexcept;
    double segments(std::uint32_t bytes) const noexcept { return static_cast<double>(bytes) / mss_; }
    double w_cubic(double t) const noexcept;
    void grow(std::uint32_t n) noexcept;
    std::uint32_t slow_start(const ack_sample& ack, std::uint32_t bytes);
    void avoid(const ack_sample& ack, std::uint32_t bytes_acked);
    void begin_epoch(runtime::time_point now) noexcept;
    void set_ssthresh(std::uint32_t ssthresh) noexcept;
    void follow_mss(std::uint32_t mss) noexcept;

    std::uint32_t mss_ = 536;
    window_state s_;
    std::optional<window_state> prior_;  // before the last reduction (on_undo)
    hystart_pp hystart_;
    bool in_recovery_ = false;  // as the last ACK or loss said (info)
    // Retransmission timeouts since data was last acknowledged: the backoff
    // of one episode reduces (and saves the state to undo) only once.
    bool backing_off_ = false;
};

}  // namespace coronet::tcp
