// BBR congestion control, version 1 (draft-cardwell-iccrg-bbr-congestion-control-00,
// as Linux's tcp_bbr.c runs it): a model of the path - the bottleneck
// bandwidth and the round-trip propagation time - measured from delivery-rate
// samples, and a pacing rate and window derived from it, rather than a
// window that loss alone shrinks. Version 1 because it is what the kernel
// here (Linux 6.x mainline) runs as "bbr", and coronet's controllers are
// compared with the kernel's of the same name.
#pragma once

#include <array>
#include <coronet/tcp/congestion.hpp>
#include <cstdint>
#include <optional>

namespace coronet::tcp {

// Kathleen Nichols' windowed max filter, as Linux's lib/minmax.c keeps it:
// the largest value sampled within the last `window` ticks (BBR counts round
// trips), with the best later samples kept in reserve so that an expired
// maximum gives way to the largest one still in the window.
class windowed_max {
public:
    explicit windowed_max(std::uint64_t window) noexcept : window_(window) {}
    // The maximum; 0 before any sample.
    std::uint64_t get() const noexcept { return s_[0].value; }
    // A sample v at tick t (t never goes back).
    void update(std::uint64_t t, std::uint64_t v) noexcept;

private:
    struct sample {
        std::uint64_t tick = 0, value = 0;
    };
    void age(sample s) noexcept;

    std::uint64_t window_;
    std::array<sample, 3> s_{};  // the best, the best after it, the best after that
};

class bbr final : public congestion_control {
public:
    enum class mode { startup, drain, probe_bw, probe_rtt };

    // 4.3.2: 2/ln(2), the smallest gain that doubles the delivery rate each round trip.
    static constexpr double high_gain = 2.885;
    // 4.3.3: the inverse, to drain in one round trip the queue STARTUP built.
    static constexpr double drain_gain = 1 / high_gain;
    // 4.3.4: in PROBE_BW cwnd allows twice the BDP in flight (delayed and stretched ACKs).
    static constexpr double probe_bw_cwnd_gain = 2;
    // 4.3.4.3: one phase probing for more bandwidth, one draining what it queued, six cruising.
    static constexpr std::array<double, 8> pacing_gain_cycle{1.25, 0.75, 1, 1, 1, 1, 1, 1};
    // 4.1.1.2: BtlBw is the largest delivery rate of the last ten round trips
    // (a gain cycle and two more, so that a probe's sample outlives its cycle).
    static constexpr std::uint64_t bandwidth_window_rounds = pacing_gain_cycle.size() + 2;
    // 4.1.2.2 and 4.3.5: RTprop is the smallest RTT of the last ten seconds;
    // when it goes that long without a new one, PROBE_RTT drains the queue for
    // at least 200 ms and one round trip to measure it again.
    static constexpr runtime::duration min_rtt_window = std::chrono::seconds(10);
    static constexpr runtime::duration probe_rtt_duration = std::chrono::milliseconds(200);
    // 4.3.2.2: the pipe is full when BtlBw grew less than 25 % in three rounds.
    static constexpr double full_bandwidth_growth = 1.25;
    static constexpr unsigned full_bandwidth_rounds = 3;
    // 4.2.1: pace 1 % below the rate, as Linux, so that the bottleneck queue drains.
    static constexpr double pacing_margin = 0.99;
    // 4.2.3.3: the window never drops below four segments (delayed ACKs need two in flight).
    static constexpr std::uint32_t min_cwnd_segments = 4;
    // Linux's ACK-aggregation allowance (tcp_bbr.c, 2019, not in the v1
    // draft): once the pipe is full, cwnd also holds the most data that ACKs
    // delivered beyond BtlBw's expectation within one aggregation epoch,
    // the largest of the last five to ten round trips, at most 100 ms of
    // BtlBw. Without it, where ACKs come in bursts (delayed and stretch
    // ACKs, receive offload on a LAN, a relay's batches) a window of 2 BDP
    // runs out before the burst's ACK arrives and the sender idles.
    static constexpr unsigned aggregation_window_rounds = 5;
    static constexpr runtime::duration max_aggregation = std::chrono::milliseconds(100);

    // Ready for mss 536 (RFC 9293's default); init() sets the real one.
    bbr() : bbr(536) {}

    const char* name() const noexcept override { return "bbr"; }
    // Starts over (4.3.1): STARTUP, no model, the RFC 6928 initial window.
    void init(std::uint32_t mss) override { *this = bbr(mss); }
    // 4.2.1, as Linux's bbr_init_pacing_rate_from_rtt: the first round
    // trip is paced at high_gain times the initial window per handshake RTT.
    void set_initial_rtt(runtime::duration srtt) override { pace_from_first_rtt(srtt); }
    std::uint32_t window() const noexcept override { return cwnd_; }
    // "Infinite" until DRAIN sets it to the estimated BDP, as Linux reports it.
    std::uint32_t ssthresh() const noexcept override { return ssthresh_; }
    std::uint64_t pacing_rate() const noexcept override { return pacing_rate_; }
    // Linux's bbr_main: the model, then the pacing rate and the window.
    void on_ack(const ack_sample& ack) override;
    // Recovery begins: cwnd is saved; the next ACK starts packet conservation.
    void on_loss(std::uint32_t flight_size, runtime::time_point now) override;
    // cwnd is saved and drops to one segment, to grow by what is delivered;
    // the saved one returns once as much as was in flight has been delivered.
    void on_timeout(std::uint32_t flight_size) override;
    // The saved cwnd returns, and filled-pipe detection starts over.
    void on_undo() override;
    // 4.3.4.4: restarting from idle paces at BtlBw; cwnd is left as it is.
    void on_idle(runtime::time_point now, runtime::duration idle, runtime::duration rto) override;
    bool sets_recovery_window() const noexcept override { return true; }
    congestion_info info() const override;

    // The state machine's state (4.3).
    mode state() const noexcept { return mode_; }
    // The gains the state applies to BtlBw for the pacing rate and to the BDP for cwnd.
    double pacing_gain() const noexcept;
    double cwnd_gain() const noexcept;
    // PROBE_BW's phase: an index into pacing_gain_cycle.
    std::size_t cycle_index() const noexcept { return cycle_index_; }
    // BBR.BtlBw, bytes per second; 0 before the first sample.
    std::uint64_t bandwidth() const noexcept { return btlbw_.get(); }
    // BBR.RTprop; nullopt before the first RTT sample.
    std::optional<runtime::duration> min_rtt() const noexcept { return min_rtt_; }
    // Round trips counted so far (4.1.1.3).
    std::uint64_t rounds() const noexcept { return round_count_; }
    // STARTUP found the bottleneck's bandwidth (4.3.2.2); it stays found until init().
    bool filled_pipe() const noexcept { return filled_pipe_; }
    // The ACK-aggregation allowance cwnd adds to its target now, bytes.
    std::uint32_t aggregation_allowance() const noexcept;

private:
    // What the loss-recovery machinery is doing, as Linux's icsk_ca_state
    // tells tcp_bbr.c: nothing, fast recovery, or repair after a timeout.
    enum class loss_state { open, recovery, timeout };

    explicit bbr(std::uint32_t mss);

    void update_model(const ack_sample& ack);
    void update_bandwidth(const ack_sample& ack);
    void update_aggregation(const ack_sample& ack);
    void update_cycle_phase(const ack_sample& ack);
    bool is_next_cycle_phase(const ack_sample& ack) const;
    void advance_cycle_phase(runtime::time_point now);
    void check_filled_pipe(const ack_sample& ack);
    void check_drain(const ack_sample& ack);
    void update_min_rtt(const ack_sample& ack);
    void handle_probe_rtt(const ack_sample& ack);
    void check_probe_rtt_done(runtime::time_point now);
    void enter_probe_bw(runtime::time_point now);
    void enter_probe_rtt(std::uint64_t delivered);
    bool app_limited(const rate_sample& rs) const noexcept;

    void set_pacing_rate(const ack_sample& ack);
    void pace_from_first_rtt(runtime::duration srtt) noexcept;
    std::uint64_t pacing_rate_for(std::uint64_t bandwidth, double gain) const noexcept;

    void set_cwnd(const ack_sample& ack);
    std::uint32_t next_cwnd(const ack_sample& ack);
    bool recover_or_restore(const ack_sample& ack, std::uint32_t& cwnd);
    loss_state loss_state_of(const ack_sample& ack) const noexcept;
    void save_cwnd() noexcept;
    std::uint32_t inflight(double gain, std::uint32_t allowance = 0) const noexcept;
    std::uint32_t tso_segments() const noexcept;
    std::uint32_t min_cwnd() const noexcept { return min_cwnd_segments * mss_; }

    std::uint32_t mss_;
    std::uint32_t cwnd_;
    std::uint64_t pacing_rate_;
    std::uint32_t ssthresh_ = 0xffffffff;
    mode mode_ = mode::startup;

    // The model (4.1): BtlBw over round trips, RTprop and when it was measured.
    windowed_max btlbw_{bandwidth_window_rounds};
    std::optional<runtime::duration> min_rtt_;
    runtime::time_point min_rtt_stamp_{};
    bool has_seen_rtt_ = false;  // the pacing rate was set from an SRTT

    // Round counting (4.1.1.3): a round ends when data sent after its start is delivered.
    std::uint64_t round_count_ = 0;
    std::uint64_t next_round_delivered_ = 0;
    bool round_start_ = false;

    // STARTUP's end (4.3.2.2).
    bool filled_pipe_ = false;
    std::uint64_t full_bw_ = 0;
    unsigned full_bw_count_ = 0;

    // ACK aggregation: the epoch began at `epoch_start_` and ACKs have
    // delivered `epoch_acked_` since; the largest excess of two windows of
    // aggregation_window_rounds round trips, the current one `window_`.
    runtime::time_point epoch_start_{};
    std::uint64_t epoch_acked_ = 0;
    std::array<std::uint32_t, 2> extra_acked_{};
    std::uint8_t extra_acked_window_ = 0;
    std::uint8_t extra_acked_rounds_ = 0;

    // PROBE_BW's gain cycle (4.3.4.3); the LCG state picks where it starts.
    std::size_t cycle_index_ = 0;
    runtime::time_point cycle_stamp_{};
    std::uint64_t random_ = 0;

    // PROBE_RTT (4.3.5).
    std::optional<runtime::time_point> probe_rtt_done_stamp_;
    bool probe_rtt_round_done_ = false;
    bool idle_restart_ = false;
    // What was sent while PROBE_RTT held the flight down, as C.delivered at
    // sending [from, until): its rate samples are application-limited.
    std::uint64_t quiet_from_ = 0, quiet_until_ = 0;

    // Loss recovery (4.2.3.4).
    loss_state prev_state_ = loss_state::open;
    bool packet_conservation_ = false;
    std::uint32_t prior_cwnd_ = 0;
    std::uint64_t delivered_ = 0;              // C.delivered at the last ACK
    std::uint64_t timeout_end_delivered_ = 0;  // after a timeout: C.delivered once its flight is delivered
};

}  // namespace coronet::tcp
