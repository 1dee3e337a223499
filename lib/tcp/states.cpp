// The life of a connection: one coroutine per RFC 9293 state. Each waits for
// its events and co_returns the next state; the co_returns are the arrows of
// the state diagram (DESIGN.md, "The state machine").
#include <coronet/tcp/layer.hpp>
#include <coronet/tcp/tcb.hpp>

#include <spdlog/spdlog.h>

namespace coronet::tcp {

using runtime::task;

state tcb::to(state next, const char* cause, std::error_code ec) noexcept {
    cause_ = cause;
    if (ec && !error_) error_ = ec;
    return next;
}

void tcb::enter(state from, state next) {
    state_ = next;
    // The connect deadline ends with the open; state_at_ is reused later
    // (FIN_WAIT_2, TIME_WAIT), and a stale past deadline would fire forever.
    if (from == state::syn_sent || from == state::syn_rcvd) state_at_ = never;
    if (spdlog::should_log(spdlog::level::info))  // the addresses are formatted only when logged
        spdlog::info("{}:{} -> {}:{} {} -> {} ({})", id_.local.to_string(), id_.local_port, id_.remote.to_string(),
                     id_.remote_port, to_string(from), to_string(next), cause_);
    if (layer_.on_transition) layer_.on_transition(*this, from, next, cause_);
    if (next == state::established) {
        if (keepalive_) keepalive_at_ = ex_.now() + cfg_.keepalive.idle;
        if (auto parent = parent_.lock()) parent->established(shared_from_this());
        parent_.reset();
    }
    if (next == state::time_wait) release_buffers();
    wake_app();
}

task<void> tcb::life([[maybe_unused]] std::shared_ptr<tcb> self, state first, state from) {  // self: alive to the end
    if (first != state::established) cause_ = first == state::syn_sent ? "connect" : "SYN";  // else: a SYN cookie's
    state s = first;
    enter(from, s);
    while (s != state::closed && s != state::listen) {
        state next = state::closed;
        switch (s) {
        case state::syn_sent: next = co_await syn_sent(); break;
        case state::syn_rcvd: next = co_await syn_rcvd(); break;
        case state::established: next = co_await established(); break;
        case state::fin_wait_1: next = co_await fin_wait_1(); break;
        case state::fin_wait_2: next = co_await fin_wait_2(); break;
        case state::close_wait: next = co_await close_wait(); break;
        case state::closing: next = co_await closing(); break;
        case state::last_ack: next = co_await last_ack(); break;
        case state::time_wait: next = co_await time_wait(); break;
        case state::closed:
        case state::listen: break;
        }
        enter(s, next);
        s = next;
    }
    finish();
}

void tcb::finish() {
    rto_at_ = persist_at_ = delack_at_ = state_at_ = tx_retry_at_ = keepalive_at_ = never;
    arm_timer();
    release_buffers();
    if (auto parent = parent_.lock()) parent->forget(*this);
    parent_.reset();
    layer_.remove(*this);
    wake_app();
}

// Timers and abort, alike in every synchronized state: a terminal state, or nullopt.
std::optional<state> tcb::on_timer_or_abort(wake w) {
    if (w == wake::app && abort_) {
        send_rst();
        return to(state::closed, "abort", std::make_error_code(std::errc::connection_aborted));
    }
    if (w != wake::timer) return std::nullopt;
    const auto now = ex_.now();
    if (delack_at_ <= now) {
        delack_at_ = never;
        send_ack();
    }
    if (tx_retry_at_ <= now) {  // step() runs output() next; FIN_WAIT_2 only owes an ACK
        tx_retry_at_ = never;
        if (ack_now_) send_ack();
    }
    // A connection the application has closed gives up sooner (Linux tcp_orphan_retries).
    const unsigned limit = orphaned_ ? std::min(cfg_.orphan_retries, cfg_.max_retransmits) : cfg_.max_retransmits;
    if (rto_at_ <= now) {
        if (retries_ >= limit)
            return to(state::closed, "retransmission timeout", std::make_error_code(std::errc::timed_out));
        on_rto();
    }
    if (persist_at_ <= now) {
        if (orphaned_ && probes_ >= limit)
            return to(state::closed, "zero window probe timeout", std::make_error_code(std::errc::timed_out));
        on_persist();
    }
    if (keepalive_at_ <= now)
        if (auto end = on_keepalive()) return end;
    arm_timer();
    return std::nullopt;
}

// One event in a synchronized state that has no arrow of its own for it:
// a segment (whose accepted RST closes), a timer, or an application request,
// then whatever may be sent. Returns a terminal state, or nullopt.
std::optional<state> tcb::step(wake w, bool reset_is_error) {
    if (w == wake::segment) {
        if (input(*seg_).reset)
            return to(state::closed, "RST",
                      reset_is_error ? std::make_error_code(std::errc::connection_reset) : std::error_code{});
    } else if (auto end = on_timer_or_abort(w)) {
        return end;
    }
    output();
    return std::nullopt;
}

// In SYN_SENT and SYN_RCVD only the SYN's retransmission and the connect
// deadline act; any other deadline that fell due there (a send retried for
// want of a frame, a delayed ACK) is spent, or it would be re-armed in the
// past forever and hold up every later timer of the loop.
void tcb::spend_opening_timers() {
    const auto now = ex_.now();
    for (auto* at : {&delack_at_, &tx_retry_at_, &persist_at_, &keepalive_at_})
        if (*at <= now) *at = never;
}

task<state> tcb::syn_sent() {
    send_syn(false);
    arm_timer();
    for (;;) {
        const wake w = co_await next_event();
        if (w == wake::segment) {
            switch (syn_sent_input(*seg_)) {
            case syn_answer::reset:
                co_return to(state::closed, "RST", std::make_error_code(std::errc::connection_refused));
            case syn_answer::established: co_return to(state::established, "SYN+ACK");
            case syn_answer::simultaneous: co_return to(state::syn_rcvd, "SYN, simultaneous open");
            case syn_answer::ignore: break;
            }
        } else if (w == wake::timer && state_at_ <= ex_.now()) {
            co_return to(state::closed, "connect timeout", std::make_error_code(std::errc::timed_out));
        } else if (w == wake::app && error_) {
            co_return to(state::closed, "no route to host", error_);
        } else if (w == wake::timer && rto_at_ <= ex_.now()) {
            if (retries_ >= cfg_.syn_retries)
                co_return to(state::closed, "connect timeout", std::make_error_code(std::errc::timed_out));
            ++retries_;
            ++stats_.retransmits;
            rtt_.backoff();
            send_syn(false);
        } else if (w == wake::app && (abort_ || orphaned_)) {
            co_return to(state::closed, abort_ ? "abort" : "close", std::make_error_code(std::errc::operation_canceled));
        }
        spend_opening_timers();
        arm_timer();
    }
}

task<state> tcb::syn_rcvd() {
    const bool passive = passive_;
    send_syn(true);
    arm_timer();
    for (;;) {
        const wake w = co_await next_event();
        if (w == wake::segment) {
            const input_result r = input(*seg_);
            if (r.reset) {
                if (passive) co_return to(state::listen, "RST");
                co_return to(state::closed, "RST", std::make_error_code(std::errc::connection_refused));
            }
            if (snd_una_ > iss_) co_return to(state::established, "ACK");
        } else if (w == wake::timer && rto_at_ <= ex_.now()) {
            if (retries_ >= cfg_.synack_retries)
                co_return to(state::closed, "SYN+ACK timeout", std::make_error_code(std::errc::timed_out));
            ++retries_;
            ++stats_.retransmits;
            rtt_.backoff();
            send_syn(true);
        } else if (w == wake::app && abort_) {
            send_rst();
            co_return to(state::closed, "abort", std::make_error_code(std::errc::connection_aborted));
        } else if (w == wake::app && fin_queued_) {
            co_return to(state::fin_wait_1, "close");
        }
        spend_opening_timers();
        arm_timer();
    }
}

task<state> tcb::established() {
    output();
    for (;;) {
        if (fin_received_) co_return to(state::close_wait, "FIN");
        if (fin_queued_) co_return to(state::fin_wait_1, orphaned_ ? "close" : "shutdown");
        if (auto end = step(co_await next_event(), true)) co_return *end;
    }
}

task<state> tcb::fin_wait_1() {
    output();  // the FIN, after any data still queued
    for (;;) {
        if (fin_received_ && fin_acked()) co_return to(state::time_wait, "FIN+ACK");
        if (fin_received_) co_return to(state::closing, "FIN, simultaneous close");
        if (fin_acked()) co_return to(state::fin_wait_2, "ACK of FIN");
        if (auto end = step(co_await next_event(), true)) co_return *end;
    }
}

task<state> tcb::fin_wait_2() {
    for (;;) {
        if (fin_received_) co_return to(state::time_wait, "FIN");
        // An orphaned connection does not wait forever for the peer's FIN.
        if (orphaned_ && state_at_ == never) {
            state_at_ = ex_.now() + cfg_.fin_wait_2_timeout;
            arm_timer();
        }
        const wake w = co_await next_event();
        if (w == wake::segment) {
            const input_result r = input(*seg_);
            if (r.reset) co_return to(state::closed, "RST", std::make_error_code(std::errc::connection_reset));
            output();
        } else if (w == wake::timer && state_at_ <= ex_.now()) {
            co_return to(state::closed, "FIN_WAIT_2 timeout");
        } else if (auto end = on_timer_or_abort(w)) {
            co_return *end;
        }
    }
}

task<state> tcb::close_wait() {
    output();
    for (;;) {
        if (fin_queued_) co_return to(state::last_ack, orphaned_ ? "close" : "shutdown");
        if (auto end = step(co_await next_event(), true)) co_return *end;
    }
}

task<state> tcb::closing() {
    for (;;) {
        if (fin_acked()) co_return to(state::time_wait, "ACK of FIN");
        if (auto end = step(co_await next_event(), false)) co_return *end;
    }
}

task<state> tcb::last_ack() {
    output();  // the FIN
    for (;;) {
        if (fin_acked()) co_return to(state::closed, "ACK of FIN");
        if (auto end = step(co_await next_event(), false)) co_return *end;
    }
}

task<state> tcb::time_wait() {
    rto_at_ = persist_at_ = delack_at_ = tx_retry_at_ = never;
    if (ack_now_) send_ack();
    state_at_ = ex_.now() + 2 * cfg_.msl;
    arm_timer();
    for (;;) {
        const wake w = co_await next_event();
        if (w == wake::segment) {
            const wire::tcp_view& seg = *seg_;
            if (seg.has(wire::tcp_flag::rst)) {
                if (seg.seq() == rcv_nxt_) co_return to(state::closed, "RST");
                continue;
            }
            if (seg.has(wire::tcp_flag::fin)) {  // the peer missed our ACK: again, and restart 2MSL
                send_ack();
                state_at_ = ex_.now() + 2 * cfg_.msl;
                arm_timer();
            }
        } else if (w == wake::timer && state_at_ <= ex_.now()) {
            co_return to(state::closed, state_at_ == runtime::time_point::min() ? "SYN reuses the 4-tuple (RFC 6191)"
                                                                                  : "2MSL timeout");
        } else if (w == wake::app && abort_) {
            co_return to(state::closed, "abort");
        }
    }
}

}  // namespace coronet::tcp
