// One TCP connection: the RFC 9293 transmission control block and the
// coroutine that is its life. Each state is a coroutine function that waits
// for the next event (a segment, a timer, an application request) and
// co_returns the next state: the arrows of the state diagram are those
// co_returns (states.cpp). Segment processing follows RFC 9293 3.10.7 step
// by step (input.cpp); sending, retransmission and windows are in output.cpp.
#pragma once

#include <coronet/storage/packet.hpp>
#include <coronet/runtime/executor.hpp>
#include <coronet/tcp/byte_ring.hpp>
#include <coronet/tcp/config.hpp>
#include <coronet/tcp/congestion.hpp>
#include <coronet/tcp/interval_set.hpp>
#include <coronet/tcp/rtt.hpp>
#include <coronet/tcp/state.hpp>
#include <coronet/wire/tcp.hpp>

#include <boost/asio/ip/address_v4.hpp>

#include <coroutine>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

namespace coronet::tcp {

class tcp_layer;
class listener_state;
using boost::asio::ip::address_v4;
using wire::seq32;

struct four_tuple {
    address_v4 local;
    std::uint16_t local_port = 0;
    address_v4 remote;
    std::uint16_t remote_port = 0;
    friend bool operator==(const four_tuple&, const four_tuple&) = default;
};

struct four_tuple_hash {
    std::size_t operator()(const four_tuple& t) const noexcept {
        std::uint64_t h = (std::uint64_t{t.remote.to_uint()} << 32) ^ (std::uint64_t{t.remote_port} << 16) ^
                          t.local_port ^ (std::uint64_t{t.local.to_uint()} * 0x9e3779b97f4a7c15ull);
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
};

// The window scale that lets a receive buffer of `buffer` bytes be advertised (RFC 7323 2.3).
constexpr std::uint8_t window_scale_for(std::size_t buffer) noexcept {
    std::uint8_t scale = 0;
    while (scale < 14 && (buffer >> scale) > 65535) ++scale;
    return scale;
}

// The per-connection offset of our timestamp clock (RFC 7323 5.4), a function
// of the 4-tuple alone so that a SYN cookie's connection finds it again.
inline std::uint32_t timestamp_offset(const four_tuple& id) noexcept {
    return static_cast<std::uint32_t>(four_tuple_hash{}(id) * 2654435761u);
}

struct connection_stats {
    std::uint64_t bytes_sent = 0, bytes_received = 0;  // application bytes
    std::uint64_t bytes_placed = 0;  // of bytes_received: straight into a waiting reader's buffer
    std::uint64_t segments_sent = 0, segments_received = 0;
    std::uint64_t retransmits = 0, fast_retransmits = 0, timeouts = 0;
    std::uint64_t dup_acks = 0, ooo_segments = 0, challenge_acks = 0;
    // Segments refused by RFC 9293 3.10.7.4 / RFC 5961 / RFC 7323 (each answered
    // with an ACK except the RSTs): outside the receive window, an RST outside
    // it, an ACK of data never sent, an ACK older than the largest window,
    // an old timestamp (PAWS). And zero/small-window probes sent.
    std::uint64_t out_of_window = 0, rst_ignored = 0, ack_of_unsent = 0, ack_too_old = 0, paws_rejected = 0;
    std::uint64_t persist_probes = 0;
};

class tcb : public std::enable_shared_from_this<tcb> {
public:
    // buffers: the send and receive buffer capacities the layer granted.
    tcb(tcp_layer& layer, four_tuple id, std::pair<std::size_t, std::size_t> buffers);
    ~tcb();
    tcb(const tcb&) = delete;
    tcb& operator=(const tcb&) = delete;

    // ---- from the TCP layer
    // Active open: SYN_SENT (traced from `from`: CLOSED, or LISTEN for a
    // send on a passively opened TCB).
    void open_active(state from = state::closed);
    // Passive open by a listener's SYN: LISTEN -> SYN_RCVD.
    void open_passive(const wire::tcp_view& syn, listener_state& parent);
    // Passive open by the ACK that returned a valid SYN cookie (iss_ = the
    // cookie): straight to ESTABLISHED with what the cookie remembered.
    void open_from_cookie(const wire::tcp_view& ack, listener_state& parent, std::uint16_t mss,
                          std::optional<std::uint8_t> peer_wscale);
    // A segment for this connection (checksum already verified).
    void deliver(const wire::tcp_view& seg);

    // ---- from the application (api::connection)
    // Bytes copied into the send buffer (may be fewer than data.size(); 0 when full).
    std::size_t app_write(wire::bytes data);
    // Bytes copied out of the receive buffer (0 when empty).
    std::size_t app_read(wire::mut_bytes out);
    void app_shutdown_write();  // queue a FIN after the data
    void app_close();           // shutdown_write, and the application is gone
    void app_abort();           // RST now
    void set_no_delay(bool on) noexcept { nagle_ = !on; }
    // Keep-alive probes for this connection (timing from tcp_config::keepalive).
    void set_keep_alive(bool on);
    // Gives up an open that has not completed by `deadline` (timed_out).
    void set_connect_deadline(runtime::time_point deadline);
    // The next hop did not answer ARP: an open in progress fails with host_unreachable.
    void fail_unreachable();
    // Wait helpers: resume the caller when the condition may have changed.
    void wait_readable(std::coroutine_handle<> h) noexcept { reader_ = h; }
    // Direct placement: a reader that found nothing to read lends its buffer
    // while it waits; in-order data then goes straight into it instead of
    // through the receive buffer (one copy fewer). take_placed() ends the
    // loan (also when the reader is destroyed waiting) and says how many
    // bytes landed.
    void lend_read_buffer(wire::mut_bytes out) noexcept {
        read_into_ = out;
        placed_ = 0;
    }
    std::size_t take_placed() noexcept {
        read_into_ = {};
        return std::exchange(placed_, 0);
    }
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
    bool readable() const noexcept { return !rcvbuf_.empty(); }
    bool peer_finished() const noexcept { return fin_received_; }
    bool can_write() const noexcept;
    bool write_shut() const noexcept { return fin_queued_; }
    std::size_t send_queue() const noexcept { return sndbuf_.size(); }
    std::size_t receive_queue() const noexcept { return rcvbuf_.size(); }
    std::size_t send_buffer() const noexcept { return sndbuf_.capacity(); }
    std::size_t receive_buffer() const noexcept { return rcvbuf_.capacity(); }
    // Bytes of buffer storage allocated now (0 for an idle or closed connection).
    std::size_t buffer_memory() const noexcept {
        return (sndbuf_.allocated() ? sndbuf_.capacity() : 0) + (rcvbuf_.allocated() ? rcvbuf_.capacity() : 0);
    }
    const connection_stats& stats() const noexcept { return stats_; }
    const rtt_estimator& rtt() const noexcept { return rtt_; }
    std::uint32_t cwnd() const noexcept { return cc_->cwnd(); }
    std::uint32_t snd_wnd() const noexcept { return snd_wnd_; }
    std::uint16_t mss() const noexcept { return snd_mss_; }
    seq32 snd_una() const noexcept { return snd_una_; }
    seq32 snd_nxt() const noexcept { return snd_nxt_; }
    seq32 rcv_nxt() const noexcept { return rcv_nxt_; }

private:
    friend class tcp_layer;
    enum class wake : std::uint8_t { segment, timer, app };
    struct event_awaiter;
    // What processing one segment (input.cpp) found; the states read the
    // rest (FIN received, our FIN acknowledged) from the TCB itself.
    struct input_result {
        bool reset = false;  // an acceptable RST: the connection is reset
    };

    // life and states (states.cpp)
    runtime::task<void> life(std::shared_ptr<tcb> self, state first, state from);
    runtime::task<state> syn_sent();
    runtime::task<state> syn_rcvd();
    runtime::task<state> established();
    runtime::task<state> fin_wait_1();
    runtime::task<state> fin_wait_2();
    runtime::task<state> close_wait();
    runtime::task<state> closing();
    runtime::task<state> last_ack();
    runtime::task<state> time_wait();
    state to(state next, const char* cause, std::error_code ec = {}) noexcept;
    void enter(state from, state to);
    event_awaiter next_event() noexcept;
    void resume(wake w);
    static void timer_fired(runtime::timer_node& n);
    // The common handling of timer and app wake-ups in synchronized states;
    // returns a terminal state (closed) or nullopt to carry on.
    std::optional<state> on_timer_or_abort(wake w);
    std::optional<state> step(wake w, bool reset_is_error);

    // input (input.cpp), RFC 9293 3.10.7
    enum class syn_answer { ignore, reset, established, simultaneous };
    syn_answer syn_sent_input(const wire::tcp_view& seg);  // RFC 9293 3.10.7.3
    input_result input(const wire::tcp_view& seg);
    bool acceptable(const wire::tcp_view& seg) const;
    void check_rst(const wire::tcp_view& seg, input_result& r);
    bool check_ack(const wire::tcp_view& seg);
    void process_ack(const wire::tcp_view& seg, std::uint32_t acked);
    void process_text(const wire::tcp_view& seg);
    void update_window(const wire::tcp_view& seg);
    void take_options(const wire::tcp_options& o, bool syn);
    void challenge_ack();
    void update_ts_recent(const wire::tcp_view& seg);

    // output (output.cpp)
    void output();
    bool send_segment(seq32 seq, std::uint8_t flags, std::size_t offset, std::size_t len);
    bool send_segment(storage::packet frame, seq32 seq, std::uint8_t flags, std::size_t offset, std::size_t len);
    // A frame for a segment of `payload` bytes (a segmentation-offload one if
    // the device has it), or nullopt with a retry scheduled.
    std::optional<storage::packet> frame_for(std::uint8_t flags, std::size_t payload);
    // The most payload one frame carries: an MSS, or with segmentation
    // offload as many MSS as fit in a 64 KiB IP packet.
    std::size_t max_frame_payload() const noexcept;
    void send_ack() { send_segment(snd_nxt_, wire::tcp_flag::ack, 0, 0); }
    void send_syn(bool with_ack);
    seq32 data_start() const noexcept { return snd_una_ == iss_ ? iss_ + 1 : snd_una_; }
    bool fin_acked() const noexcept { return fin_seq_ && snd_una_ > *fin_seq_; }
    void dup_ack();
    void finish();
    void send_rst();
    void retransmit_first();
    void on_rto();
    void on_persist();
    std::optional<state> on_keepalive();
    void spend_opening_timers();
    void release_buffers();
    void schedule_ack(bool immediate);
    std::uint16_t advertised_window();
    void arm_timer();
    bool flight() const noexcept { return snd_nxt_ != snd_una_; }
    std::uint32_t flight_size() const noexcept { return static_cast<std::uint32_t>(snd_nxt_ - snd_una_); }
    std::size_t unsent() const noexcept;
    void wake_app();
    std::uint32_t ts_now() const noexcept;

    tcp_layer& layer_;
    runtime::executor& ex_;
    const tcp_config& cfg_;
    four_tuple id_;
    state state_ = state::closed;
    const char* cause_ = "";
    std::error_code error_;
    std::weak_ptr<listener_state> parent_;  // passive opens: the listener until established
    bool passive_ = false;

    // RFC 9293 3.3.1 send sequence variables
    seq32 iss_, snd_una_, snd_nxt_, snd_max_, snd_wl1_, snd_wl2_;
    std::uint32_t snd_wnd_ = 0, max_snd_wnd_ = 0;
    // receive sequence variables
    seq32 irs_, rcv_nxt_, rcv_adv_;  // rcv_adv_: right edge of the window advertised
    // options (RFC 9293 3.7.1, RFC 7323)
    std::uint16_t snd_mss_ = 536, rcv_mss_ = 1460;
    std::uint8_t snd_wscale_ = 0, rcv_wscale_ = 0;
    bool wscale_ok_ = false, ts_ok_ = false;
    std::uint32_t ts_recent_ = 0, ts_offset_ = 0;
    seq32 last_ack_sent_;

    byte_ring sndbuf_, rcvbuf_;  // sndbuf_ starts at snd_una (after the SYN)
    interval_set ooo_;           // out-of-order data held in rcvbuf_'s free space
    std::optional<seq32> peer_fin_;  // FIN seen beyond rcv_nxt
    std::optional<seq32> fin_seq_;  // our FIN's sequence number once sent
    bool fin_queued_ = false, fin_received_ = false, orphaned_ = false, abort_ = false, ack_now_ = false;
    bool nagle_;

    rtt_estimator rtt_;
    std::unique_ptr<congestion_control> cc_;
    unsigned dupacks_ = 0, retries_ = 0, probes_ = 0;
    bool in_recovery_ = false;
    seq32 recover_;
    bool rtt_timing_ = false;  // Karn: one segment timed at a time when there are no timestamps
    seq32 rtt_seq_;
    runtime::time_point rtt_start_{};
    runtime::time_point last_send_{};

    static constexpr runtime::time_point never = runtime::time_point::max();
    runtime::time_point rto_at_ = never, persist_at_ = never, delack_at_ = never,
                        state_at_ = never,     // state_at_: connect deadline, FIN_WAIT_2 and TIME_WAIT
                        tx_retry_at_ = never,  // a send found no free frame: try output() again then
                        keepalive_at_ = never;
    runtime::time_point last_heard_{};  // the last segment from the peer (keep-alive)
    unsigned keepalive_probes_ = 0;
    bool keepalive_ = false;
    std::size_t reserved_ = 0;  // buffer capacity counted against tcp_config::memory_limit
    runtime::timer_node timer_;
    unsigned segs_since_ack_ = 0;

    std::coroutine_handle<> waiter_;
    wake wake_ = wake::app;
    bool app_pending_ = false;
    const wire::tcp_view* seg_ = nullptr;
    std::coroutine_handle<> reader_, writer_, opener_;
    wire::mut_bytes read_into_;  // a waiting reader's buffer (lend_read_buffer)
    std::size_t placed_ = 0;     // bytes placed in it
    connection_stats stats_;
};

// Suspends a state coroutine until the next event; an application request
// made while the coroutine was busy is delivered at once.
struct tcb::event_awaiter {
    tcb& t;
    bool await_ready() const noexcept {
        if (!t.app_pending_) return false;
        t.app_pending_ = false;
        t.wake_ = wake::app;
        return true;
    }
    void await_suspend(std::coroutine_handle<> h) const noexcept { t.waiter_ = h; }
    wake await_resume() const noexcept { return t.wake_; }
};

inline tcb::event_awaiter tcb::next_event() noexcept { return event_awaiter{*this}; }

}  // namespace coronet::tcp
