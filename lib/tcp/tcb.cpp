// The TCB's plumbing: construction, opens, the event mechanism that drives
// the state coroutines, timers, and the application side of the buffers.
#include <coronet/tcp/layer.hpp>
#include <coronet/tcp/tcb.hpp>

#include <spdlog/spdlog.h>

namespace coronet::tcp {


tcb::tcb(tcp_layer& layer, four_tuple id, std::pair<std::size_t, std::size_t> buffers)
    : layer_(layer),
      ex_(layer.executor()),
      cfg_(layer.config()),
      id_(id),
      sndbuf_(buffers.first, layer.buffers()),
      rcvbuf_(buffers.second, layer.buffers()),
      ooo_(cfg_.max_ooo_ranges),
      nagle_(cfg_.nagle),
      rtt_(cfg_.rto),
      cc_(make_congestion_control(cfg_.congestion)) {
    if (!cc_) cc_ = make_congestion_control("newreno");
    timer_.on_expire = &timer_fired;
    timer_.context = this;
    const std::uint16_t mtu = layer.host().mtu();
    rcv_mss_ = static_cast<std::uint16_t>(mtu - 40);
    // The scale follows the configured buffer, not this connection's share
    // of it: a SYN cookie must predict it from the configuration alone.
    if (cfg_.window_scaling) rcv_wscale_ = window_scale_for(cfg_.receive_buffer);
    ts_offset_ = timestamp_offset(id);
    keepalive_ = cfg_.keepalive.enabled;
    last_heard_ = ex_.now();
}

tcb::~tcb() { ex_.timers().erase(timer_); }

// Resumes the state coroutine with w; it runs until it waits again.
void tcb::resume(wake w) {
    if (!waiter_) {
        if (w == wake::app) app_pending_ = true;  // picked up by the next wait
        return;
    }
    wake_ = w;
    std::exchange(waiter_, {}).resume();
}

void tcb::timer_fired(runtime::timer_node& n) { static_cast<tcb*>(n.context)->resume(wake::timer); }

void tcb::arm_timer() {
    const auto next = std::min({rto_at_, persist_at_, delack_at_, state_at_, tx_retry_at_, keepalive_at_});
    if (timer_.queued()) {
        if (timer_.deadline == next) return;
        ex_.timers().erase(timer_);
    }
    if (next == never) return;
    timer_.deadline = next;
    ex_.timers().insert(timer_);
}

void tcb::open_active(state from) {
    snd_una_ = snd_nxt_ = snd_max_ = recover_ = iss_;
    ex_.start(life(shared_from_this(), state::syn_sent, from), "tcp");
}

void tcb::open_passive(const wire::tcp_view& syn, listener_state& parent) {
    parent_ = parent.weak_from_this();
    passive_ = true;
    irs_ = syn.seq();
    rcv_nxt_ = rcv_adv_ = irs_ + 1;  // rcv_adv_ too: left at 0 it reads as ahead of a high ISN
    snd_una_ = snd_nxt_ = snd_max_ = recover_ = iss_;
    take_options(syn.options(), true);
    snd_wnd_ = syn.window();  // never scaled on a SYN (RFC 7323 2.2)
    snd_wl1_ = syn.seq();
    ex_.start(life(shared_from_this(), state::syn_rcvd, state::listen), "tcp");
}

void tcb::open_from_cookie(const wire::tcp_view& ack, listener_state& parent, std::uint16_t mss,
                           std::optional<std::uint8_t> peer_wscale) {
    parent_ = parent.weak_from_this();
    passive_ = true;
    irs_ = ack.seq() - 1;
    rcv_nxt_ = rcv_adv_ = ack.seq();
    snd_una_ = iss_ + 1;
    snd_nxt_ = snd_max_ = recover_ = snd_una_;
    // What the SYN told is gone but for the cookie's MSS and, when the peer
    // uses timestamps, its window scale echoed in our timestamp.
    wire::tcp_options o;
    o.mss = mss;
    o.window_scale = peer_wscale;
    if (const auto& ts = ack.options().timestamp) o.timestamp = {{ts->first, 0}};
    take_options(o, true);
    snd_wnd_ = max_snd_wnd_ = static_cast<std::uint32_t>(ack.window()) << snd_wscale_;
    snd_wl1_ = ack.seq();
    snd_wl2_ = ack.ack();
    cc_->init(snd_mss_);
    cause_ = "ACK, SYN cookie";
    ex_.start(life(shared_from_this(), state::established, state::syn_rcvd), "tcp");
}

void tcb::deliver(const wire::tcp_view& seg) {
    ++stats_.segments_received;
    last_heard_ = ex_.now();
    keepalive_probes_ = 0;
    if (!waiter_) return;  // between states (cannot happen on one thread); the peer retransmits
    seg_ = &seg;
    resume(wake::segment);
    seg_ = nullptr;
}

// ---- application side -----------------------------------------------------

bool tcb::can_write() const noexcept {
    return sndbuf_.free() > 0 && !fin_queued_ && !error_ &&
           (state_ == state::syn_sent || state_ == state::syn_rcvd || state_ == state::established ||
            state_ == state::close_wait);
}

std::size_t tcb::app_write(wire::bytes data) {
    if (!can_write()) return 0;
    const std::size_t n = sndbuf_.write(data);
    stats_.bytes_sent += n;
    resume(wake::app);
    return n;
}

std::size_t tcb::app_read(wire::mut_bytes out) {
    const std::uint16_t before = advertised_window();
    const std::size_t n = rcvbuf_.read(out);
    // Past TIME_WAIT's entry the storage stays only for the application to drain.
    if (rcvbuf_.empty() && (state_ == state::time_wait || state_ == state::closed)) rcvbuf_.release();
    // Tell the peer when the window opened enough (RFC 1122 4.2.3.3 receiver SWS avoidance).
    const std::uint32_t opened = static_cast<std::uint32_t>(advertised_window() - before) << rcv_wscale_;
    if (n > 0 && synchronized(state_) &&
        opened >= std::min<std::uint32_t>(static_cast<std::uint32_t>(rcvbuf_.capacity() / 2), rcv_mss_)) {
        app_pending_ = false;
        if (waiter_) send_ack();
    }
    return n;
}

void tcb::app_shutdown_write() {
    if (fin_queued_) return;
    fin_queued_ = true;
    resume(wake::app);
}

void tcb::app_close() {
    orphaned_ = true;
    rcvbuf_.clear();  // nobody will read it
    ooo_.clear();     // nor the out-of-order data placed in it: later in-order data must not commit it
    app_shutdown_write();
}

void tcb::app_abort() {
    orphaned_ = true;
    abort_ = true;
    resume(wake::app);
}

void tcb::set_keep_alive(bool on) {
    keepalive_ = on;
    if (!on) keepalive_at_ = never;
    else if (synchronized(state_)) keepalive_at_ = last_heard_ + cfg_.keepalive.idle;
    arm_timer();
}

// RFC 1122 4.2.3.6: after the idle time with nothing outstanding, probe with
// an old sequence number the peer must ACK; no answer ends the connection.
std::optional<state> tcb::on_keepalive() {
    const auto now = ex_.now();
    keepalive_at_ = never;
    if (!keepalive_ || !synchronized(state_) || state_ == state::time_wait) return std::nullopt;
    const auto& ka = cfg_.keepalive;
    if (flight() || unsent() > 0) {  // retransmissions watch the peer meanwhile
        keepalive_at_ = now + ka.idle;
        return std::nullopt;
    }
    if (now - last_heard_ < ka.idle) {
        keepalive_at_ = last_heard_ + ka.idle;
        return std::nullopt;
    }
    if (keepalive_probes_ >= ka.probes)
        return to(state::closed, "keep-alive timeout", std::make_error_code(std::errc::timed_out));
    ++keepalive_probes_;
    send_segment(snd_una_ - 1, wire::tcp_flag::ack, 0, 0);
    keepalive_at_ = now + ka.interval;
    return std::nullopt;
}

// The buffers' share of the memory limit is returned; the receive storage
// stays while it holds data the application has yet to read.
void tcb::release_buffers() {
    sndbuf_.release();
    ooo_.clear();
    if (rcvbuf_.empty() || orphaned_) rcvbuf_.release();
    layer_.unreserve(reserved_);
    reserved_ = 0;
}

void tcb::set_connect_deadline(runtime::time_point deadline) {
    if (state_ != state::syn_sent && state_ != state::syn_rcvd) return;
    state_at_ = deadline;
    arm_timer();
}

void tcb::fail_unreachable() {
    if (state_ != state::syn_sent || error_) return;
    error_ = std::make_error_code(std::errc::host_unreachable);
    resume(wake::app);
}

void tcb::wake_app() {
    if (reader_) ex_.post(std::exchange(reader_, {}));
    if (writer_) ex_.post(std::exchange(writer_, {}));
    if (opener_) ex_.post(std::exchange(opener_, {}));
}

std::uint32_t tcb::ts_now() const noexcept {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ex_.now().time_since_epoch()).count();
    return static_cast<std::uint32_t>(ms) + ts_offset_;
}

}  // namespace coronet::tcp
