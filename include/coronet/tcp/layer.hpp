// The TCP layer of one host: demultiplexes segments by 4-tuple to their
// connection, hands SYNs to listeners, answers everything else with a reset
// (RFC 9293 3.10.7.1), allocates ephemeral ports and ISNs (RFC 6528),
// rate-limits challenge ACKs (RFC 5961 sec. 7), and hands ICMP errors that
// pass RFC 5927's checks to their connection.
#pragma once

#include <array>
#include <boost/system/result.hpp>
#include <coronet/net/host.hpp>
#include <coronet/tcp/isn.hpp>
#include <coronet/tcp/syn_cookies.hpp>
#include <coronet/tcp/tcb.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace coronet::tcp {

template <class T>
using result = boost::system::result<T, std::error_code>;

struct layer_counters {
    std::uint64_t segments_in = 0, segments_out = 0;
    // Segments dropped before demultiplexing, by cause: shorter than a TCP
    // header; data offset < 5 or past the end; an option of length < 2, past
    // the header or wrong for its kind; a bad checksum; SYN with FIN or RST, or
    // none of SYN, ACK, RST; to a broadcast address, or from a broadcast,
    // multicast, zero, loopback or our own address, or port 0.
    std::uint64_t truncated = 0, bad_data_offset = 0, bad_options = 0, bad_checksums = 0, bad_flags = 0,
                  bad_addresses = 0;
    std::uint64_t resets_sent = 0, no_connection = 0, syns_dropped = 0, challenge_acks_limited = 0;
    std::uint64_t time_wait_reused = 0;
    // TIME_WAIT connections ended early for a new connection in a full
    // table (tcp_config::max_connections), the longest-waiting first.
    std::uint64_t time_wait_evicted = 0;
    // SYN cookies sent (SYN queue full), returned valid (a connection made),
    // returned invalid or too old (answered with a reset).
    std::uint64_t syn_cookies_sent = 0, syn_cookies_accepted = 0, syn_cookies_rejected = 0;
    // New connections refused at tcp_config::max_connections or memory_limit.
    std::uint64_t connections_refused = 0;
    // Buffer growths (auto-tuning) refused: they would pass half the memory limit.
    std::uint64_t buffer_growths_refused = 0;
    // ICMP errors (RFC 5927): applied to a connection (path MTU lowered, or
    // an unreachable / time exceeded); dropped because they quote no
    // connection, a sequence number not in flight (forged or stale), a path
    // MTU that is no news or impossible, or a type/code with no meaning for TCP.
    std::uint64_t icmp_path_mtu = 0, icmp_errors = 0;
    std::uint64_t icmp_no_connection = 0, icmp_out_of_window = 0, icmp_mtu_ignored = 0, icmp_ignored = 0;

    // Segments dropped as malformed or impossible, all causes together.
    std::uint64_t dropped() const noexcept {
        return truncated + bad_data_offset + bad_options + bad_checksums + bad_flags + bad_addresses;
    }
};

// A passively opened TCB: SYNs to its port make connections that wait in
// the accept queue once established.
class listener_state : public std::enable_shared_from_this<listener_state> {
public:
    listener_state(runtime::executor& ex, std::uint16_t port, std::size_t backlog, std::function<void()> on_close)
        : ex_(ex), port_(port), backlog_(backlog), on_close_(std::move(on_close)) {}
    std::uint16_t port() const noexcept { return port_; }
    std::size_t backlog() const noexcept { return backlog_; }
    std::size_t queued() const noexcept { return ready_.size(); }  // established, not yet accepted
    // The MSS clamp (open_params::max_segment) of the connections it makes; 0: none.
    std::uint16_t max_segment() const noexcept { return max_segment_; }
    void set_max_segment(std::uint16_t mss) noexcept { max_segment_ = mss; }
    // The congestion control of the connections it makes ("": tcp_config's).
    const std::string& congestion_control() const noexcept { return congestion_; }
    void set_congestion_control(std::string name) { congestion_ = std::move(name); }
    bool closed() const noexcept { return closed_; }
    // LISTEN while open, CLOSED once closed.
    state current() const noexcept { return closed_ ? state::closed : state::listen; }
    // The next established connection, or nullptr when none is waiting.
    std::shared_ptr<tcb> pop();
    void wait(std::coroutine_handle<> h) noexcept { acceptor_ = h; }
    // h no longer waits (its coroutine is being destroyed).
    void stop_waiting(std::coroutine_handle<> h) noexcept {
        if (acceptor_ == h) acceptor_ = {};
    }
    // Stops listening; connections not yet accepted are reset.
    void close();
    // The layer is gone: closing no longer tells it.
    void detach() noexcept { on_close_ = nullptr; }

    // ---- the TCP layer's side
    // Connections in SYN_RCVD (the SYN queue, bounded by the backlog too). One
    // completes only while the accept queue has room: queued() <= backlog().
    std::size_t embryonic() const noexcept { return embryonic_; }
    void add_embryonic() noexcept { ++embryonic_; }
    // A connection of the SYN queue is established: ready to accept.
    void established(std::shared_ptr<tcb> c);
    // A connection of the SYN queue died.
    void forget() noexcept;
    // When the last SYN cookie was sent (the epoch when none was).
    runtime::time_point last_cookie() const noexcept { return last_cookie_; }
    void cookie_sent(runtime::time_point now) noexcept { last_cookie_ = now; }

private:
    runtime::executor& ex_;
    std::uint16_t port_;
    std::size_t backlog_;
    std::function<void()> on_close_;
    std::size_t embryonic_ = 0;
    std::uint16_t max_segment_ = 0;
    std::string congestion_;
    runtime::time_point last_cookie_{};
    bool closed_ = false;
    std::deque<std::shared_ptr<tcb>> ready_;
    std::coroutine_handle<> acceptor_;
};

class tcp_layer final : public net::ipv4_handler, private tcb_owner {
public:
    // Registers with host for protocol 6. Every random choice (ISN and cookie
    // secrets, ephemeral ports) comes from rng: the kernel's entropy unless a
    // seeded source is given (the simulator, tests).
    tcp_layer(net::host& host, tcp_config cfg = {}, std::optional<runtime::random_source> rng = {});
    ~tcp_layer();
    tcp_layer(const tcp_layer&) = delete;
    tcp_layer& operator=(const tcp_layer&) = delete;

    // Starts an active open to remote (local port: ephemeral when 0); it gives
    // up with timed_out at `deadline`. max_segment: an MSS clamp (open_params).
    // Errors: address_in_use (the 4-tuple exists), address_not_available (no
    // free port), no_buffer_space (refused at max_connections or the memory limit),
    // network_unreachable (off the subnet with no gateway: at once, not by a timeout).
    result<std::shared_ptr<tcb>> connect(address_v4 remote, std::uint16_t remote_port, std::uint16_t local_port = 0,
                                         state from = state::closed,
                                         runtime::time_point deadline = runtime::time_point::max(),
                                         std::uint16_t max_segment = 0);
    std::shared_ptr<tcb> make_passive_tcb(listener_state& l, const four_tuple& id, seq32 iss,
                                          std::pair<std::size_t, std::size_t> buffers);
    // Passive open on port. Errors: address_in_use.
    result<std::shared_ptr<listener_state>> listen(std::uint16_t port, std::size_t backlog);

    // Called on every state transition (tracing, pcap comments).
    std::function<void(const tcb&, state from, state to, const char* cause)> on_transition;

    net::host& host() noexcept override { return host_; }
    const net::host& host() const noexcept { return host_; }
    runtime::executor& executor() noexcept override { return host_.executor(); }
    const tcp_config& config() const noexcept override { return cfg_; }
    const layer_counters& counters() const noexcept { return counters_; }
    // The ISN generator (tests place an ISN where they want it).
    const isn_generator& isns() const noexcept { return isn_; }
    std::size_t connection_count() const noexcept { return conns_.size(); }
    // Buffer capacity reserved by the connections (against tcp_config::memory_limit).
    std::size_t buffer_reserved() const noexcept { return reserved_; }
    // Freed connection buffers kept for new ones (tcp_config::buffer_cache).
    const std::shared_ptr<buffer_cache>& buffers() override {
        if (!buffers_) buffers_ = std::make_shared<buffer_cache>(cfg_.buffer_cache);
        return buffers_;
    }
    // Every connection (for ss-like tables and tests).
    template <class F>
    void for_each(F&& f) const {
        for (const auto& [id, c] : conns_) f(*c);
    }
    // Every open listener.
    template <class F>
    void for_each_listener(F&& f) const {
        for (const auto& [port, l] : listeners_)
            if (auto open = l.lock(); open && !open->closed()) f(*open);
    }

private:
    // tcb_owner
    void transition(tcb& c, state from, state to, const char* cause) override;
    void closed(tcb& c) override;
    void unreserve(std::size_t bytes) noexcept override { reserved_ -= std::min(bytes, reserved_); }
    bool reserve(std::size_t bytes) noexcept override;
    void reset_for(const four_tuple& id, const wire::tcp_view& seg) override;  // RFC 9293 3.10.7.1
    bool challenge_ack_allowed() override;
    void segments_sent(std::uint64_t n) noexcept override { counters_.segments_out += n; }

    void on_ipv4(const wire::ipv4_view& ip, const storage::rx_meta& meta) override;
    void on_icmp_error(const net::icmp_error& e) override;
    void on_listen(listener_state& l, const four_tuple& id, const wire::tcp_view& seg);
    bool completes_into_full_queue(const tcb& c, const wire::tcp_view& seg) const;
    std::shared_ptr<listener_state> listener(std::uint16_t port) const;
    // The buffer sizes a new connection gets, or nullopt when it is refused.
    std::optional<std::pair<std::size_t, std::size_t>> admit();
    // Ends the connection longest in TIME_WAIT for a new one; false when none is.
    bool evict_time_wait();
    // A connection that entered TIME_WAIT (time_wait_order_), and the
    // connection itself while it is still there (else null).
    using time_wait_entry = std::pair<four_tuple, const tcb*>;
    std::shared_ptr<tcb> still_in_time_wait(const time_wait_entry& e) const;
    std::shared_ptr<tcb> make_tcb(const four_tuple& id, seq32 iss, std::pair<std::size_t, std::size_t> buffers,
                                  runtime::time_point deadline = runtime::time_point::max(),
                                  std::uint16_t max_segment = 0);
    void send_syn_cookie(listener_state& l, const four_tuple& id, const wire::tcp_view& syn);
    bool accept_syn_cookie(listener_state& l, const four_tuple& id, const wire::tcp_view& ack);
    void send(const four_tuple& id, const wire::tcp_repr& r);
    std::uint16_t ephemeral_port(address_v4 remote, std::uint16_t remote_port);
    void on_unreachable(address_v4 next_hop);

    net::host& host_;
    tcp_config cfg_;
    runtime::random_source rng_;
    isn_generator isn_;
    syn_cookies cookies_;
    std::unordered_map<four_tuple, std::shared_ptr<tcb>, four_tuple_hash> conns_;
    std::unordered_map<std::uint16_t, std::weak_ptr<listener_state>> listeners_;
    // Passive opens not yet established, and the listener that will take them.
    std::unordered_map<const tcb*, std::weak_ptr<listener_state>> embryos_;
    // The connections that entered TIME_WAIT, in that order, and how many
    // are in it now. An entry whose connection has left TIME_WAIT (its 2MSL
    // over, a SYN that reused it, a reset) stays until it reaches the front,
    // or until a connection enters TIME_WAIT with the queue longer than
    // twice the TIME_WAIT connections and 64: then all such entries go.
    std::deque<time_wait_entry> time_wait_order_;
    std::size_t time_waits_ = 0;
    // RFC 6056 algorithm 4 (double-hash): a keyed hash of the destination
    // gives the offset into the port range and picks one of these counters,
    // which moves on by a random step per connection (Linux's answer to
    // device tracking through the table). Ports to one destination say
    // nothing of those to others.
    std::array<std::uint8_t, 16> port_key_;
    std::vector<std::uint32_t> port_steps_;
    runtime::time_point challenge_window_{};
    unsigned challenge_budget_ = 0;  // this second's, drawn at random
    std::size_t reserved_ = 0;
    std::shared_ptr<buffer_cache> buffers_;
    layer_counters counters_;
};

}  // namespace coronet::tcp
