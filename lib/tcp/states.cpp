// The life of a connection: one coroutine per RFC 9293 state. Each waits for
// its events and co_returns the next state; the co_returns are the arrows of
// the state diagram (DESIGN.md, "The state machine"). Each state also says
// what segment processing may take (receive_policy) and what output may send
// (send_policy): no helper asks which state it is in.
#include <coronet/runtime/log.hpp>
#include <coronet/tcp/tcb.hpp>

namespace coronet::tcp {

using runtime::task;
using kind = event::kind;

namespace {
const std::error_code connection_reset = std::make_error_code(std::errc::connection_reset);
const std::error_code timed_out = std::make_error_code(std::errc::timed_out);

// The cause traced for an open the network refused (ICMP, or ARP finding nobody).
const char* network_cause(std::error_code ec) noexcept {
    if (ec == std::errc::connection_refused) return "ICMP port unreachable";
    if (ec == std::errc::no_protocol_option) return "ICMP protocol unreachable";
    if (ec == std::errc::network_unreachable) return "network unreachable";
    if (ec == std::errc::host_unreachable) return "no route to host";
    return "ICMP error";
}
}  // namespace

state tcb::to(state next, const char* cause, std::error_code ec) noexcept {
    cause_ = cause;
    if (ec && !error_) error_ = ec;
    return next;
}

void tcb::enter(state from, state next) {
    state_ = next;
    // The application may write while the connection opens, and until it has sent its FIN.
    policy_.app_writes =
        next == state::syn_sent || next == state::syn_rcvd || next == state::established || next == state::close_wait;
    // The connect deadline ends with the open; state_at_ is reused later
    // (FIN_WAIT_2, TIME_WAIT), and a stale past deadline would fire forever.
    if ((from == state::syn_sent || from == state::syn_rcvd) && next != state::syn_rcvd) state_at_ = never;
    if (runtime::logger().should_log(spdlog::level::info))  // the addresses are formatted only when logged
        runtime::logger().info("{}:{} -> {}:{} {} -> {} ({})", id_.local.to_string(), id_.local_port,
                               id_.remote.to_string(), id_.remote_port, to_string(from), to_string(next), cause_);
    owner_.transition(*this, from, next, cause_);
    if (next == state::established && keepalive_) keepalive_at_ = ex_.now() + cfg_.keepalive.idle;
    if (next == state::time_wait) {
        release_buffers();
        shed_transfer_state();
    }
    wake_app();
}

runtime::detached tcb::life([[maybe_unused]] std::shared_ptr<tcb> self, state first,
                            state from) {                                                    // self: alive to the end
    if (first != state::established) cause_ = first == state::syn_sent ? "connect" : "SYN";  // else: a SYN cookie's
    state s = first;
    enter(from, s);
    while (s != state::closed && s != state::listen) {
        const state next = co_await state_coroutine(s);
        enter(s, next);
        s = next;
    }
    finish();
}

// The coroutine of state s (life awaits one at a time: a frame with one
// awaiter, not one per state; a million idle connections hold it).
task<state> tcb::state_coroutine(state s) {
    switch (s) {
        case state::syn_sent:
            return syn_sent();
        case state::syn_rcvd:
            return syn_rcvd();
        case state::established:
            return established();
        case state::fin_wait_1:
            return fin_wait_1();
        case state::fin_wait_2:
            return fin_wait_2();
        case state::close_wait:
            return close_wait();
        case state::closing:
            return closing();
        case state::last_ack:
            return last_ack();
        case state::time_wait:
            return time_wait();
        case state::closed:
        case state::listen:
            break;
    }
    return ended();
}

task<state> tcb::ended() { co_return state::closed; }

void tcb::finish() {
    ex_.cancel_turn_end(output_node_);
    rto_at_ = persist_at_ = delack_at_ = state_at_ = tx_retry_at_ = keepalive_at_ = never;
    stop_transfer_timers();
    arm_timer();
    release_buffers();
    owner_.closed(*this);
    wake_app();
}

// The arrows to CLOSED that every synchronized state has (the diagram's
// "any -> CLOSED"): an accepted RST, the application's abort, and the
// peer gone silent.
state tcb::closed_by(ending why, bool reset_is_error) noexcept {
    switch (why) {
        case ending::reset:
            return to(state::closed, "RST", reset_is_error ? connection_reset : std::error_code{});
        case ending::abort:
            return to(state::closed, "abort", std::make_error_code(std::errc::connection_aborted));
        case ending::retransmission_timeout:  // the last ICMP error, if any, says why (Linux: sk_err_soft)
            return to(state::closed, "retransmission timeout", xr().soft_error ? xr().soft_error : timed_out);
        case ending::probe_timeout:
            return to(state::closed, "zero window probe timeout", timed_out);
        case ending::keepalive_timeout:
            return to(state::closed, "keep-alive timeout", timed_out);
    }
    return state::closed;
}

// One event in a synchronized state that has no arrow of its own for it:
// a segment (whose accepted RST ends the connection), a timer, or an
// application request; what the state lets output() send goes at the end of
// the loop's turn, with what the turn's other events leave to send.
std::optional<tcb::ending> tcb::step(const event& e, receive_policy in, send_policy out) {
    switch (e.what) {
        case kind::segment:
            if (input(*e.seg, in).reset) return ending::reset;
            break;
        case kind::timer:
            if (auto end = on_timer(out)) return end;
            break;
        case kind::app:
            if (auto end = on_app()) return end;
            break;
        case kind::net_error:
            // A smaller path MTU resends what it dropped (output); any other
            // error is soft: the connection's own timers decide.
            if (e.error == std::errc::message_size) {
                follow_path_mtu();
            } else {
                xfer().soft_error = e.error;
                ++xfer().stats.network_errors;
            }
            break;
        case kind::evict:  // only TIME_WAIT takes it
            break;
    }
    output_at_turn_end(out);
    return std::nullopt;
}

// The deadlines of a synchronized state; a retransmission or probe limit
// reached, or a keep-alive unanswered, ends the connection.
std::optional<tcb::ending> tcb::on_timer(send_policy out) {
    const auto now = ex_.now();
    if (tx_retry_at_ <= now) tx_retry_at_ = never;    // output() tries again next
    if (xr().pace_at <= now) xfer().pace_at = never;  // the paced frame may go: output() is next
    // A connection the application has closed gives up sooner (Linux tcp_orphan_retries).
    const unsigned limit = app_gone() ? std::min(cfg_.orphan_retries, cfg_.max_retransmits) : cfg_.max_retransmits;
    if (xr().tlp_at <= now) {  // before the RTO: a probe due then restarts it
        xfer().tlp_at = never;
        on_tlp(out);
    }
    if (rto_at_ <= now) {
        if (retries_ >= limit) return ending::retransmission_timeout;
        on_rto(out);
    }
    if (xr().reo_at <= now) {
        xfer().reo_at = never;
        detect_losses(xr().board.pipe());
    }
    if (persist_at_ <= now) {
        if (app_gone() && probes_ >= limit) return ending::probe_timeout;
        on_persist();
    }
    if (keepalive_at_ <= now && keepalive_expired()) return ending::keepalive_timeout;
    return std::nullopt;
}

// Application requests every synchronized state handles alike: abort resets
// the connection; the rest are notifications for output().
std::optional<tcb::ending> tcb::on_app() {
    if (requests_.has(app_request::abort)) {
        requests_.take(app_request::abort);
        send_rst();
        return ending::abort;
    }
    if (requests_.has(app_request::read)) schedule_ack(true);  // the window opened: tell the peer
    if (requests_.has(app_request::options) && keepalive_)
        keepalive_at_ = std::max(last_heard_ + cfg_.keepalive.idle, ex_.now());
    take_notifications();
    return std::nullopt;
}

// Requests that only say something changed are spent once looked at.
void tcb::take_notifications() noexcept {
    for (auto r : {app_request::send, app_request::read, app_request::options}) requests_.take(r);
}

// In SYN_SENT and SYN_RCVD only the SYN's retransmission and the connect
// deadline act; any other deadline that fell due there (a send retried for
// want of a frame, a delayed ACK) is spent, or it would be re-armed in the
// past forever and hold up every later timer of the loop.
void tcb::spend_opening_timers() {
    const auto now = ex_.now();
    for (auto* at : {&delack_at_, &tx_retry_at_, &persist_at_, &keepalive_at_})
        if (*at <= now) *at = never;
    if (xfer_)
        for (auto* at : {&xfer_->reo_at, &xfer_->tlp_at, &xfer_->pace_at})
            if (*at <= now) *at = never;
    take_notifications();
}

task<state> tcb::syn_sent() {
    send_syn(false);
    arm_timer();
    for (;;) {
        const event e = co_await next_event();
        const auto now = ex_.now();
        if (e.is(kind::segment)) {
            switch (syn_sent_input(*e.seg)) {
                case syn_answer::reset:
                    co_return to(state::closed, "RST", std::make_error_code(std::errc::connection_refused));
                case syn_answer::established:
                    co_return to(state::established, "SYN+ACK");
                case syn_answer::simultaneous:
                    co_return to(state::syn_rcvd, "SYN, simultaneous open");
                case syn_answer::ignore:
                    break;
            }
        } else if (e.is(kind::timer) && state_at_ <= now) {
            co_return to(state::closed, "connect timeout", timed_out);
        } else if (e.is(kind::net_error) && e.error != std::errc::message_size) {
            ++xfer().stats.network_errors;
            co_return to(state::closed, network_cause(e.error), e.error);
        } else if (e.is(kind::timer) && rto_at_ <= now) {
            if (retries_ >= cfg_.syn_retries) co_return to(state::closed, "connect timeout", timed_out);
            ++retries_;
            ++xfer().stats.retransmits;
            rtt_.backoff();
            send_syn(false);
        } else if (e.is(kind::app) && (requests_.has(app_request::abort) || app_gone())) {
            // RFC 9293 3.10.4 and 3.10.5: CLOSE or ABORT in SYN-SENT deletes the TCB; no RST.
            co_return to(state::closed, requests_.has(app_request::abort) ? "abort" : "close",
                         std::make_error_code(std::errc::operation_canceled));
        }
        // A shutdown alone waits for ESTABLISHED, which sends the FIN after the data.
        spend_opening_timers();
        arm_timer();
    }
}

task<state> tcb::syn_rcvd() {
    constexpr receive_policy in{.text = true, .handshake = true};
    send_syn(true);
    arm_timer();
    for (;;) {
        const event e = co_await next_event();
        const auto now = ex_.now();
        if (e.is(kind::segment)) {
            const input_result r = input(*e.seg, in);
            if (r.reset) {
                if (passive_) co_return to(state::listen, "RST");
                co_return to(state::closed, "RST", std::make_error_code(std::errc::connection_refused));
            }
            if (r.syn) co_return to(state::listen, "SYN");  // RFC 9293 3.10.7.4 fourth: a passive open only
            if (seq_.snd_una > seq_.iss) co_return to(state::established, "ACK");
        } else if (e.is(kind::timer) && state_at_ <= now) {  // a simultaneous open's connect deadline
            co_return to(state::closed, "connect timeout", timed_out);
        } else if (e.is(kind::timer) && rto_at_ <= now) {
            if (retries_ >= cfg_.synack_retries) co_return to(state::closed, "SYN+ACK timeout", timed_out);
            ++retries_;
            ++xfer().stats.retransmits;
            rtt_.backoff();
            send_syn(true);
        } else if (e.is(kind::app) && requests_.has(app_request::abort)) {
            send_rst();
            co_return to(state::closed, "abort", std::make_error_code(std::errc::connection_aborted));
        } else if (e.is(kind::app) && shutdown_asked()) {
            requests_.take(app_request::shutdown);
            co_return to(state::fin_wait_1, "close");  // RFC 9293 3.10.4: CLOSE in SYN-RECEIVED
        }
        spend_opening_timers();
        arm_timer();
    }
}

task<state> tcb::established() {
    constexpr receive_policy in{.text = true};
    constexpr send_policy out{.data = true};
    output_at_turn_end(out);
    for (;;) {
        if (fin_received_) co_return to(state::close_wait, "FIN");
        if (shutdown_asked()) {
            requests_.take(app_request::shutdown);
            co_return to(state::fin_wait_1, app_gone() ? "close" : "shutdown");
        }
        if (auto end = step(co_await next_event(), in, out)) co_return closed_by(*end);
    }
}

task<state> tcb::fin_wait_1() {
    constexpr receive_policy in{.text = true};
    constexpr send_policy out{.data = true, .fin = true};
    output_at_turn_end(out);  // the FIN, after any data still queued (with it, when written in this turn)
    for (;;) {
        if (fin_received_ && fin_acked()) co_return to(state::time_wait, "FIN+ACK");
        if (fin_received_) co_return to(state::closing, "FIN, simultaneous close");
        if (fin_acked()) co_return to(state::fin_wait_2, "ACK of FIN");
        if (auto end = step(co_await next_event(), in, out)) co_return closed_by(*end);
    }
}

task<state> tcb::fin_wait_2() {
    constexpr receive_policy in{.text = true};  // half-close: data still flows to us
    constexpr send_policy out{};                // our FIN is acknowledged: ACKs only
    output_at_turn_end(out);
    for (;;) {
        if (fin_received_) co_return to(state::time_wait, "FIN");
        // An orphaned connection does not wait forever for the peer's FIN.
        if (app_gone() && state_at_ == never) {
            state_at_ = ex_.now() + cfg_.fin_wait_2_timeout;
            arm_timer();
        }
        const event e = co_await next_event();
        if (e.is(kind::timer) && state_at_ <= ex_.now()) co_return to(state::closed, "FIN_WAIT_2 timeout");
        if (auto end = step(e, in, out)) co_return closed_by(*end);
    }
}

task<state> tcb::close_wait() {
    constexpr receive_policy in{};  // the peer has finished: no more text
    constexpr send_policy out{.data = true};
    output_at_turn_end(out);
    for (;;) {
        if (shutdown_asked()) {
            requests_.take(app_request::shutdown);
            co_return to(state::last_ack, app_gone() ? "close" : "shutdown");
        }
        if (auto end = step(co_await next_event(), in, out)) co_return closed_by(*end);
    }
}

task<state> tcb::closing() {
    constexpr receive_policy in{};
    constexpr send_policy out{.data = true, .fin = true};
    output_at_turn_end(out);
    for (;;) {
        if (fin_acked()) co_return to(state::time_wait, "ACK of FIN");
        if (auto end = step(co_await next_event(), in, out)) co_return closed_by(*end, false);
    }
}

task<state> tcb::last_ack() {
    constexpr receive_policy in{};
    constexpr send_policy out{.data = true, .fin = true};
    output_at_turn_end(out);  // the FIN
    for (;;) {
        if (fin_acked()) co_return to(state::closed, "ACK of FIN");
        if (auto end = step(co_await next_event(), in, out)) co_return closed_by(*end, false);
    }
}

task<state> tcb::time_wait() {
    constexpr receive_policy in{};      // both FINs are in: no more text
    ex_.cancel_turn_end(output_node_);  // nothing is sent from TIME_WAIT but its ACKs
    if (ack_owed()) send_ack();
    rto_at_ = persist_at_ = delack_at_ = tx_retry_at_ = keepalive_at_ = never;
    stop_transfer_timers();
    state_at_ = ex_.now() + 2 * cfg_.msl;
    arm_timer();
    for (;;) {
        const event e = co_await next_event();
        if (e.is(kind::segment)) {
            const wire::tcp_view& seg = *e.seg;
            if (e.listener_waiting && seg.has(wire::tcp_flag::syn) && !seg.has(wire::tcp_flag::ack) &&
                time_wait_reusable(seg)) {
                syn_reopens_ = true;  // deliver() hands the SYN to the listener
                co_return to(state::closed, "SYN reuses the 4-tuple (RFC 6191)");
            }
            // The peer's FIN again: it missed our ACK, which input() sends again; 2MSL starts over.
            if (seg.has(wire::tcp_flag::fin) && !seg.has(wire::tcp_flag::rst)) state_at_ = ex_.now() + 2 * cfg_.msl;
            if (input(seg, in).reset) co_return to(state::closed, "RST");
            if (ack_owed()) send_ack();
            rto_at_ = persist_at_ = delack_at_ = tx_retry_at_ = never;  // nothing is sent from TIME_WAIT
            stop_transfer_timers();
            shed_transfer_state();  // what the segment made again (its counters, a challenge ACK's limits)
            arm_timer();
        } else if (e.is(kind::timer) && state_at_ <= ex_.now()) {
            co_return to(state::closed, "2MSL timeout");
        } else if (e.is(kind::evict)) {
            co_return to(state::closed, "evicted: the connection table is full");
        } else if (e.is(kind::app) && requests_.has(app_request::abort)) {
            co_return to(state::closed, "abort");
        } else if (e.is(kind::app)) {
            take_notifications();
        }
    }
}

// RFC 6191: a SYN may end TIME_WAIT early when it is certainly new: a newer
// timestamp, or (without timestamps) a sequence number beyond the old one.
bool tcb::time_wait_reusable(const wire::tcp_view& syn) const {
    const auto& ts = syn.options().timestamp;
    if (ts_ok_ && ts) return wire::ts32{ts->first} > ts_recent_;
    return syn.seq() > seq_.rcv_nxt;
}

}  // namespace coronet::tcp
