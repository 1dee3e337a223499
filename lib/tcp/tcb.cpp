// The TCB's plumbing: construction, opens, the event mechanism that drives
// the state coroutines, timers, and the application side of the buffers.
#include <coronet/tcp/layer.hpp>
#include <coronet/tcp/tcb.hpp>

#include <spdlog/spdlog.h>

namespace coronet::tcp {


tcb::tcb(tcp_layer& layer, four_tuple id)
    : layer_(layer),
      ex_(layer.executor()),
      cfg_(layer.config()),
      id_(id),
      sndbuf_(cfg_.send_buffer),
      rcvbuf_(cfg_.receive_buffer),
      ooo_(cfg_.max_ooo_ranges),
      nagle_(cfg_.nagle),
      rtt_(cfg_.rto),
      cc_(make_congestion_control(cfg_.congestion)) {
    if (!cc_) cc_ = make_congestion_control("newreno");
    timer_.on_expire = &timer_fired;
    timer_.context = this;
    const std::uint16_t mtu = layer.host().mtu();
    rcv_mss_ = static_cast<std::uint16_t>(mtu - 40);
    if (cfg_.window_scaling)
        while (rcv_wscale_ < 14 && (cfg_.receive_buffer >> rcv_wscale_) > 65535) ++rcv_wscale_;
    ts_offset_ = static_cast<std::uint32_t>(four_tuple_hash{}(id) * 2654435761u);
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
    const auto next = std::min({rto_at_, persist_at_, delack_at_, state_at_, tx_retry_at_});
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
    rcv_nxt_ = irs_ + 1;
    snd_una_ = snd_nxt_ = snd_max_ = recover_ = iss_;
    take_options(syn.options(), true);
    snd_wnd_ = syn.window();  // never scaled on a SYN (RFC 7323 2.2)
    snd_wl1_ = syn.seq();
    ex_.start(life(shared_from_this(), state::syn_rcvd, state::listen), "tcp");
}

void tcb::deliver(const wire::tcp_view& seg) {
    ++stats_.segments_received;
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
    // Tell the peer when the window opened enough (RFC 1122 4.2.3.3 receiver SWS avoidance).
    const std::uint32_t opened = static_cast<std::uint32_t>(advertised_window() - before) << rcv_wscale_;
    if (n > 0 && synchronized(state_) &&
        opened >= std::min<std::uint32_t>(static_cast<std::uint32_t>(cfg_.receive_buffer / 2), rcv_mss_)) {
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
    app_shutdown_write();
}

void tcb::app_abort() {
    orphaned_ = true;
    abort_ = true;
    resume(wake::app);
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
