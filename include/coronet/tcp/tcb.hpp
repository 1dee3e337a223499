// One TCP connection: the RFC 9293 transmission control block and the
// coroutine that is its life. Each state is a coroutine function that waits
// for the next event (a segment, a timer, an application request) and
// co_returns the next state: the arrows of the state diagram are those
// co_returns (states.cpp). Segment processing follows RFC 9293 3.10.7 step
// by step (input.cpp); sending, retransmission and windows are in output.cpp.
#pragma once

#include <array>
#include <boost/asio/ip/address_v4.hpp>
#include <coronet/net/host.hpp>
#include <coronet/runtime/executor.hpp>
#include <coronet/storage/packet.hpp>
#include <coronet/tcp/byte_ring.hpp>
#include <coronet/tcp/config.hpp>
#include <coronet/tcp/congestion.hpp>
#include <coronet/tcp/delivery_rate.hpp>
#include <coronet/tcp/event.hpp>
#include <coronet/tcp/interval_set.hpp>
#include <coronet/tcp/recovery.hpp>
#include <coronet/tcp/rtt.hpp>
#include <coronet/tcp/scoreboard.hpp>
#include <coronet/tcp/state.hpp>
#include <coronet/wire/tcp.hpp>
#include <coronet/wire/tcp_values.hpp>
#include <coroutine>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

namespace coronet::tcp {

class tcb;
using boost::asio::ip::address_v4;
using wire::seq32;
using wire::window_scale;

struct four_tuple {
    address_v4 local;
    std::uint16_t local_port = 0;
    address_v4 remote;
    std::uint16_t remote_port = 0;
    bool operator==(const four_tuple&) const = default;
};

struct four_tuple_hash {
    std::size_t operator()(const four_tuple& t) const noexcept {
        std::uint64_t h = (std::uint64_t{t.remote.to_uint()} << 32) ^ (std::uint64_t{t.remote_port} << 16) ^
                          t.local_port ^ (std::uint64_t{t.local.to_uint()} * 0x9e3779b97f4a7c15ull);
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
};

// The per-connection offset of our timestamp clock (RFC 7323 5.4), a function
// of the 4-tuple alone so that a SYN cookie's connection finds it again.
inline std::uint32_t timestamp_offset(const four_tuple& id) noexcept {
    return static_cast<std::uint32_t>(four_tuple_hash{}(id)*2654435761u);
}

struct connection_stats {
    std::uint64_t bytes_sent = 0, bytes_received = 0;  // application bytes
    std::uint64_t bytes_placed = 0;                    // of bytes_received: straight into a waiting reader's buffer
    // Segments sent, as on the wire: an offload frame counts the MSS-sized
    // segments the device cuts it into. Received: frames as they came (a
    // GRO super-frame is one).
    std::uint64_t segments_sent = 0, segments_received = 0;
    // Segments sent again, counted as segments_sent is (Linux's
    // tcpi_total_retrans); of them, those sent during fast recovery (the
    // episodes are `recoveries`); retransmission timeouts.
    std::uint64_t retransmits = 0, fast_retransmits = 0, timeouts = 0;
    std::uint64_t dup_acks = 0, ooo_segments = 0, challenge_acks = 0;
    std::uint64_t challenge_acks_limited = 0;  // not sent: tcp_config::challenge_acks_per_connection
    // Segments refused by RFC 9293 3.10.7.4 / RFC 5961 / RFC 7323 (each answered
    // with an ACK except the RSTs): outside the receive window, an RST outside
    // it, an ACK of data never sent, an ACK older than the largest window,
    // an old timestamp (PAWS). And zero/small-window probes sent.
    std::uint64_t out_of_window = 0, rst_ignored = 0, ack_of_unsent = 0, ack_too_old = 0, paws_rejected = 0;
    // Segments without timestamps after both ends chose them (RFC 7323 3.2: dropped, not answered).
    std::uint64_t missing_timestamps = 0;
    std::uint64_t persist_probes = 0;
    std::uint64_t send_errors = 0;  // segments the host could not send (no route, ARP queue full): retried
    // ICMP errors about this connection that passed RFC 5927's checks:
    // those that lowered the segment size (path MTU, RFC 1191), and the
    // rest (unreachable, time exceeded: soft errors once synchronized).
    std::uint64_t mss_reductions = 0, network_errors = 0;
    // Loss recovery (RFC 2018, 2883, 6675, 8985, 3522/4015). Bytes are sequence space.
    std::uint64_t retransmitted_bytes = 0;  // bytes sent again (fast, RACK, TLP or after a timeout)
    std::uint64_t sacked_bytes = 0;         // bytes the peer reported with SACK blocks
    std::uint64_t lost_bytes = 0;           // bytes loss detection marked lost (RACK, duplicate ACKs, timeouts)
    std::uint64_t recoveries = 0;           // fast recovery episodes entered
    std::uint64_t dsacks_received = 0;      // segments the peer reported twice (DSACK): spurious retransmissions
    std::uint64_t dsacks_sent = 0;          // we reported duplicates we received
    std::uint64_t sack_segments_sent = 0;   // segments we sent with SACK blocks (data out of order, or a duplicate)
    std::uint64_t undos = 0;                // reductions undone as spurious (DSACK, timestamps)
    std::uint64_t tlp_probes = 0, tlp_recoveries = 0;  // tail loss probes; those that repaired a loss
    std::uint64_t sack_ignored = 0;                    // SACK blocks out of window, malformed, or beyond what we sent
    std::uint64_t renegings = 0;                       // the peer dropped data it had SACKed
    std::uint64_t ooo_refused = 0;  // out-of-order segments dropped: tcp_config::max_ooo_ranges holes held already
    // RACK's reordering window (RFC 8985 6.2 step 4) the last time loss
    // detection ran, in microseconds; 0 while it never ran (no SACK, or no
    // SACK block yet).
    std::uint64_t reordering_window_us = 0;
    // The buffers' capacities now (auto-tuning grows them; tcb::send_buffer()
    // tells the same while the connection lives), and how often they grew.
    std::uint64_t send_buffer = 0, receive_buffer = 0;
    std::uint64_t send_buffer_growths = 0, receive_buffer_growths = 0;
    // The congestion control after the latest ACK: cwnd and ssthresh in
    // bytes (ssthresh 4294967295: not set yet), the pacing rate in bytes per
    // second (0: unpaced), and the model's bottleneck bandwidth (bytes per
    // second) and minimum RTT (microseconds) where it keeps one (BBR).
    std::uint64_t cwnd = 0, ssthresh = 0, pacing_rate = 0, cc_bandwidth = 0, cc_min_rtt_us = 0;
};

// The RFC 9293 3.3.1 variables: the send and receive sequence space.
struct sequence_variables {
    seq32 iss, snd_una, snd_nxt, snd_wl1, snd_wl2;
    seq32 snd_max;                               // the highest sequence number sent (SND.NXT goes back on a timeout)
    std::uint32_t snd_wnd = 0, max_snd_wnd = 0;  // max_snd_wnd: the largest window offered (RFC 5961 5.2)
    seq32 irs, rcv_nxt;
    seq32 rcv_adv;  // the right edge of the window we advertised (RCV.NXT + RCV.WND when sent)

    // Bytes sent and not yet acknowledged (sequence space, SYN and FIN included).
    std::uint32_t flight_size() const noexcept { return wire::distance(snd_una, snd_nxt); }
    // The receive window still promised to the peer (0 when RCV.NXT passed the edge).
    std::uint32_t promised() const noexcept { return rcv_adv > rcv_nxt ? wire::distance(rcv_nxt, rcv_adv) : 0; }
};

// What the connection needs from the TCP layer that owns it; the layer
// creates connections and is told of their transitions and their end.
class tcb_owner {
public:
    virtual net::host& host() noexcept = 0;
    virtual runtime::executor& executor() noexcept = 0;
    virtual const tcp_config& config() const noexcept = 0;
    // Freed connection buffers kept for new connections.
    virtual const std::shared_ptr<buffer_cache>& buffers() = 0;
    // c moved from `from` to `to` for `cause` (tracing; a listener takes an established passive open).
    virtual void transition(tcb& c, state from, state to, const char* cause) = 0;
    // c reached CLOSED: it is forgotten.
    virtual void closed(tcb& c) = 0;
    // Buffer capacity c no longer holds (against tcp_config::memory_limit).
    virtual void unreserve(std::size_t bytes) noexcept = 0;
    // Whether c may grow its buffers by bytes more (buffer auto-tuning);
    // when granted they count against the memory limit until unreserved.
    virtual bool reserve(std::size_t bytes) noexcept = 0;
    // RFC 9293 3.10.7.1: answers seg with a reset, as for no connection.
    virtual void reset_for(const four_tuple& id, const wire::tcp_view& seg) = 0;
    // RFC 5961 sec. 7: whether the layer's budget lets one more challenge
    // ACK go now (counted when not).
    virtual bool challenge_ack_allowed() = 0;
    // Segments sent, as tcb::segments_in counts them (the layer's count).
    virtual void segments_sent(std::uint64_t n) noexcept = 0;

protected:
    ~tcb_owner() = default;
};

// A waiting reader's buffer, lent to the TCB (tcb::lend_read_buffer), and
// the bytes placed in it so far.
struct read_loan {
    wire::mut_bytes into;
    std::size_t placed = 0;
};

// How a connection was opened, and what its open starts with.
struct open_params {
    four_tuple id;
    seq32 iss;                                        // RFC 6528 (or a SYN cookie's)
    std::size_t send_buffer = 0, receive_buffer = 0;  // capacities granted, reserved against the memory limit
    runtime::time_point connect_deadline = runtime::time_point::max();  // an active open gives up then
    // The application's MSS clamp (TCP_MAXSEG): the MSS we announce and the
    // most we send per segment. 0: the MTU's.
    std::uint16_t max_segment = 0;
};

class tcb : public std::enable_shared_from_this<tcb> {
public:
    explicit tcb(tcb_owner& owner, const open_params& p);
    ~tcb();
    tcb(const tcb&) = delete;
    tcb& operator=(const tcb&) = delete;

    // ---- from the TCP layer
    // Active open: SYN_SENT (traced from `from`: CLOSED, or LISTEN for a
    // send on a passively opened TCB).
    void open_active(state from = state::closed);
    // Passive open by a listener's SYN: LISTEN -> SYN_RCVD.
    void open_passive(const wire::tcp_view& syn);
    // Passive open by the ACK that returned a valid SYN cookie (ISS = the
    // cookie): straight to ESTABLISHED with what the cookie remembered.
    void open_from_cookie(const wire::tcp_view& ack, std::uint16_t mss, std::optional<window_scale> peer_wscale);
    // A segment for this connection (checksum verified). listener_waiting: a
    // listener would take a SYN for this 4-tuple. Returns true when the
    // connection ended to hand the segment on (a SYN reusing TIME_WAIT, RFC 6191).
    bool deliver(const wire::tcp_view& seg, bool listener_waiting = false);
    // In TIME_WAIT: ends it now (-> CLOSED), its place in the connection
    // table wanted for a new connection. Elsewhere nothing.
    void evict() { resume(event::evict()); }
    // The network reports the peer (or the next hop) unreachable (ARP, ICMP
    // destination unreachable, time exceeded), or message_size: the path
    // MTU went down (the host's path MTU for the peer says how far). In
    // SYN_SENT an error ends the open (as Linux does); later it is a soft
    // error, the one reported if the connection then times out (RFC 1122
    // 4.2.3.9).
    void network_error(std::error_code ec);
    // RFC 5927 4.1: whether an ICMP error quoting sequence number seq may
    // be about this connection (SND.UNA <= seq < the highest SND.NXT).
    bool quotes_in_flight(seq32 seq) const noexcept { return seq_.snd_una <= seq && seq < seq_.snd_max; }
    // The layer is being destroyed: the connection ends here, silently
    // (CLOSED, connection_aborted), and from now on touches nothing outside
    // itself, so an application may still hold it, and drop it, after the
    // stack and its loop are gone.
    void orphan() noexcept;

    // ---- from the application (api::connection)
    // Bytes copied into the send buffer (may be fewer than data.size(); 0 when full).
    std::size_t app_write(wire::bytes data);
    // Bytes copied out of the receive buffer (0 when empty).
    std::size_t app_read(wire::mut_bytes out);
    // Reading in place: the received bytes at the front of the receive
    // buffer, where they lie (empty when none; the first piece when they
    // wrap), valid until the application gives control back to the loop or
    // calls app_consume; app_consume(n) drops n of them as a read would.
    // Precondition of app_consume (asserted): n <= receive_queue().
    wire::bytes app_view() const noexcept { return rcvbuf_.front(); }
    void app_consume(std::size_t n);
    void app_shutdown_write();  // queue a FIN after the data
    void app_close();           // shutdown_write, and the application is gone
    void app_abort();           // RST now
    // The application's handle let go (api::connection: close() returned,
    // or abort()); it keeps the TCB only to read it.
    void release_app() noexcept {
        if (handle_ == app_handle::held) handle_ = app_handle::released;
    }
    bool app_released() const noexcept { return handle_ != app_handle::held; }
    // The application's handle is gone: nothing reads the TCB's counters
    // any more (in TIME_WAIT its transfer state goes: shed_transfer_state).
    void drop_app() noexcept {
        handle_ = app_handle::dropped;
        shed_transfer_state();
    }
    void set_no_delay(bool on) noexcept { nagle_ = !on; }
    // Changes the congestion control (a name of congestion_control_names());
    // the new one starts from the initial window. False for an unknown name.
    bool set_congestion_control(std::string_view name);
    // Keep-alive probes for this connection (timing from tcp_config::keepalive).
    void set_keep_alive(bool on);
    // Wait helpers: resume the caller when the condition may have changed.
    void wait_readable(std::coroutine_handle<> h) noexcept { reader_ = h; }
    // Direct placement: a reader that found nothing to read lends its buffer
    // while it waits; in-order data then goes straight into it instead of
    // through the receive buffer (one copy fewer), counted in the loan's
    // `placed`. The loan lives with the reader (its awaiter) and the TCB
    // points at it: 8 bytes a connection where the buffer and the count took
    // 24. end_loan() ends it (also when the reader is destroyed waiting).
    void lend_read_buffer(read_loan& loan) noexcept {
        loan.placed = 0;
        loan_ = &loan;
    }
    void end_loan() noexcept { loan_ = nullptr; }
    // h no longer waits for anything (its coroutine is being destroyed).
    void stop_waiting(std::coroutine_handle<> h) noexcept {
        for (auto* w : {&reader_, &writer_, &opener_})
            if (*w == h) *w = {};
    }
    void wait_writable(std::coroutine_handle<> h) noexcept { writer_ = h; }
    void wait_open(std::coroutine_handle<> h) noexcept { opener_ = h; }

    // ---- observation
    state current() const noexcept { return state_; }
    const four_tuple& id() const noexcept { return id_; }
    std::error_code error() const noexcept { return error_; }
    // Whether the layer that owned the connection is gone (orphan()).
    bool orphaned() const noexcept { return orphaned_; }
    bool readable() const noexcept { return !rcvbuf_.empty(); }
    bool peer_finished() const noexcept { return fin_received_; }
    // Whether app_write may take bytes now (the state takes data, the write side is open, there is room).
    bool can_write() const noexcept { return sndbuf_.free() > 0 && !write_shut() && !error_ && policy_.app_writes; }
    // Whether the application shut the write side (shutdown or close).
    bool write_shut() const noexcept { return write_shut_; }
    std::size_t send_queue() const noexcept { return sndbuf_.size(); }
    std::size_t receive_queue() const noexcept { return rcvbuf_.size(); }
    std::size_t send_buffer() const noexcept { return sndbuf_.capacity(); }
    std::size_t receive_buffer() const noexcept { return rcvbuf_.capacity(); }
    // Bytes of buffer storage allocated now (0 for an idle or closed connection).
    std::size_t buffer_memory() const noexcept {
        return (sndbuf_.allocated() ? sndbuf_.capacity() : 0) + (rcvbuf_.allocated() ? rcvbuf_.capacity() : 0);
    }
    // The counters, live. The first call on a connection that never carried
    // data makes its transfer state (below), where they live: for following
    // a transfer; what only reports them calls counters().
    const connection_stats& stats() const { return xfer().stats; }
    // The counters now, as a copy, making nothing: for a connection that
    // never carried data, the handshake's counts, the buffers' capacities
    // and congestion_now()'s figures (what stats() would have made).
    connection_stats counters() const;
    const rtt_estimator& rtt() const noexcept { return rtt_; }
    // The congestion control; the first call on a connection that never
    // sent data makes it (cc(), below): what only reports it calls
    // congestion_now().
    const congestion_control& congestion() const { return cc(); }
    // What the connection table shows of the congestion control.
    struct congestion_figures {
        const char* name = "";
        congestion_info info;
        std::uint32_t cwnd = 0, ssthresh = 0;
        std::uint64_t pacing_rate = 0;  // pacing_rate()
    };
    // The controller's figures now, making nothing: before the controller
    // is made (an idle connection), those of one made as cc() would make
    // it, read and dropped.
    congestion_figures congestion_now() const;
    // Whether both ends use SACK (RFC 2018), and the sender's view of the flight.
    bool sack_enabled() const noexcept { return sack_ok_; }
    const scoreboard& board() const noexcept { return xr().board; }
    // RACK's reordering window in quarters of min_RTT (RFC 8985 6.2 step 4: 1, more after DSACKs).
    unsigned reordering_window_steps() const noexcept { return xr().rack.multiplier(); }
    // RACK's reordering window now (RFC 8985 6.2 step 4).
    runtime::duration reordering_window() const noexcept {
        return xr().rack.reo_wnd(in_recovery_, xr().board.sacked_bytes(), snd_mss_, rtt_.srtt());
    }
    // Whether the transfer state and the controller exist (an idle
    // connection has neither until something uses them: tests).
    bool transfer_state_made() const noexcept { return xfer_ != nullptr; }
    bool congestion_control_made() const noexcept { return cc_ != nullptr; }
    // The congestion window: the controller's, or before it is made the
    // initial window init() starts every algorithm with (RFC 6928).
    std::uint32_t cwnd() const noexcept { return cc_ ? cc_->window() : new_reno::initial_window(cc_mss_); }
    // Pacing: the rate frames leave at, bytes per second (0: unpaced); the
    // controller's own, else as tcp_config::pacing says cwnd/SRTT with
    // Linux's gains (2 in slow start, 1.2 after; slow_start: none after);
    // on a LAN only where the largest frame lasts 100 us or more at it.
    std::uint64_t pacing_rate() const { return pacing_rate(cc()); }

    std::uint32_t snd_wnd() const noexcept { return seq_.snd_wnd; }
    std::uint16_t mss() const noexcept { return snd_mss_; }
    // How many segments `bytes` of sequence space make on the wire at the
    // current MSS (an offload frame is cut into that many; a bare SYN, FIN
    // or ACK is one), as Linux counts TcpOutSegs and tcpi_total_retrans.
    std::uint64_t segments_in(std::size_t bytes) const noexcept {
        return bytes <= snd_mss_ ? 1 : (bytes + snd_mss_ - 1) / snd_mss_;
    }
    const sequence_variables& sequence() const noexcept { return seq_; }
    seq32 snd_una() const noexcept { return seq_.snd_una; }
    seq32 snd_nxt() const noexcept { return seq_.snd_nxt; }
    seq32 rcv_nxt() const noexcept { return seq_.rcv_nxt; }

private:
    struct event_awaiter;
    // What a state lets the segment processing of input.cpp do.
    struct receive_policy {
        bool text = false;       // take data and FIN (the states before the peer's FIN)
        bool handshake = false;  // SYN_RCVD: an ACK completes the handshake, the peer's SYN again draws our SYN+ACK
    };
    // What a state lets output() send.
    struct send_policy {
        bool data = false;  // new data from the send buffer
        bool fin = false;   // our FIN after the data
    };
    // What the application may do in a state (set on entry, read by the app side).
    struct app_policy {
        bool app_writes = false;  // app_write takes data
    };
    // What processing one segment found; the states read the rest (FIN
    // received, our FIN acknowledged) from the TCB itself.
    struct input_result {
        bool reset = false;  // an acceptable RST: the connection is reset
        bool syn = false;    // an in-window SYN in SYN-RECEIVED (a passive open goes back to LISTEN)
    };

    // life and states (states.cpp). life is the connection's detached task
    // itself (one frame, not a task under a root: a million idle connections
    // hold it); it awaits one state coroutine at a time.
    runtime::detached life(std::shared_ptr<tcb> self, state first, state from);
    runtime::task<state> syn_sent();
    runtime::task<state> syn_rcvd();
    runtime::task<state> established();
    runtime::task<state> fin_wait_1();
    runtime::task<state> fin_wait_2();
    runtime::task<state> close_wait();
    runtime::task<state> closing();
    runtime::task<state> last_ack();
    runtime::task<state> time_wait();
    runtime::task<state> state_coroutine(state s);
    runtime::task<state> ended();  // CLOSED and LISTEN have none: at once CLOSED
    state to(state next, const char* cause, std::error_code ec = {}) noexcept;
    void enter(state from, state to);
    event_awaiter next_event() noexcept;
    void resume(const event& e);
    static void timer_fired(runtime::timer_node& n);
    // Why a synchronized state ends in CLOSED without an arrow of its own.
    enum class ending : std::uint8_t { reset, abort, retransmission_timeout, probe_timeout, keepalive_timeout };
    state closed_by(ending why, bool reset_is_error = true) noexcept;
    std::optional<ending> step(const event& e, receive_policy in, send_policy out);
    std::optional<ending> on_timer(send_policy out);
    std::optional<ending> on_app();
    void take_notifications() noexcept;
    void ask(app_request r);
    bool app_gone() const noexcept { return requests_.has(app_request::close); }
    bool shutdown_asked() const noexcept { return requests_.has(app_request::shutdown); }
    bool time_wait_reusable(const wire::tcp_view& syn) const;

    // input (input.cpp), RFC 9293 3.10.7
    enum class syn_answer { ignore, reset, established, simultaneous };
    syn_answer syn_sent_input(const wire::tcp_view& seg);  // RFC 9293 3.10.7.3
    input_result input(const wire::tcp_view& seg, receive_policy policy);
    bool acceptable(const wire::tcp_view& seg) const;
    void check_rst(const wire::tcp_view& seg, input_result& r);
    bool check_ack(const wire::tcp_view& seg, receive_policy policy);
    void complete_handshake(const wire::tcp_view& seg);
    void process_ack(const wire::tcp_view& seg, std::uint32_t acked);
    void sample_rtt(const wire::tcp_view& seg, runtime::time_point now);
    // loss recovery (recovery.cpp): SACK, RACK-TLP, PRR, undo
    struct sack_info {
        std::array<seq_range, 4> blocks{};
        std::size_t count = 0;
        std::optional<seq_range> dsack;  // RFC 2883: the first block reported a duplicate
    };
    sack_info read_sacks(const wire::tcp_view& seg);
    void account_ack(const wire::tcp_view& seg, const sack_info& sacks, seq32 una_before, std::uint32_t wnd_before);
    // pipe_before: the pipe before the ACK being processed (the pipe now
    // where no ACK is: a timer), for enter_recovery.
    void detect_losses(std::uint32_t pipe_before);
    // early_output: this ACK's turn may let out first the new data its
    // earlier events released (not when a recovery follows one at once:
    // those events were answered in recovery, resends first).
    void enter_recovery(std::uint32_t pipe_before, bool early_output = true);
    // FlightSize for a window reduction (RFC 5681 3.2): what was in flight
    // before this turn's ACKs. A turn handles all its ACKs before its one
    // output, so those that acknowledged data ahead of the loss have not
    // been answered with new data yet, as a sender handling ACKs one by one
    // would have answered them; the flight after them is smaller than the
    // window the loss hit (sim, NewReno unpaced, 1 % loss, RTT 20 ms: a
    // third below cwnd, and 27 % slower than paced). `flight` is the flight
    // now. Never above cwnd (Linux's Reno halves cwnd): after a timeout
    // SND.NXT and SND.MAX still mark the window from before it.
    std::uint32_t flight_at_loss(std::uint32_t flight) const noexcept {
        return std::min(std::max(flight, flight_at_output_), cwnd());
    }
    void end_recovery();
    void start_undo_episode();
    void on_dsack(seq_range r);
    bool ack_shows_delayed(const wire::tcp_view& seg) const;
    bool recovered_without_resending() const noexcept;
    void undo();
    std::uint32_t send_window() const;
    void retransmit_lost();
    bool resend(seq_range r);
    void schedule_tlp();
    void on_tlp(send_policy policy);
    void note_duplicate(seq32 left, seq32 right);
    void process_text(const wire::tcp_view& seg, receive_policy policy);
    void place_in_order(wire::bytes data);
    void update_window(const wire::tcp_view& seg);
    void take_options(const wire::tcp_options& o, bool syn);
    // The sending MSS from the peer's MSS, our clamp, the path MTU and the
    // timestamps option; remembers the path MTU's generation it used.
    void sync_mss() noexcept;
    // The MSS follows the path MTU (sync_mss). When it went down, segments
    // in flight larger than the new MSS were dropped at the narrow hop: they
    // are marked lost for output() to resend at once, with the congestion
    // window as it was (no more data is in the network; Linux's
    // tcp_simple_retransmit does the same).
    void follow_path_mtu();
    void challenge_ack();
    void update_ts_recent(const wire::tcp_view& seg);
    // Its timestamp is older than TS.Recent: a newer segment came first
    // (PAWS let it in: its window, or a disordered duplicate ACK).
    bool older_than_ts_recent(const wire::tcp_view& seg) const noexcept;
    bool disordered_ack(const wire::tcp_view& seg, std::uint32_t tsval) const;

    // output (output.cpp)
    // new_data_only: nothing resent, no bare ACK, the flight and timers of
    // the turn's output left to it (enter_recovery's early output).
    void output(send_policy policy, bool new_data_only = false);
    // output(policy) once, at the end of the loop's turn, after every event
    // of the turn: a write and a close make one segment, the ACKs of a batch
    // of segments one ACK. The policy is the calling state's (the latest wins).
    void output_at_turn_end(send_policy policy) noexcept;
    static void turn_ended(runtime::turn_end_node& n);
    bool send_segment(seq32 seq, std::uint8_t flags, std::size_t offset, std::size_t len);
    bool send_segment(storage::packet frame, seq32 seq, std::uint8_t flags, std::size_t offset, std::size_t len);
    // A frame for a segment of `payload` bytes (a segmentation-offload one if
    // the device has it), or nullopt with a retry scheduled.
    std::optional<storage::packet> frame_for(std::uint8_t flags, std::size_t payload);
    void retry_send(std::uint8_t flags, runtime::duration after);
    // The most payload one frame carries: an MSS, or with segmentation
    // offload as many MSS as fit in a 64 KiB IP packet and in about a
    // millisecond of the sending rate (frame_segments_for_rate).
    std::size_t max_frame_payload() const;
    // Segments per offload frame at the current rate; unlimited on a LAN
    // unless it is paced.
    std::size_t frame_segments_for_rate() const;
    // Whether the path is a LAN: a round trip (SRTT, or the smallest RTT
    // sample) up to ~2 ms. 64 KiB frames there, and no pacing at a LAN's
    // rate (pacing_rate).
    bool on_lan() const noexcept;
    // The rate the controller or the pacing mode asks for, LAN or not.
    std::uint64_t controller_rate(const congestion_control& c) const;
    // The bytes of whole segments in the largest frame the device takes.
    std::size_t largest_frame_payload() const;
    // Whether the next data frame must wait (transfer_state::pace_at then set for it).
    bool pacing_holds(runtime::time_point now);
    // A data frame of `bytes` left now: the next one waits its share.
    void paced(std::size_t bytes, runtime::time_point now);
    // connection_stats' congestion figures, as the controller has them now.
    void note_congestion_state();
    static void note_congestion_state(connection_stats& st, const congestion_figures& f) noexcept;
    void send_ack() { send_segment(seq_.snd_nxt, wire::tcp_flag::ack, 0, 0); }
    void send_syn(bool with_ack);
    void add_sack_blocks(wire::tcp_options& o) const;
    seq32 data_start() const noexcept { return seq_.snd_una == seq_.iss ? seq_.iss + 1 : seq_.snd_una; }
    bool fin_acked() const noexcept { return fin_seq_ && seq_.snd_una > *fin_seq_; }
    bool ack_owed() const noexcept { return delack_at_ <= ex_.now(); }
    // Whether the owed ACK waits one pass for the woken application's answer.
    bool ack_awaits_answer();
    void finish();
    void send_rst();
    void on_rto(send_policy policy);
    void on_persist();
    bool keepalive_expired();
    void spend_opening_timers();
    void release_buffers();
    // After the application took n bytes from the receive buffer: tuning,
    // the storage given back once drained after the end, a window update.
    void after_app_read(std::size_t n);
    void schedule_ack(bool immediate);
    runtime::duration handshake_rtt() const;
    void ack_at_once();  // an ACK now, for data out of order or duplicated
    // The duplicate ACK for new out-of-order data [left, right); `latest`:
    // the range that had taken data most recently before it.
    void ack_out_of_order(seq32 left, seq32 right, std::optional<seq_range> latest);
    bool ack_at_once_in_turn();
    // In-order data arrived: quick-ack mode (transfer_state::ato); true when it is on.
    bool data_arrived();
    std::uint16_t advertised_window(bool syn);
    void arm_timer();
    bool flight() const noexcept { return seq_.snd_nxt != seq_.snd_una; }
    std::size_t unsent() const noexcept;
    void wake_app();
    // Resumes h, if something waits there, in a later step of the loop.
    void wake(std::coroutine_handle<>& h) {
        if (h) ex_.post(std::exchange(h, {}));
    }
    wire::ts32 ts_now() const noexcept;

    // buffer tuning (tuning.cpp): the receive buffer follows what the
    // application drains per round trip, the send buffer what may fly.
    void measure_receive_rtt(const wire::tcp_view& seg);
    void receive_rtt_sample(runtime::duration d, bool upper_bound) noexcept;
    void tune_receive_buffer();
    void tune_send_buffer();
    bool grow_buffer(byte_ring& ring, std::size_t wanted, std::size_t limit);

    tcb_owner& owner_;
    runtime::executor& ex_;
    const tcp_config& cfg_;
    four_tuple id_;
    // (The members are ordered to leave no padding: a million idle
    // connections hold a TCB each.)
    state state_ = state::closed;
    app_policy policy_;
    bool passive_ = false;
    bool fin_received_ = false;
    bool write_shut_ = false;   // the application shut the write side
    bool orphaned_ = false;     // the layer is gone: no timers, no state coroutine, no owner
    bool syn_reopens_ = false;  // TIME_WAIT ended for the SYN just delivered (deliver's answer)
    bool nagle_;
    const char* cause_ = "";
    std::error_code error_;

    sequence_variables seq_;
    // options (RFC 9293 3.7.1, RFC 7323)
    std::uint16_t snd_mss_ = 536, rcv_mss_ = 1460;
    std::uint16_t peer_mss_ = 536;  // the peer's MSS option (its floor applied)
    std::uint16_t cc_mss_ = 536;    // the MSS the congestion control starts at (cc())
    window_scale snd_wscale_, rcv_wscale_;
    bool wscale_ok_ = false, ts_ok_ = false;
    std::uint64_t pmtu_generation_ = 0;
    runtime::time_point pmtu_valid_until_ = runtime::time_point::max();  // then the path MTU is looked at again
    wire::ts32 ts_recent_;
    std::uint32_t ts_offset_ = 0;
    seq32 last_ack_sent_;
    seq32 recover_;  // loss recovery: the recovery point (RFC 6582)
    static constexpr runtime::duration paws_ack_interval = std::chrono::milliseconds(500);
    // PAWS lets a timestamp this many of the peer's ticks older than
    // TS.Recent pass (Linux's TCP_PAWS_WINDOW).
    static constexpr std::int32_t paws_window = 1;

    byte_ring sndbuf_, rcvbuf_;      // sndbuf_ starts at snd_una (after the SYN)
    std::optional<seq32> peer_fin_;  // FIN seen beyond rcv_nxt
    std::optional<seq32> fin_seq_;   // our FIN's sequence number once sent

    rtt_estimator rtt_;
    // The congestion control, made by its first use (an idle connection
    // needs none: cwnd() is then the initial window), as the TCB would have
    // made it at its start: tcp_config::congestion's algorithm, started at
    // the MSS the handshake left (536, the constructors' own, before it).
    congestion_control& cc() const {
        if (!cc_) make_cc();
        return *cc_;
    }
    void make_cc() const;
    // A controller made as make_cc() makes it, not kept.
    std::unique_ptr<congestion_control> fresh_cc() const;
    // Starts c at cc_mss_ and, once the handshake measured one, the SRTT.
    void start(congestion_control& c) const;
    std::uint64_t pacing_rate(const congestion_control& c) const;
    congestion_figures figures_of(const congestion_control& c) const;
    // The handshake is done: the controller starts at the MSS it left.
    void start_congestion_control();
    mutable std::unique_ptr<congestion_control> cc_;
    unsigned dupacks_ = 0, retries_ = 0, probes_ = 0;
    seq32 rtt_seq_;  // Karn: the segment timed (rtt_timing_)
    congestion_algorithm cc_algorithm_ = congestion_algorithm::newreno;
    bool in_recovery_ = false;
    // loss recovery
    bool sack_ok_ = false;
    bool rtt_timing_ = false;  // Karn: one segment timed at a time when there are no timestamps
    unsigned keepalive_probes_ = 0;
    // The block of state a connection needs once it carries data (or an
    // ACK of something, or its counters are read): loss recovery, the
    // out-of-order ranges, the counters, the timers and the delayed-ACK
    // engine of a transfer, the rate limits of PAWS and challenge ACKs.
    // Made by the first xfer(); an idle connection has none (README "Design
    // notes": a million idle connections). xr() reads it without making it
    // (a shared empty one: its timers never due, no data seen).
    struct transfer_state {
        explicit transfer_state(std::size_t max_ooo_ranges) : ooo(max_ooo_ranges) {}
        connection_stats stats;
        interval_set ooo;  // out-of-order data held in rcvbuf_'s free space
        scoreboard board;
        delivery_rate rate;
        rack_state rack;
        prr_state prr;
        std::uint32_t recovery_window = 0;        // PRR's window while in recovery
        std::optional<seq32> undo_marker;         // SND.UNA when the current reduction began
        std::int64_t undo_bytes = 0;              // bytes resent since, less those the peer reported as duplicates
        interval_set undo_resent;                 // what was resent since and not yet reported as a duplicate
        std::optional<wire::ts32> retrans_stamp;  // our timestamp on the first of those resends (RFC 3522)
        bool recovery_with_reo_wnd = false;       // the current fast recovery began with reordering seen (tcb::undo)
        bool loss_found_in_recovery = false;      // and loss detection marked more lost since (detect_losses)
        std::uint64_t acks_at_once_turn = 0;      // the turn of the ACKs at once for full-sized segments
        std::uint8_t acks_at_once = 0;            // and how many went (tcb::ack_at_once_in_turn)
        std::uint64_t dsacked_bytes = 0;          // bytes the peer has reported as duplicates, all told
        std::optional<seq32> tlp_end;             // a tail loss probe is out, ending there (RFC 8985 7)
        bool tlp_resent = false;                  // the probe resent data (rather than sending new)
        bool tlp_dsacked = false;                 // and the peer reported it as a duplicate
        bool tlp_new_data = false;                // output() may send one segment past cwnd: the probe
        std::optional<seq_range> dsack;           // a duplicate we received, reported in our next ACK
        // receive buffer tuning (tuning.cpp)
        runtime::duration rcv_rtt{};          // the receiver's RTT estimate (zero: none yet)
        runtime::time_point rcv_rtt_start{};  // a one-window measurement runs since then (the epoch: none runs)
        seq32 rcv_rtt_end;                    // and ends when RCV.NXT reaches this
        std::uint64_t rcv_space = 0;          // the most the application drained in one RTT so far
        std::uint64_t rcv_space_mark = 0;     // bytes the application had drained when this RTT began
        runtime::time_point rcv_space_at{};   // when it began (the epoch: not yet)
        // deadlines (arm_timer reads them with the TCB's own)
        runtime::time_point reo_at = never;   // RACK's reordering timer (RFC 8985 6.3)
        runtime::time_point tlp_at = never;   // the probe timeout (RFC 8985 7.2)
        runtime::time_point pace_at = never;  // output() stopped for pacing: the next frame may leave then
        runtime::time_point next_tx{};        // pacing: the earliest the next data frame may leave
        // The delayed-ACK engine, as Linux runs it: `ato` is 0 until data
        // first arrives (an ACK owed before then goes at once), then the
        // delayed-ACK time. The first data, and data after a silence longer
        // than the RTO, give `quick_acks` immediate ACKs (quick-ack mode),
        // unless the connection is interactive (`pingpong`: we answered data
        // within ato, or the peer's FIN came in ESTABLISHED), where ACKs wait
        // to ride on the answer. A delayed ACK that had to go alone ends
        // interactive mode.
        runtime::duration ato{};
        runtime::time_point last_data_at{};
        unsigned quick_acks = 0;
        bool answer_may_carry_ack = false;  // the first data's ACK may wait a pass for the answer (ack_awaits_answer)
        bool pingpong = false;
        bool delack_timed = false;  // the owed ACK waits for its timer
        // SACK compression (ack_out_of_order): the duplicate ACKs sent while
        // RCV.NXT stood at dup_acks_for, and the out-of-order segments whose
        // ACK waits for the turn's end.
        seq32 dup_acks_for;
        std::uint8_t dup_acks_sent = 0, sacks_deferred = 0;
        unsigned challenges = 0;
        runtime::time_point challenge_window{};  // this second's challenge ACKs (RFC 5961 sec. 7)
        runtime::time_point last_paws_ack{};     // the last ACK sent for a segment PAWS dropped
        std::error_code soft_error;              // the last ICMP error once synchronized (RFC 1122 4.2.3.9)
    };
    transfer_state& xfer() const {
        if (!xfer_) make_xfer();
        return *xfer_;
    }
    const transfer_state& xr() const noexcept { return xfer_ ? *xfer_ : idle_transfer(); }
    void make_xfer() const;
    connection_stats early_stats(const congestion_figures& f) const;
    static const transfer_state& idle_transfer() noexcept;
    // In TIME_WAIT, once the application's handle is gone: frees the
    // transfer state and the congestion controller (see tcb.cpp).
    void shed_transfer_state() noexcept;
    // The transfer state's deadlines to never (an idle connection has none set).
    void stop_transfer_timers() noexcept {
        if (xfer_) xfer_->reo_at = xfer_->tlp_at = xfer_->pace_at = never;
    }
    // The counters bumped for every connection (the handshake's segments,
    // bytes), kept in early_ until the transfer state exists.
    enum class early : std::uint8_t { segments_sent, segments_received, bytes_sent, bytes_received, bytes_placed };
    std::uint64_t counted(early f) const noexcept {
        const auto i = static_cast<std::size_t>(f);
        return xfer_ ? xfer_->stats.*early_fields[i] : early_[i];
    }
    static constexpr std::uint64_t connection_stats::*early_fields[] = {
        &connection_stats::segments_sent, &connection_stats::segments_received, &connection_stats::bytes_sent,
        &connection_stats::bytes_received, &connection_stats::bytes_placed};
    void count(early f, std::uint64_t n = 1) {
        const auto i = static_cast<std::size_t>(f);
        if (!xfer_ && n <= UINT32_MAX - early_[i]) {
            early_[i] += static_cast<std::uint32_t>(n);
            return;
        }
        xfer().stats.*early_fields[i] += n;  // 32 bits would overflow: the transfer state counts from here
    }
    runtime::time_point rtt_start_{};
    // When a segment last carried data (a controller's restart after a
    // pause is timed from it).
    static constexpr runtime::time_point no_data_sent = runtime::time_point::min();
    runtime::time_point last_data_sent_ = no_data_sent;

    static constexpr runtime::time_point never = runtime::time_point::max();
    // (and the transfer state's: RACK, TLP, pacing)
    runtime::time_point rto_at_ = never, persist_at_ = never,
                        delack_at_ = never,  // an ACK is owed then (at once when <= now)
        state_at_ = never,                   // state_at_: connect deadline (from the start), FIN_WAIT_2 and TIME_WAIT
        tx_retry_at_ = never,                // a send failed (no free frame, a host error): try again then
        keepalive_at_ = never;
    runtime::time_point last_heard_{};  // the last segment from the peer (keep-alive)
    std::size_t reserved_ = 0;          // buffer capacity counted against tcp_config::memory_limit
    runtime::timer_node timer_;
    runtime::turn_end_node output_node_;  // output() is queued for the end of the turn
    send_policy turn_output_{};           // with this policy
    app_requests requests_;               // the application's requests not yet handled (ask())
    std::uint32_t flight_at_output_ = 0;  // SND.MAX - SND.UNA when output() last ran
    unsigned segs_since_ack_ = 0;
    unsigned unit_segments_ = 0;  // new-data segments sent since the last PSH

    std::coroutine_handle<> waiter_;    // the state coroutine, while it waits for an event
    const event* delivered_ = nullptr;  // the event resume() gives it, read by its await_resume
    std::coroutine_handle<> reader_, writer_, opener_;
    read_loan* loan_ = nullptr;  // a waiting reader's buffer (lend_read_buffer), until full
    mutable std::unique_ptr<transfer_state> xfer_;
    std::array<std::uint32_t, std::size(early_fields)> early_{};  // see count()
    bool keepalive_ = false;
    bool app_limited_early_ = false;  // output() found the application limiting before the transfer state existed

    // buffer tuning (tuning.cpp; the receive side's figures are in the transfer state)
    bool send_limited_ = false;  // the application's last write found too little room
    enum class app_handle : std::uint8_t { held, released, dropped };
    app_handle handle_ = app_handle::held;  // release_app(), drop_app()
};

// Suspends a state coroutine until the next event; application requests
// made while the coroutine was busy are delivered at once. The awaiter is
// one reference and the event is read where resume() was given it (it runs
// the coroutine on its own stack): the state coroutines' frames stay small.
struct tcb::event_awaiter {
    tcb& t;
    // Destroyed while waiting (its coroutine destroyed): nothing may resume
    // it. (Destroyed after a resume or without a wait, there is no waiter.)
    ~event_awaiter() { t.waiter_ = {}; }
    bool await_ready() noexcept { return t.requests_.drain_fresh(); }  // the event is an app request
    void await_suspend(std::coroutine_handle<> handle) noexcept { t.waiter_ = handle; }
    const event& await_resume() const noexcept {
        return t.delivered_ ? *std::exchange(t.delivered_, nullptr) : app_event;
    }
    static inline const event app_event{};
};

inline tcb::event_awaiter tcb::next_event() noexcept { return event_awaiter{*this}; }

}  // namespace coronet::tcp
