// CUBIC (RFC 9438): HyStart++ slow start, the cubic window with its
// Reno-friendly floor in congestion avoidance, the beta_cubic reduction
// (paced by the sender's PRR) with fast convergence, and its undo.
#include <algorithm>
#include <cmath>
#include <coronet/tcp/cubic.hpp>

namespace coronet::tcp {

namespace {
double seconds(runtime::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

void cubic::init(std::uint32_t mss) {
    mss_ = mss == 0 ? 536 : mss;
    s_ = {.cwnd = new_reno::initial_window(mss_)};
    prior_.reset();
    hystart_.restart();
    in_recovery_ = backing_off_ = false;
}

const char* cubic::phase() const noexcept {
    if (in_recovery_) return "recovery";
    if (s_.cwnd >= s_.ssthresh) return "avoidance";
    return hystart_.in_css() && s_.ssthresh == new_reno::infinite_ssthresh ? "conservative_slow_start" : "slow_start";
}

// 4.2 Figure 1: W_cubic(t) = C*(t-K)^3 + W_max, t seconds into the epoch.
double cubic::w_cubic(double t) const noexcept {
    const double d = t - s_.epoch->k;
    return c * d * d * d + s_.w_max;
}

// cwnd += n, at most new_reno::max_cwnd.
void cubic::grow(std::uint32_t n) noexcept {
    s_.cwnd = static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{s_.cwnd} + n, new_reno::max_cwnd));
}

// The sender's segment, as the path MTU moves it (NewReno follows it too).
// W_max and cwnd_prior count segments: the same bytes are more of the
// smaller ones. The epoch starts again from the window as it stands, its
// K and W_est in the new segments.
void cubic::follow_mss(std::uint32_t mss) noexcept {
    if (mss == 0 || mss == mss_) return;
    const double f = static_cast<double>(mss_) / mss;
    const auto rescale = [f](window_state& w) {
        w.w_max *= f;
        w.cwnd_prior *= f;
        w.epoch.reset();
    };
    rescale(s_);
    if (prior_) rescale(*prior_);
    mss_ = mss;
}

void cubic::on_ack(const ack_sample& ack) {
    follow_mss(ack.mss);
    in_recovery_ = ack.recovery_goes_on();
    if (ack.bytes_acked > 0) backing_off_ = false;
    // What the ACK that ends a recovery delivered counts in congestion
    // avoidance, and the epoch begins with it, as in Linux (see
    // new_reno::on_ack); not without SACK.
    if (ack.ends_recovery) s_.cwnd = s_.ssthresh;  // RFC 6937: PRR brought the flight down to it
    const bool grows = ack.grows_window();
    // HyStart++ hears every ACK outside recovery, as Linux's hystart_update
    // (from pkts_acked, whatever tcp_may_raise_cwnd says): an ACK that only
    // SACKs is still a round trip measured and a member of an ACK train.
    const bool heard = grows || (!ack.in_recovery && !ack.below_una);
    if (!heard) return;
    std::uint32_t bytes = grows ? ack.bytes_acked : 0;
    if (s_.cwnd < s_.ssthresh) bytes = slow_start(ack, bytes);
    // RFC 7661: a window the sender does not use is not validated by its
    // ACKs; grow only while at least half of it was in flight.
    if (bytes > 0 && s_.cwnd >= s_.ssthresh && ack.flight_before >= s_.cwnd / 2) avoid(ack, bytes);
}

// Slow start with byte counting (RFC 3465 without the limit L, as Linux;
// RFC 9406 too takes L as infinite when pacing), HyStart++ in the first
// one (RFC 9406 4.2: later slow starts stop at the ssthresh a congestion
// event set). bytes: what of the ACK may grow the window. Returns what of
// it is left for congestion avoidance.
std::uint32_t cubic::slow_start(const ack_sample& ack, std::uint32_t bytes) {
    if (s_.ssthresh == new_reno::infinite_ssthresh) {
        switch (hystart_.on_ack(ack, s_.cwnd)) {
            case hystart_pp::verdict::grow:
                break;
            case hystart_pp::verdict::grow_conservative:
                bytes /= hystart_pp::css_growth_divisor;
                break;
            case hystart_pp::verdict::exit:
                // RFC 9438 4.10: no loss, so no W_max; the epoch will take cwnd for it.
                set_ssthresh(s_.cwnd);
                s_.w_max = 0;
                return 0;
        }
    }
    if (ack.flight_before < s_.cwnd / 2) return 0;  // RFC 7661, as in avoidance
    const std::uint32_t inc = std::min(bytes, s_.ssthresh - s_.cwnd);
    grow(inc);
    return s_.cwnd < s_.ssthresh ? 0 : bytes - inc;
}

// 4.2: the epoch begins with the first ACK of congestion avoidance. When
// cwnd starts below W_max, K is when the function climbs back to it;
// otherwise (no W_max yet, after a timeout or HyStart++; 4.8, 4.10) W_max is
// cwnd and K is 0.
void cubic::begin_epoch(runtime::time_point now) noexcept {
    const double cwnd_epoch = segments(s_.cwnd);
    double k = 0;
    if (s_.w_max > cwnd_epoch)
        k = std::cbrt((s_.w_max - cwnd_epoch) / c);
    else
        s_.w_max = cwnd_epoch;
    s_.epoch = avoidance_epoch{.start = now, .k = k, .w_est = cwnd_epoch};
}

// 4.3-4.5 for one ACK of bytes_acked in congestion avoidance.
void cubic::avoid(const ack_sample& ack, std::uint32_t bytes_acked) {
    if (!s_.epoch) begin_epoch(ack.now);
    avoidance_epoch& e = *s_.epoch;
    const double cwnd = segments(s_.cwnd);
    const double acked = segments(bytes_acked);
    // 4.3: W_est grows as Reno's window would, by alpha_cubic per window
    // acknowledged; by 1 (Reno's own) once it passes the window of the last
    // congestion event.
    e.w_est += (e.w_est >= s_.cwnd_prior ? 1.0 : alpha_cubic) * acked / cwnd;
    const double t = seconds(ack.now - e.start);
    if (w_cubic(t) < e.w_est) {
        // The Reno-friendly region: cwnd = W_est (never lower than it is:
        // the cubic region may have taken it past W_est).
        const double w_est_bytes = e.w_est * mss_;
        if (w_est_bytes > s_.cwnd)
            grow(static_cast<std::uint32_t>(std::min<double>(w_est_bytes - s_.cwnd, new_reno::max_cwnd)));
        return;
    }
    // 4.4 / 4.5: towards W_cubic one RTT ahead, within [cwnd, 1.5 cwnd], by
    // (target - cwnd) / cwnd per segment acknowledged.
    const runtime::duration rtt = ack.srtt > runtime::duration::zero() ? ack.srtt : ack.min_rtt;
    const double target = std::clamp(w_cubic(t + seconds(rtt)), cwnd, 1.5 * cwnd);
    e.credit += (target - cwnd) * acked / cwnd * mss_;
    const double whole = std::floor(e.credit);
    e.credit -= whole;
    grow(static_cast<std::uint32_t>(whole));
}

// ssthresh set, and cwnd_prior (4.6) with it.
void cubic::set_ssthresh(std::uint32_t ssthresh) noexcept {
    s_.cwnd_prior = segments(s_.cwnd);
    s_.ssthresh = ssthresh;
}

void cubic::on_loss(std::uint32_t, runtime::time_point) {
    prior_ = s_;
    // 4.7 fast convergence: a loss before the window regained the last
    // W_max means the flow's share fell (a new flow arrived); it releases
    // bandwidth by plateauing lower.
    const double cwnd = segments(s_.cwnd);
    s_.w_max = cwnd < s_.w_max ? cwnd * (1 + beta_cubic) / 2 : cwnd;
    // 4.6 with cwnd, not the flight: RFC 7661's check keeps the two close.
    set_ssthresh(std::max(static_cast<std::uint32_t>(s_.cwnd * beta_cubic), 2 * mss_));
    s_.cwnd = s_.ssthresh;
    s_.epoch.reset();
    // A recovery, until an ACK says otherwise: the ACK that ends one and
    // starts the next was heard as the end before this.
    in_recovery_ = true;
}

void cubic::on_timeout(std::uint32_t) {
    if (!backing_off_) {
        // The first timeout of a backoff: a later one says nothing new of the path.
        prior_ = s_;
        set_ssthresh(std::max(static_cast<std::uint32_t>(s_.cwnd * beta_cubic), 2 * mss_));
        s_.w_max = 0;  // 4.8: the next epoch starts with K = 0 and W_max = its cwnd
        backing_off_ = true;
    }
    s_.cwnd = mss_;  // RFC 5681 3.1: the loss window
    s_.epoch.reset();
    in_recovery_ = false;  // the sender ends it
}

// 4.9: the congestion event was spurious (RFC 3522, RFC 4015): cwnd,
// ssthresh, W_max, cwnd_prior and the epoch (its start, K, W_est) as they
// were, so that the function continues as if it had not happened (the
// epoch begins again if the segment changed meanwhile: follow_mss).
void cubic::on_undo() {
    if (!prior_) return;
    s_ = *prior_;
    prior_.reset();
    backing_off_ = in_recovery_ = false;  // the sender ends recovery too
}

// 5.8: the time the flow was application-limited is not time of the epoch,
// or W_cubic would jump by it (as Linux's cubictcp_cwnd_event, on every
// restart, shifting the start no later than now).
void cubic::on_idle(runtime::time_point now, runtime::duration idle, runtime::duration rto) {
    if (s_.epoch) s_.epoch->start = std::min(s_.epoch->start + idle, now);
    if (idle <= rto) return;
    // RFC 5681 4.1: RW = min(IW, cwnd); the Reno flow W_est models would
    // restart from RW too.
    s_.cwnd = std::min(s_.cwnd, new_reno::initial_window(mss_));
    if (s_.epoch) s_.epoch->w_est = std::min(s_.epoch->w_est, segments(s_.cwnd));
}

}  // namespace coronet::tcp
