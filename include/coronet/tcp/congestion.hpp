// Congestion control behind a small interface (window, on_ack, on_loss,
// on_timeout, on_undo, pacing rate), so that other algorithms can follow
// NewReno without touching input or output. The sender detects losses,
// keeps the recovery point and paces the reduction during recovery (PRR,
// RFC 6937); the algorithm owns cwnd and ssthresh. Sizes are in bytes.
#pragma once

#include <chrono>
#include <coronet/runtime/clock.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace coronet::tcp {

// A delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation-02,
// 3.3): the bytes delivered between the transmission of the most recently
// sent data this ACK delivered and this ACK, over the longer of the send
// and the ACK intervals.
struct rate_sample {
    std::uint64_t delivered = 0;        // bytes delivered in the interval
    runtime::duration interval{};       // zero: no sample from this ACK
    std::uint64_t prior_delivered = 0;  // C.delivered when that data was sent (round counting)
    // The sender ran out of data to send (or was limited by the peer's
    // window) while that data was in flight: the rate is a lower bound.
    bool app_limited = false;
    bool valid() const noexcept { return interval > runtime::duration::zero() && delivered > 0; }
    // Bytes per second; 0 when there is no sample.
    std::uint64_t bytes_per_second() const noexcept {
        if (!valid()) return 0;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count();
        return static_cast<std::uint64_t>(static_cast<double>(delivered) * 1e9 / static_cast<double>(ns));
    }
};

// What one ACK tells the congestion controller.
struct ack_sample {
    std::uint32_t bytes_acked = 0;  // newly delivered data: cumulatively acknowledged or SACKed (0: a duplicate ACK)
    // Bytes in flight before this ACK, or as the sender's last output left
    // them if more: the ACKs a loop turn brings are all handled before the
    // turn's output, and the window was as used for the last as for the
    // first (RFC 7661's test of an application-limited window).
    std::uint32_t flight_before = 0;
    std::uint32_t flight_after = 0;  // and after it
    // The bytes in the network after it (RFC 6675 pipe: the flight less what
    // is SACKed or marked lost, plus what is resent), which the window limits.
    std::uint32_t pipe = 0;
    runtime::time_point now{};
    bool in_recovery = false;  // the sender is repairing a loss (fast recovery)
    // This ACK covers the recovery point: the repair is complete. Where the
    // same ACK starts the next recovery, a controller that sets its own
    // window in recovery is not told of the end (it sees one recovery go on).
    // bytes_acked is what this ACK delivered; NewReno and CUBIC count it in
    // congestion avoidance from the new cwnd, as Linux does with SACK.
    bool ends_recovery = false;
    // Without SACK the window controllers count nothing of the ACK that
    // ends a recovery: Linux holds Recovery on an ACK of exactly the
    // recovery point, and past it counts only what the duplicates did not
    // stand for (at least a segment; coronet is the more cautious by that).
    bool counted_by_duplicates = false;
    // The repair goes on past this ACK.
    bool recovery_goes_on() const noexcept { return in_recovery && !ends_recovery; }
    // A window controller (NewReno, CUBIC) counts this ACK's delivery: not
    // while a repair goes on, and the ACK that ends one only with SACK. Nor
    // one that delivers only by SACK, unless the path reorders: RFC 5681
    // grows cwnd on ACKs of new data, and Linux (tcp_may_raise_cwnd) on
    // SACKed data once the reordering it has seen is deeper than
    // tcp_reordering (3 segments); coronet once RACK has seen any. Nor an
    // ACK the network overtook (below SND.UNA), which Linux takes only for
    // its SACK blocks.
    bool grows_window() const noexcept {
        if (below_una || (sack_only && !reordering)) return false;
        return ends_recovery ? !counted_by_duplicates : !in_recovery;
    }
    std::uint32_t lost = 0;       // bytes loss detection newly marked lost on this ACK
    std::uint64_t delivered = 0;  // C.delivered: bytes delivered on the connection so far, this ACK's included
    // The round-trip time this ACK measured (the most recently sent data it
    // delivered, never a resend: Karn), zero when none; the smallest such
    // sample so far; and the smoothed RTT (RFC 6298).
    runtime::duration rtt{}, min_rtt{}, srtt{};
    std::uint32_t mss = 0;  // the sender's segment size
    bool paced = false;     // the sender paces its output (a pacing rate applies)
    rate_sample rate;
    // SND.UNA did not move: what the ACK delivered (if anything) it SACKed.
    bool sack_only = false;
    // The ACK is below SND.UNA: newer ones overtook it.
    bool below_una = false;
    // Its timestamp is older than TS.Recent: a newer ACK came first, so the
    // round trip it measured includes its wait behind that one.
    bool overtaken = false;
    // RACK has seen the path reorder (RFC 8985 6.2 step 3), or a reduction
    // was undone as spurious; it stays so for the connection.
    bool reordering = false;
};

// What the connection table and --stats show of a controller.
struct congestion_info {
    const char* phase = "";       // e.g. "slow_start", "avoidance", "recovery"; BBR's "startup", "probe_bw"...
    std::uint64_t bandwidth = 0;  // the model's bottleneck bandwidth, bytes per second (BBR); 0: none
    runtime::duration min_rtt{};  // the model's minimum RTT (BBR); zero: none
};

class congestion_control {
public:
    virtual ~congestion_control() = default;
    // The name make_congestion_control knows it by.
    virtual const char* name() const noexcept = 0;
    // Starts over for a sender segment size mss: cwnd = the RFC 6928 initial
    // window min(10*mss, max(2*mss, 14600)); ssthresh "infinite" (0xffffffff).
    virtual void init(std::uint32_t mss) = 0;
    // After init: the SRTT known as the controller starts, when there is
    // one (the handshake's round trip, from an unretransmitted SYN or
    // SYN+ACK; none after a SYN cookie), or a later one for a controller
    // made later; zero after a handshake that took no time (the simulator).
    // A controller that paces may start from it.
    virtual void set_initial_rtt(runtime::duration) {}
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
    // New data goes out at `now` with nothing in flight, `idle` after the
    // last data segment (the application had nothing to send): Linux's
    // CA_EVENT_TX_START. Called once per such restart. RFC 5681 4.1's
    // restart window applies only when idle > rto.
    virtual void on_idle(runtime::time_point now, runtime::duration idle, runtime::duration rto) = 0;
    // True when window() holds in recovery too: the sender then does not
    // pace the reduction with PRR (BBR, as Linux's cong_control hook).
    virtual bool sets_recovery_window() const noexcept { return false; }
    virtual congestion_info info() const { return {}; }
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
    void on_idle(runtime::time_point now, runtime::duration idle, runtime::duration rto) override;
    congestion_info info() const override {
        return {.phase = in_recovery_ ? "recovery" : cwnd_ < ssthresh_ ? "slow_start" : "avoidance"};
    }

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
    bool in_recovery_ = false;                           // as the last ACK or loss said (info)
};

// The algorithms make_congestion_control knows.
enum class congestion_algorithm : std::uint8_t { newreno, cubic, bbr };
// The algorithm of a name (one of congestion_control_names(), or "reno" for
// newreno); nullopt for a name it does not know.
std::optional<congestion_algorithm> congestion_algorithm_named(std::string_view name) noexcept;
// A fresh controller of algorithm a.
std::unique_ptr<congestion_control> make_congestion_control(congestion_algorithm a);
// A fresh algorithm by name (one of congestion_control_names()); nullptr
// for a name it does not know.
std::unique_ptr<congestion_control> make_congestion_control(std::string_view name);
// The names make_congestion_control knows, comma-separated ("newreno, ...").
std::string_view congestion_control_names() noexcept;

}  // namespace coronet::tcp
