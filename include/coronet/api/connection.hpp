// The application's view of TCP: a connection (co_await read / write /
// shutdown_write / close, abort) and a listener (co_await accept). Errors are
// std::error_code with POSIX values in the generic category, so they compare
// equal to std::errc and asio::error constants.
#pragma once

#include <boost/system/result.hpp>
#include <coronet/runtime/task.hpp>
#include <coronet/tcp/layer.hpp>
#include <memory>
#include <optional>

namespace coronet {

template <class T>
using result = boost::system::result<T, std::error_code>;

struct endpoint {
    boost::asio::ip::address_v4 address;
    std::uint16_t port = 0;
    friend bool operator==(const endpoint&, const endpoint&) = default;
};

class connection {
public:
    connection() = default;
    explicit connection(std::shared_ptr<tcp::tcb> t) noexcept : t_(std::move(t)) {}
    connection(connection&&) noexcept = default;
    connection& operator=(connection&& other) noexcept;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    // A connection dropped without close() is closed gracefully.
    ~connection();

    // Reads up to buf.size() bytes; 0 when the peer has finished (FIN).
    // Errors: connection_reset, timed_out, connection_aborted, not_connected.
    runtime::task<result<std::size_t>> read(wire::mut_bytes buf);
    // Reading in place, without a copy: waits as read() does, then lends the
    // received bytes where they lie in the receive buffer (all of them, or
    // the first piece when they wrap round its end); an empty view when the
    // peer has finished (FIN). The view stays valid until consume() or the
    // next co_await of anything: use the bytes, then consume() what was used
    // (the rest is lent again by the next read_view). Errors as read().
    runtime::task<result<wire::bytes>> read_view();
    // Gives n bytes of what read_view lent back (the receive window opens as
    // after a read). Errors: invalid_argument when n is more than readable(),
    // not_connected.
    result<void> consume(std::size_t n);
    // Queues all of data (waiting for buffer space). Errors: broken_pipe after
    // shutdown_write/close, connection_reset, timed_out, not_connected.
    runtime::task<result<void>> write(wire::bytes data);
    // Half-close: sends FIN after the queued data; reading goes on.
    runtime::task<result<void>> shutdown_write();
    // The same, returning once the peer has acknowledged the FIN (and so
    // every byte before it): FIN_WAIT_2, TIME_WAIT or CLOSED. Errors: the
    // one that ended the connection first (connection_reset, timed_out,
    // connection_aborted after abort()), not_connected.
    runtime::task<result<void>> shutdown_write_acknowledged();
    // Graceful close: FIN after the queued data, unread input discarded;
    // returns once the peer has acknowledged everything (FIN_WAIT_2,
    // TIME_WAIT or CLOSED), or with the error that ended the connection.
    // abort() while close() waits cuts it short (connection_aborted).
    runtime::task<result<void>> close();
    // Sends RST and drops everything.
    void abort();

    // The same without waiting, for code that polls (an event loop, a POSIX
    // shim such as the packetdrill adapter). try_read reads what has arrived,
    // 0 once the peer has finished; try_write queues what fits now. Both say
    // resource_unavailable_try_again when they can do nothing yet, and fail
    // as read / write do.
    result<std::size_t> try_read(wire::mut_bytes buf);
    result<std::size_t> try_write(wire::bytes data);
    // Waits until try_read would not say resource_unavailable_try_again:
    // data has arrived, the peer has finished, or the connection ended. It
    // lends no buffer meanwhile, so a waiting reader holds none (a proxy's
    // idle sessions). Errors: not_connected.
    runtime::task<result<void>> wait_readable();
    // Bytes a read would return now (without the FIN), and bytes a write
    // could queue now (0 once writing is over).
    std::size_t readable() const noexcept { return valid() ? t_->receive_queue() : 0; }
    std::size_t writable() const noexcept;
    // The error that ended the connection (reset, timeout), or none.
    std::error_code error() const noexcept { return valid() ? t_->error() : std::error_code{}; }

    // Whether the connection can still be read, written or closed: false
    // once close() returned or abort() was called, and for a default one.
    bool valid() const noexcept { return t_ && !t_->app_released(); }
    // The state, as the application sees it: closed once close() returned or
    // abort() was called (tcb().current() is the protocol's, TIME_WAIT say).
    tcp::state state() const noexcept { return valid() ? t_->current() : tcp::state::closed; }
    // The addresses and the control block's counters stay readable after
    // close() and abort(), for the connection's last report; a
    // default-constructed connection has no addresses (0.0.0.0:0).
    endpoint local() const noexcept { return t_ ? endpoint{t_->id().local, t_->id().local_port} : endpoint{}; }
    endpoint remote() const noexcept { return t_ ? endpoint{t_->id().remote, t_->id().remote_port} : endpoint{}; }
    // Throws std::logic_error for a default-constructed connection (it has none).
    const tcp::tcb& tcb() const;
    // The control block's counters now (a copy; reading them makes nothing:
    // tcb::counters()), also after close(); zeros for a default-constructed
    // connection.
    tcp::connection_stats stats() const;
    void set_no_delay(bool on) noexcept {
        if (valid()) t_->set_no_delay(on);
    }
    // TCP keep-alive probes after tcp_config::keepalive.idle of silence; a
    // peer that answers none of them ends the connection (timed_out).
    void set_keep_alive(bool on) {
        if (valid()) t_->set_keep_alive(on);
    }
    // The congestion control of this connection, by name (tcp_config::congestion:
    // "newreno", "cubic", "bbr"); it starts over from the initial window.
    // Errors: invalid_argument for a name coronet does not know, not_connected.
    std::error_code set_congestion_control(std::string_view name);

private:
    // Let go of the connection (close() returned, abort()): the control
    // block stays for the accessors above, marked released (tcb::
    // app_released) rather than held by a second pointer: a handle is one
    // shared_ptr, 16 bytes (a server holding a million idle connections
    // holds a million handles).
    void release() noexcept { t_->release_app(); }
    void let_go() noexcept;  // the destructor's and move assignment's end of this handle

    std::shared_ptr<tcp::tcb> t_;
};

class listener {
public:
    listener() = default;
    explicit listener(std::shared_ptr<tcp::listener_state> l) noexcept : l_(std::move(l)), port_(l_ ? l_->port() : 0) {}
    listener(listener&&) noexcept = default;
    listener& operator=(listener&&) noexcept = default;
    ~listener();

    // The next established connection. Errors: operation_canceled once closed.
    runtime::task<result<connection>> accept();
    // The next established connection without waiting; errors:
    // resource_unavailable_try_again when none is queued, operation_canceled
    // once closed.
    result<connection> try_accept();
    // Established connections waiting for accept().
    std::size_t queued() const noexcept { return l_ ? l_->queued() : 0; }
    // An MSS clamp (TCP_MAXSEG) for the connections it makes from now on.
    void set_max_segment(std::uint16_t mss) noexcept {
        if (l_) l_->set_max_segment(mss);
    }
    // The congestion control of the connections it makes from now on.
    // Errors: invalid_argument for a name coronet does not know, not_connected once closed.
    std::error_code set_congestion_control(std::string_view name);
    // Stops listening; connections not yet accepted are reset.
    void close();
    // The port listened on, also after close(); 0 for a default-constructed listener.
    std::uint16_t port() const noexcept { return port_; }

private:
    std::shared_ptr<tcp::listener_state> l_;
    std::uint16_t port_ = 0;
};

// Opens a connection through layer and waits until it is established.
// Errors: connection_refused, timed_out (after SYN retries or `timeout`),
// host_unreachable (ARP failed), address_not_available (no ephemeral port).
runtime::task<result<connection>> connect(tcp::tcp_layer& layer, endpoint remote,
                                          std::optional<runtime::duration> timeout = std::nullopt);

}  // namespace coronet
