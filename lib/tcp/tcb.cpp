// The TCB's plumbing: construction, opens, the event mechanism that drives
// the state coroutines, timers, and the application side of the buffers.
#include <coronet/tcp/tcb.hpp>

namespace coronet::tcp {

tcb::tcb(tcb_owner& owner, const open_params& p)
    : owner_(owner),
      ex_(owner.executor()),
      cfg_(owner.config()),
      id_(p.id),
      nagle_(cfg_.nagle),
      sndbuf_(p.send_buffer, owner.buffers()),
      rcvbuf_(p.receive_buffer, owner.buffers()),
      rtt_(cfg_.rto),
      state_at_(p.connect_deadline),
      reserved_(p.send_buffer + p.receive_buffer) {
    cc_algorithm_ = congestion_algorithm_named(cfg_.congestion).value_or(congestion_algorithm::newreno);
    seq_.iss = seq_.snd_una = seq_.snd_nxt = seq_.snd_max = recover_ = p.iss;
    timer_.on_expire = &timer_fired;
    timer_.context = this;
    output_node_.on_turn_end = &turn_ended;
    output_node_.context = this;
    rcv_mss_ = static_cast<std::uint16_t>(owner.host().mtu() - 40);
    if (p.max_segment > 0) rcv_mss_ = std::min(rcv_mss_, p.max_segment);
    // The scale follows the most the receive buffer may grow to, not this
    // connection's share: a SYN cookie must predict it from the configuration alone.
    if (cfg_.window_scaling) rcv_wscale_ = window_scale::for_buffer(cfg_.receive_buffer_limit());
    ts_offset_ = timestamp_offset(p.id);
    keepalive_ = cfg_.keepalive.enabled;
    last_heard_ = ex_.now();
}

void tcb::make_cc() const { cc_ = fresh_cc(); }

std::unique_ptr<congestion_control> tcb::fresh_cc() const {
    auto c = make_congestion_control(cc_algorithm_);
    start(*c);
    return c;
}

void tcb::start(congestion_control& c) const {
    c.init(cc_mss_);
    if (rtt_.has_sample()) c.set_initial_rtt(rtt_.srtt());
}

tcb::congestion_figures tcb::congestion_now() const {
    if (cc_) return figures_of(*cc_);
    return figures_of(*fresh_cc());  // an idle connection's: read, then dropped
}

tcb::congestion_figures tcb::figures_of(const congestion_control& c) const {
    return {.name = c.name(),
            .info = c.info(),
            .cwnd = c.window(),
            .ssthresh = c.ssthresh(),
            .pacing_rate = pacing_rate(c)};
}

connection_stats tcb::counters() const { return xfer_ ? xfer_->stats : early_stats(congestion_now()); }

// The counters before the transfer state exists: the handshake's counts
// kept in early_, the buffers' capacities (they grow only once it exists)
// and the controller's figures f.
connection_stats tcb::early_stats(const congestion_figures& f) const {
    connection_stats st;
    for (std::size_t i = 0; i < early_.size(); ++i) st.*early_fields[i] = early_[i];
    st.send_buffer = sndbuf_.capacity();
    st.receive_buffer = rcvbuf_.capacity();
    note_congestion_state(st, f);
    return st;
}

void tcb::start_congestion_control() {
    cc_mss_ = snd_mss_;
    if (cc_) start(*cc_);
}

void tcb::make_xfer() const {
    xfer_ = std::make_unique<transfer_state>(cfg_.max_ooo_ranges);
    xfer_->stats = early_stats(figures_of(cc()));  // the congestion figures as the latest ACK left them
    if (app_limited_early_) xfer_->rate.on_app_limited(0);
}

const tcb::transfer_state& tcb::idle_transfer() noexcept {
    static const transfer_state none{0};
    return none;
}

tcb::~tcb() {
    if (orphaned_) return;  // an orphan's loop may be gone
    ex_.timers().erase(timer_);
    ex_.cancel_turn_end(output_node_);
}

void tcb::orphan() noexcept {
    ex_.timers().erase(timer_);
    ex_.cancel_turn_end(output_node_);
    orphaned_ = true;
    state_ = state::closed;
    if (!error_) error_ = std::make_error_code(std::errc::connection_aborted);
    wake_app();
}

// Resumes the state coroutine with e; it runs until it waits again.
void tcb::resume(const event& e) {
    if (!waiter_ || orphaned_) return;  // app requests stay fresh for the next wait; an orphan's states are over
    const auto h = std::exchange(waiter_, {});
    delivered_ = &e;
    h.resume();
}

// The application asks r; the state hears of it now, or at its next wait.
void tcb::ask(app_request r) {
    requests_.add(r);
    if (!waiter_) return;
    requests_.drain_fresh();
    resume(event::app());
}

void tcb::timer_fired(runtime::timer_node& n) { static_cast<tcb*>(n.context)->resume(event::timer()); }

void tcb::output_at_turn_end(send_policy policy) noexcept {
    turn_output_ = policy;
    ex_.at_turn_end(output_node_);
}

void tcb::turn_ended(runtime::turn_end_node& n) {
    auto& t = *static_cast<tcb*>(n.context);
    t.output(t.turn_output_);
}

// The new algorithm is made by its first use, as at the connection's start
// (a listener's choice applies to connections that may stay idle).
bool tcb::set_congestion_control(std::string_view name) {
    const auto a = congestion_algorithm_named(name);
    if (!a) return false;
    cc_algorithm_ = *a;
    cc_.reset();
    return true;
}

void tcb::arm_timer() {
    if (orphaned_) return;
    const transfer_state& x = xr();
    const auto next = std::min(
        {rto_at_, persist_at_, delack_at_, state_at_, tx_retry_at_, keepalive_at_, x.reo_at, x.tlp_at, x.pace_at});
    if (timer_.queued()) {
        if (timer_.deadline == next) return;
        ex_.timers().erase(timer_);
    }
    if (next == never) return;
    timer_.deadline = next;
    ex_.timers().insert(timer_);
}

void tcb::open_active(state from) { ex_.start(life(shared_from_this(), state::syn_sent, from), "tcp"); }

void tcb::open_passive(const wire::tcp_view& syn) {
    passive_ = true;
    seq_.irs = syn.seq();
    seq_.rcv_nxt = seq_.rcv_adv = seq_.irs + 1;  // rcv_adv too: left at 0 it reads as ahead of a high ISN
    take_options(syn.options(), true);
    seq_.snd_wnd = syn.window();  // never scaled on a SYN (RFC 7323 2.2)
    seq_.snd_wl1 = syn.seq();
    ex_.start(life(shared_from_this(), state::syn_rcvd, state::listen), "tcp");
}

void tcb::open_from_cookie(const wire::tcp_view& ack, std::uint16_t mss, std::optional<window_scale> peer_wscale) {
    passive_ = true;
    seq_.irs = ack.seq() - 1;
    seq_.rcv_nxt = seq_.rcv_adv = ack.seq();
    seq_.snd_una = seq_.iss + 1;
    seq_.snd_nxt = seq_.snd_max = recover_ = seq_.snd_una;
    // What the SYN told is gone but for the cookie's MSS and, when the peer
    // uses timestamps, its window scale echoed in our timestamp.
    wire::tcp_options o;
    o.mss = mss;
    if (peer_wscale) o.window_scale = peer_wscale->shift();
    if (const auto& ts = ack.options().timestamp) o.timestamp = {{ts->first, 0}};
    take_options(o, true);
    seq_.snd_wnd = seq_.max_snd_wnd = snd_wscale_.expand(ack.window());
    seq_.snd_wl1 = ack.seq();
    seq_.snd_wl2 = ack.ack();
    start_congestion_control();
    cause_ = "ACK, SYN cookie";
    ex_.start(life(shared_from_this(), state::established, state::syn_rcvd), "tcp");
}

bool tcb::deliver(const wire::tcp_view& seg, bool listener_waiting) {
    count(early::segments_received);
    last_heard_ = ex_.now();
    keepalive_probes_ = 0;
    // Not waiting: between states (cannot happen on one thread); the peer retransmits.
    resume(event::segment(seg, listener_waiting));
    return std::exchange(syn_reopens_, false);
}

void tcb::network_error(std::error_code ec) { resume(event::net_error(ec)); }

// ---- application side -----------------------------------------------------

std::size_t tcb::app_write(wire::bytes data) {
    send_limited_ = data.size() > sndbuf_.free();  // buffer tuning: the buffer holds the application back
    if (!can_write()) return 0;
    const std::size_t n = sndbuf_.write(data);
    count(early::bytes_sent, n);
    ask(app_request::send);
    return n;
}

std::size_t tcb::app_read(wire::mut_bytes out) {
    const std::size_t n = rcvbuf_.read(out);
    after_app_read(n);
    return n;
}

void tcb::app_consume(std::size_t n) {
    rcvbuf_.consume(n);
    after_app_read(n);
}

void tcb::after_app_read(std::size_t n) {
    if (orphaned_) return;  // no tuning, no window update: the configuration went with the layer
    if (n > 0) tune_receive_buffer();
    // Buffers already given back (TIME_WAIT, CLOSED): the storage stayed only for the application to drain.
    if (rcvbuf_.empty() && reserved_ == 0) rcvbuf_.release();
    // A window update of its own only when the read at least doubled a
    // window that had shrunk to half the buffer or less (Linux's
    // tcp_cleanup_rbuf); otherwise the next ACK carries it. The new right
    // edge moves by a useful amount only (advertised_window, RFC 1122 4.2.3.3).
    const std::size_t left = seq_.promised();
    if (n > 0 && 2 * left <= rcvbuf_.capacity()) {
        const std::size_t open = rcv_wscale_.expand(advertised_window(false));
        if (open > 0 && open >= 2 * left) ask(app_request::read);
    }
}

void tcb::app_shutdown_write() {
    if (write_shut_) return;
    write_shut_ = true;
    ask(app_request::shutdown);
}

void tcb::app_close() {
    rcvbuf_.clear();                // nobody will read it
    if (xfer_) xfer_->ooo.clear();  // nor the out-of-order data placed in it: later in-order data must not commit it
    requests_.add(app_request::close);
    write_shut_ = true;
    ask(app_request::shutdown);
}

void tcb::app_abort() {
    requests_.add(app_request::close);
    ask(app_request::abort);
}

void tcb::set_keep_alive(bool on) {
    keepalive_ = on;
    if (!on) keepalive_at_ = never;
    ask(app_request::options);
    arm_timer();
}

// RFC 1122 4.2.3.6: after the idle time with nothing outstanding, probe with
// an old sequence number the peer must ACK. True: no answer to the last probe.
bool tcb::keepalive_expired() {
    const auto now = ex_.now();
    keepalive_at_ = never;
    if (!keepalive_) return false;
    const auto& ka = cfg_.keepalive;
    if (flight() || unsent() > 0) {  // retransmissions watch the peer meanwhile
        keepalive_at_ = now + ka.idle;
        return false;
    }
    if (now - last_heard_ < ka.idle) {
        keepalive_at_ = last_heard_ + ka.idle;
        return false;
    }
    if (keepalive_probes_ >= ka.probes) return true;
    ++keepalive_probes_;
    send_segment(seq_.snd_una - 1, wire::tcp_flag::ack, 0, 0);
    keepalive_at_ = now + ka.interval;
    return false;
}

// The buffers' share of the memory limit is returned; the receive storage
// stays while it holds data the application has yet to read.
void tcb::release_buffers() {
    sndbuf_.release();
    if (xfer_) xfer_->ooo.clear();
    if (rcvbuf_.empty() || app_gone()) rcvbuf_.release();
    owner_.unreserve(reserved_);
    reserved_ = 0;
}

// A connection in TIME_WAIT whose application's handle is gone only
// answers segments until 2MSL ends: its sequence numbers, timestamps and
// deadline are the TCB's own, so the transfer state (976 bytes, and the
// scoreboard's 592 more once data was sent) and the congestion controller
// (up to 296) go, as Linux replaces the socket by a timewait one. A server
// closing first holds one per client for 2MSL: 2,888 heap bytes each
// before, 984 after (idle_memory). A handle still held (closed, kept for
// its last report) keeps all of it. Of the counters, the five every
// connection keeps stay (in early_; unless 32 bits cannot hold them: then
// nothing is freed); the connection table's row shows its state and
// addresses, its loss figures at zero and a new controller's window, as
// `ss` lists a Linux TIME_WAIT socket without tcp_info. A segment that
// needs the transfer state (a FIN sent again) makes a fresh one, which
// time_wait() frees again once the segment is answered.
void tcb::shed_transfer_state() noexcept {
    if (state_ != state::time_wait || handle_ != app_handle::dropped) return;
    if (xfer_) {
        for (auto f : early_fields)
            if (xfer_->stats.*f > UINT32_MAX) return;
        for (std::size_t i = 0; i < early_.size(); ++i)
            early_[i] = static_cast<std::uint32_t>(xfer_->stats.*early_fields[i]);
        xfer_.reset();
    }
    cc_.reset();
}

void tcb::wake_app() {
    wake(reader_);
    wake(writer_);
    wake(opener_);
}

wire::ts32 tcb::ts_now() const noexcept {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ex_.now().time_since_epoch()).count();
    return wire::ts32{static_cast<std::uint32_t>(ms) + ts_offset_};
}

}  // namespace coronet::tcp
