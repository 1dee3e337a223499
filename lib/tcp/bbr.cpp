// BBR v1 (draft-cardwell-iccrg-bbr-congestion-control-00, Linux's
// tcp_bbr.c): the path model, the state machine (STARTUP, DRAIN, PROBE_BW,
// PROBE_RTT), and the pacing rate and cwnd it yields. Section numbers are
// the draft's. Added from Linux, off the v1 text: the ACK-aggregation
// allowance in cwnd. Left out: Linux's long-term bandwidth sampling for
// token-bucket policers. It engages only at 20 % loss over 4-16 rounds; in
// the simulator a 20 Mbit/s policer (16 KiB to 1 MiB buckets) left BtlBw at
// the policed rate and 4 % resent, and it would not have engaged.
#include <algorithm>
#include <cmath>
#include <coronet/tcp/bbr.hpp>

namespace coronet::tcp {

namespace {

std::uint64_t nanoseconds(runtime::duration d) noexcept {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

}  // namespace

void windowed_max::update(std::uint64_t t, std::uint64_t v) noexcept {
    const sample s{t, v};
    // A new maximum, or nothing left in the window: start over from it.
    if (v >= s_[0].value || t - s_[2].tick > window_) {
        s_.fill(s);
        return;
    }
    if (v >= s_[1].value) {
        s_[2] = s_[1] = s;
    } else if (v >= s_[2].value) {
        s_[2] = s;
    }
    age(s);
}

// As time passes the reserves move up, and fresh reserves are taken from
// the second quarter and the second half of the window.
void windowed_max::age(sample s) noexcept {
    const std::uint64_t dt = s.tick - s_[0].tick;
    if (dt > window_) {
        s_ = {s_[1], s_[2], s};
        if (s.tick - s_[0].tick > window_) s_ = {s_[1], s_[2], s};
    } else if (s_[1].tick == s_[0].tick && dt > window_ / 4) {
        s_[2] = s_[1] = s;
    } else if (s_[2].tick == s_[1].tick && dt > window_ / 2) {
        s_[2] = s;
    }
}

// 4.3.1 and 4.2.1: STARTUP, and a pacing rate of high_gain times the initial
// window per nominal 1 ms RTT until an SRTT is known (set_initial_rtt).
bbr::bbr(std::uint32_t mss)
    : mss_(mss == 0 ? 536 : mss),
      cwnd_(new_reno::initial_window(mss_)),
      pacing_rate_(pacing_rate_for(std::uint64_t{cwnd_} * 1000, high_gain)) {}

double bbr::pacing_gain() const noexcept {
    switch (mode_) {
        case mode::startup:
            return high_gain;
        case mode::drain:
            return drain_gain;
        case mode::probe_bw:
            return pacing_gain_cycle[cycle_index_];
        case mode::probe_rtt:
            return 1;
    }
    return 1;
}

double bbr::cwnd_gain() const noexcept {
    switch (mode_) {
        case mode::startup:
        case mode::drain:
            return high_gain;  // DRAIN keeps the window: only the pacing rate drains
        case mode::probe_bw:
            return probe_bw_cwnd_gain;
        case mode::probe_rtt:
            return 1;
    }
    return 1;
}

congestion_info bbr::info() const {
    static constexpr const char* names[] = {"startup", "drain", "probe_bw", "probe_rtt"};
    return {.phase = names[static_cast<int>(mode_)],
            .bandwidth = bandwidth(),
            .min_rtt = min_rtt_.value_or(runtime::duration::zero())};
}

void bbr::on_ack(const ack_sample& ack) {
    if (ack.mss != 0) mss_ = ack.mss;
    update_model(ack);
    set_pacing_rate(ack);
    set_cwnd(ack);
    delivered_ = ack.delivered;
}

void bbr::update_model(const ack_sample& ack) {
    update_bandwidth(ack);
    update_aggregation(ack);
    update_cycle_phase(ack);
    check_filled_pipe(ack);
    check_drain(ack);
    update_min_rtt(ack);
}

// 4.1.1.3 and 4.1.1.5: a round trip ends when data sent after it began is
// delivered; the sample enters the max filter unless it is application-
// limited and below the maximum (4.1.1.4: it measured the application).
void bbr::update_bandwidth(const ack_sample& ack) {
    round_start_ = false;
    if (!ack.rate.valid()) return;
    if (ack.rate.prior_delivered >= next_round_delivered_) {
        next_round_delivered_ = ack.delivered;
        ++round_count_;
        round_start_ = true;
        packet_conservation_ = false;
    }
    const std::uint64_t bw = ack.rate.bytes_per_second();
    if (!app_limited(ack.rate) || bw >= bandwidth()) btlbw_.update(round_count_, bw);
}

// An epoch runs while ACKs deliver at least what BtlBw would have delivered
// since it began; the excess is how far ahead of the model the ACKs ran.
// An ACK that finds them behind starts a new epoch (so does an epoch so
// long that its count would say little). The excess is kept per window of
// rounds, the older window dropped as a new one starts.
void bbr::update_aggregation(const ack_sample& ack) {
    if (ack.bytes_acked == 0 || !ack.rate.valid()) return;
    if (round_start_ && ++extra_acked_rounds_ >= aggregation_window_rounds) {
        extra_acked_rounds_ = 0;
        extra_acked_window_ ^= 1;
        extra_acked_[extra_acked_window_] = 0;
    }
    constexpr std::uint64_t long_epoch = std::uint64_t{1} << 30;  // bytes
    const double since =
        static_cast<double>(nanoseconds(ack.now - epoch_start_)) / 1e9;  // an idle hour must not overflow
    auto expected = static_cast<std::uint64_t>(static_cast<double>(bandwidth()) * since);
    if (epoch_acked_ <= expected || epoch_acked_ + ack.bytes_acked >= long_epoch) {
        epoch_start_ = ack.now;
        epoch_acked_ = 0;
        expected = 0;
    }
    epoch_acked_ += ack.bytes_acked;
    const auto extra = static_cast<std::uint32_t>(std::min<std::uint64_t>(epoch_acked_ - expected, cwnd_));
    extra_acked_[extra_acked_window_] = std::max(extra_acked_[extra_acked_window_], extra);
}

std::uint32_t bbr::aggregation_allowance() const noexcept {
    if (!filled_pipe_) return 0;
    const std::uint64_t most = bandwidth() * nanoseconds(max_aggregation) / 1'000'000'000;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(std::max(extra_acked_[0], extra_acked_[1]), most));
}

// 4.3.5: Linux marks the connection application-limited for the data sent
// in PROBE_RTT, whose low rate says nothing of the path.
bool bbr::app_limited(const rate_sample& rs) const noexcept {
    return rs.app_limited || (rs.prior_delivered >= quiet_from_ && rs.prior_delivered < quiet_until_);
}

void bbr::update_cycle_phase(const ack_sample& ack) {
    if (mode_ == mode::probe_bw && is_next_cycle_phase(ack)) advance_cycle_phase(ack.now);
}

// 4.3.4.3: each phase lasts about RTprop; probing lasts until the flight
// reached 1.25 BDP (or losses say it will not fit), and draining ends early
// once the flight is down to one BDP.
bool bbr::is_next_cycle_phase(const ack_sample& ack) const {
    const bool full_length = ack.now - cycle_stamp_ > min_rtt_.value_or(runtime::duration::zero());
    // Linux's prior_in_flight: what was in the network before this ACK, that
    // is what is there now, what it delivered and what it found lost
    // (flight_before would count SACKed data too).
    const std::uint32_t prior_in_flight = ack.pipe + ack.bytes_acked + ack.lost;
    const double gain = pacing_gain();
    if (gain > 1) return full_length && (ack.lost > 0 || prior_in_flight >= inflight(gain));
    if (gain < 1) return full_length || prior_in_flight <= inflight(1);
    return full_length;
}

void bbr::advance_cycle_phase(runtime::time_point now) {
    cycle_index_ = (cycle_index_ + 1) % pacing_gain_cycle.size();
    cycle_stamp_ = now;
}

// 4.3.2.2: the pipe is full once three round trips in a row (not limited by
// the application) failed to raise BtlBw by 25 %.
void bbr::check_filled_pipe(const ack_sample& ack) {
    if (filled_pipe_ || !round_start_ || app_limited(ack.rate)) return;
    if (static_cast<double>(bandwidth()) >= static_cast<double>(full_bw_) * full_bandwidth_growth) {
        full_bw_ = bandwidth();
        full_bw_count_ = 0;
        return;
    }
    filled_pipe_ = ++full_bw_count_ >= full_bandwidth_rounds;
}

// 4.3.3: after STARTUP, drain its queue until the flight is down to one BDP.
void bbr::check_drain(const ack_sample& ack) {
    if (mode_ == mode::startup && filled_pipe_) {
        mode_ = mode::drain;
        ssthresh_ = inflight(1);
    }
    if (mode_ == mode::drain && ack.pipe <= inflight(1)) enter_probe_bw(ack.now);
}

// 4.3.4.2: start the cycle at a random phase other than the draining one,
// so that flows sharing a bottleneck probe at different times. The LCG is
// stirred with the time, which is what differs between connections and
// what the simulator reproduces.
void bbr::enter_probe_bw(runtime::time_point now) {
    mode_ = mode::probe_bw;
    random_ = random_ * 6364136223846793005ull + 1442695040888963407ull + nanoseconds(now.time_since_epoch());
    const std::size_t phases = pacing_gain_cycle.size();
    cycle_index_ = phases - 1 - static_cast<std::size_t>((random_ >> 33) % (phases - 1));
    advance_cycle_phase(now);
}

// 4.1.2.3: RTprop is the smallest RTT sample unless ten seconds passed
// without a smaller one; then any sample replaces it, and PROBE_RTT begins.
void bbr::update_min_rtt(const ack_sample& ack) {
    const bool expired = min_rtt_ && ack.now > min_rtt_stamp_ + min_rtt_window;
    if (ack.rtt > runtime::duration::zero() && (!min_rtt_ || ack.rtt < *min_rtt_ || expired)) {
        min_rtt_ = ack.rtt;
        min_rtt_stamp_ = ack.now;
    }
    if (expired && !idle_restart_ && mode_ != mode::probe_rtt) enter_probe_rtt(ack.delivered);
    if (mode_ == mode::probe_rtt) handle_probe_rtt(ack);
    if (ack.rate.delivered > 0) idle_restart_ = false;
}

void bbr::enter_probe_rtt(std::uint64_t delivered) {
    mode_ = mode::probe_rtt;
    save_cwnd();
    probe_rtt_done_stamp_.reset();
    quiet_from_ = delivered;
}

// 4.3.5: once the flight is down to the minimum window, hold it there for
// 200 ms and at least one round trip.
void bbr::handle_probe_rtt(const ack_sample& ack) {
    quiet_until_ = ack.delivered + ack.pipe + 1;
    if (!probe_rtt_done_stamp_ && ack.pipe <= min_cwnd()) {
        probe_rtt_done_stamp_ = ack.now + probe_rtt_duration;
        probe_rtt_round_done_ = false;
        next_round_delivered_ = ack.delivered;
    } else if (probe_rtt_done_stamp_) {
        if (round_start_) probe_rtt_round_done_ = true;
        if (probe_rtt_round_done_) check_probe_rtt_done(ack.now);
    }
}

// Leaving PROBE_RTT: the window before it, and STARTUP again unless the
// pipe had been filled.
void bbr::check_probe_rtt_done(runtime::time_point now) {
    if (!probe_rtt_done_stamp_ || now <= *probe_rtt_done_stamp_) return;
    min_rtt_stamp_ = now;
    cwnd_ = std::max(cwnd_, prior_cwnd_);
    if (filled_pipe_) {
        enter_probe_bw(now);
    } else {
        mode_ = mode::startup;
    }
}

// 4.2.1: pacing_gain * BtlBw; before the pipe is full the rate only rises,
// so that a low early sample does not slow STARTUP.
void bbr::set_pacing_rate(const ack_sample& ack) {
    pace_from_first_rtt(ack.srtt);
    const std::uint64_t rate = pacing_rate_for(bandwidth(), pacing_gain());
    if (filled_pipe_ || rate > pacing_rate_) pacing_rate_ = rate;
}

// The window over the first SRTT known (the handshake's, or the first ACK's).
void bbr::pace_from_first_rtt(runtime::duration srtt) noexcept {
    if (has_seen_rtt_ || srtt <= runtime::duration::zero()) return;
    has_seen_rtt_ = true;
    pacing_rate_ = pacing_rate_for(std::uint64_t{cwnd_} * 1'000'000'000 / nanoseconds(srtt), high_gain);
}

std::uint64_t bbr::pacing_rate_for(std::uint64_t bandwidth, double gain) const noexcept {
    return static_cast<std::uint64_t>(static_cast<double>(bandwidth) * gain * pacing_margin);
}

// 4.2.3.6 and 4.2.3.5: the window moves towards cwnd_gain * BDP on ACKs
// that deliver data; PROBE_RTT caps it at the minimum on every ACK.
void bbr::set_cwnd(const ack_sample& ack) {
    if (ack.bytes_acked > 0) cwnd_ = std::min(next_cwnd(ack), new_reno::max_cwnd);
    if (mode_ == mode::probe_rtt) cwnd_ = std::min(cwnd_, min_cwnd());
}

std::uint32_t bbr::next_cwnd(const ack_sample& ack) {
    // What was lost left the network: an ACK releases at most what it
    // delivered, plus the slow growth below.
    std::uint32_t cwnd = std::max(cwnd_ > ack.lost ? cwnd_ - ack.lost : 0, mss_);
    if (recover_or_restore(ack, cwnd)) return std::max(cwnd, ack.pipe + ack.bytes_acked);
    const std::uint32_t target = inflight(cwnd_gain(), aggregation_allowance());
    // Until the pipe is full the window only grows (by what was delivered,
    // as slow start), so that STARTUP is not held back by an early estimate.
    if (filled_pipe_) {
        cwnd = std::min(cwnd + ack.bytes_acked, target);
    } else if (cwnd < target || ack.delivered < new_reno::initial_window(mss_)) {
        cwnd += ack.bytes_acked;
    }
    return std::max(cwnd, min_cwnd());
}

// 4.2.3.4: the first round trip of recovery conserves packets (cwnd = what
// is in flight plus what this ACK delivered); recovery's end restores the
// window from before it. True while conserving.
bool bbr::recover_or_restore(const ack_sample& ack, std::uint32_t& cwnd) {
    const loss_state state = loss_state_of(ack);
    if (state == loss_state::recovery && prev_state_ != loss_state::recovery) {
        packet_conservation_ = true;
        next_round_delivered_ = ack.delivered;  // the round starts now
        cwnd = ack.pipe + ack.bytes_acked;      // cut what was unused (application limits, bursts)
    } else if (prev_state_ != loss_state::open && state == loss_state::open) {
        cwnd = std::max(cwnd, prior_cwnd_);
        packet_conservation_ = false;
    }
    prev_state_ = state;
    return packet_conservation_;
}

// Where loss recovery stands at this ACK. The ACK that ends fast recovery
// counts as open (Linux has left the Recovery state when BBR sees it); a
// timeout's repair ends when as many bytes as were in flight then have been
// delivered since - Linux waits for the cumulative ACK to pass them, which
// these samples do not carry, so this ends later by what the peer had SACKed.
bbr::loss_state bbr::loss_state_of(const ack_sample& ack) const noexcept {
    if (ack.recovery_goes_on()) return loss_state::recovery;
    if (prev_state_ == loss_state::timeout && ack.delivered < timeout_end_delivered_) return loss_state::timeout;
    return loss_state::open;
}

// Linux's bbr_save_cwnd: the window before a loss or PROBE_RTT cut it; a
// cut within a cut keeps the larger of the two.
void bbr::save_cwnd() noexcept {
    if (prev_state_ == loss_state::open && mode_ != mode::probe_rtt) {
        prior_cwnd_ = cwnd_;
    } else {
        prior_cwnd_ = std::max(prior_cwnd_, cwnd_);
    }
}

void bbr::on_loss(std::uint32_t, runtime::time_point) { save_cwnd(); }

void bbr::on_timeout(std::uint32_t flight_size) {
    save_cwnd();
    prev_state_ = loss_state::timeout;
    timeout_end_delivered_ = delivered_ + flight_size;
    packet_conservation_ = false;
    full_bw_ = 0;  // Linux: the growth check starts over from here
    cwnd_ = mss_;  // RFC 5681 3.1's loss window
}

void bbr::on_undo() {
    cwnd_ = std::max(cwnd_, prior_cwnd_);
    prev_state_ = loss_state::open;
    packet_conservation_ = false;
    full_bw_ = 0;  // the slowdown was spurious: measure the growth afresh
    full_bw_count_ = 0;
}

// 4.3.4.4, as Linux's bbr_cwnd_event on the first send after an
// application-limited pause: no PROBE_RTT for the stale RTprop until the
// restart's data is delivered, a fresh ACK-aggregation epoch, the pacing
// rate at BtlBw in PROBE_BW, and a PROBE_RTT that ran out meanwhile ends.
void bbr::on_idle(runtime::time_point now, runtime::duration, runtime::duration) {
    idle_restart_ = true;
    epoch_start_ = now;
    epoch_acked_ = 0;
    if (mode_ == mode::probe_bw) pacing_rate_ = pacing_rate_for(bandwidth(), 1);
    if (mode_ == mode::probe_rtt) check_probe_rtt_done(now);
}

// 4.2.3.2: gain * BDP (the initial window while RTprop is unknown), plus
// the ACK-aggregation allowance when cwnd asks, plus room for three offload
// frames, rounded up to an even number of segments
// (Linux: fewer delayed ACKs), and two segments more in the probing phase
// so that it raises the flight above the BDP even when the BDP is small.
std::uint32_t bbr::inflight(double gain, std::uint32_t allowance) const noexcept {
    if (!min_rtt_) return new_reno::initial_window(mss_);
    const double bdp =
        static_cast<double>(bandwidth()) * static_cast<double>(nanoseconds(*min_rtt_)) / 1e9 * gain + allowance;
    const double max_segments = static_cast<double>(new_reno::max_cwnd / mss_);
    auto segments = static_cast<std::uint32_t>(std::min(std::ceil(bdp / mss_), max_segments));
    segments += 3 * tso_segments();
    segments = (segments + 1) & ~1u;
    if (mode_ == mode::probe_bw && cycle_index_ == 0) segments += 2;
    return std::min(segments * mss_, new_reno::max_cwnd);
}

// Linux's bbr_tso_segs_goal: an offload frame carries about 1 ms of data
// at the pacing rate, at most 64 KiB; at least two segments (one below
// 1.2 Mbit/s).
std::uint32_t bbr::tso_segments() const noexcept {
    constexpr std::uint64_t max_frame = 64 * 1024, slow_rate = 1'200'000 / 8;
    const std::uint64_t bytes = std::min(pacing_rate_ >> 10, max_frame);
    const std::uint64_t least = pacing_rate_ < slow_rate ? 1 : 2;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(std::max(bytes / mss_, least), 127));
}

}  // namespace coronet::tcp
