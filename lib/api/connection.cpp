#include <coronet/api/connection.hpp>
#include <stdexcept>

namespace coronet {

namespace {

// Suspends until the TCB wakes the application (data, space, state change).
// Waits in one of the TCB's slots. An awaiter destroyed while waiting (its
// coroutine destroyed) takes its handle back, so nothing resumes a dead frame.
struct tcb_wait {
    tcp::tcb& t;
    void (tcp::tcb::*slot)(std::coroutine_handle<>) noexcept;
    std::coroutine_handle<> waiting{};
    tcb_wait(tcp::tcb& tcb, void (tcp::tcb::*s)(std::coroutine_handle<>) noexcept) : t(tcb), slot(s) {}
    tcb_wait(const tcb_wait&) = delete;
    tcb_wait& operator=(const tcb_wait&) = delete;
    ~tcb_wait() {
        if (waiting) t.stop_waiting(waiting);
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        waiting = h;
        (t.*slot)(h);
    }
    void await_resume() noexcept { waiting = {}; }
};

// Waits for data, lending the buffer to the TCB meanwhile (direct
// placement); returns how many bytes landed in it. Destroyed while waiting
// (its coroutine destroyed), it takes the loan and the wait back.
struct read_wait {
    tcp::tcb& t;
    tcp::read_loan loan;  // the TCB points at it while we wait
    std::coroutine_handle<> waiting;
    read_wait(tcp::tcb& tcb, wire::mut_bytes b) : t(tcb), loan{b} {}
    read_wait(const read_wait&) = delete;
    read_wait& operator=(const read_wait&) = delete;
    ~read_wait() {
        if (!waiting) return;
        t.end_loan();
        t.stop_waiting(waiting);
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        waiting = h;
        t.lend_read_buffer(loan);
        t.wait_readable(h);
    }
    std::size_t await_resume() noexcept {
        waiting = {};
        t.end_loan();
        return loan.placed;
    }
};

std::error_code not_connected() { return std::make_error_code(std::errc::not_connected); }

std::error_code would_block() { return std::make_error_code(std::errc::resource_unavailable_try_again); }

bool opening(tcp::state s) { return s == tcp::state::syn_sent || s == tcp::state::syn_rcvd; }

// Whether the application may still queue data: open, and not shut for writing.
bool writing(const tcp::tcb& t) {
    const tcp::state s = t.current();
    return !t.write_shut() && (opening(s) || s == tcp::state::established || s == tcp::state::close_wait);
}

// Waits until our FIN is acknowledged (FIN_WAIT_2, TIME_WAIT, CLOSED) or
// the connection ends with an error.
runtime::task<result<void>> fin_acknowledged(std::shared_ptr<tcp::tcb> t) {
    for (;;) {
        if (t->error()) co_return t->error();
        const tcp::state s = t->current();
        if (s == tcp::state::fin_wait_2 || s == tcp::state::time_wait || s == tcp::state::closed ||
            s == tcp::state::listen)
            co_return result<void>{};
        co_await tcb_wait{*t, &tcp::tcb::wait_open};
    }
}

bool would_block(const result<std::size_t>& r) { return !r && r.error() == std::errc::resource_unavailable_try_again; }

// What has arrived (0 at the peer's FIN or once closed), or would_block.
result<std::size_t> read_now(tcp::tcb& t, wire::mut_bytes buf) {
    if (const std::size_t n = t.app_read(buf); n > 0 || buf.empty()) return n;
    if (t.peer_finished()) return std::size_t{0};
    if (t.error()) return t.error();
    if (t.current() == tcp::state::closed) return std::size_t{0};
    return would_block();
}

// Whether read_now would return at once: data, the peer's FIN, an error, or the end.
bool read_ready(const tcp::tcb& t) {
    return t.readable() || t.peer_finished() || t.error() || t.current() == tcp::state::closed;
}

// The next established connection, operation_canceled once closed, or would_block.
result<connection> accept_now(tcp::listener_state& l) {
    if (auto c = l.pop()) return connection{std::move(c)};
    if (l.closed()) return std::make_error_code(std::errc::operation_canceled);
    return would_block();
}

// Queues what fits of data, or would_block when nothing does.
result<std::size_t> write_now(tcp::tcb& t, wire::bytes data) {
    if (t.error()) return t.error();
    if (!writing(t)) return std::make_error_code(std::errc::broken_pipe);
    if (data.empty()) return std::size_t{0};
    if (const std::size_t n = t.app_write(data); n > 0) return n;
    return would_block();
}

}  // namespace

connection& connection::operator=(connection&& other) noexcept {
    if (this != &other) {
        let_go();
        t_ = std::move(other.t_);
    }
    return *this;
}

const tcp::tcb& connection::tcb() const {
    if (!t_) throw std::logic_error("coronet::connection::tcb(): a default-constructed connection has none");
    return *t_;
}

tcp::connection_stats connection::stats() const { return t_ ? t_->counters() : tcp::connection_stats{}; }

connection::~connection() { let_go(); }

// The handle goes: a connection still open is closed gracefully, and the
// TCB learns that nothing reads it any more.
void connection::let_go() noexcept {
    if (valid()) t_->app_close();
    if (t_) t_->drop_app();
}

runtime::task<result<std::size_t>> connection::read(wire::mut_bytes buf) {
    if (!valid()) co_return not_connected();
    auto keep = t_;  // the connection object may be moved while we wait
    for (;;) {
        if (auto r = read_now(*keep, buf); !would_block(r)) co_return r;
        if (const std::size_t placed = co_await read_wait{*keep, buf}; placed > 0) co_return placed;
    }
}

runtime::task<result<wire::bytes>> connection::read_view() {
    if (!valid()) co_return not_connected();
    auto keep = t_;
    while (!read_ready(*keep)) co_await tcb_wait{*keep, &tcp::tcb::wait_readable};
    if (const wire::bytes view = keep->app_view(); !view.empty()) co_return view;
    if (keep->peer_finished() || keep->current() == tcp::state::closed) co_return wire::bytes{};
    co_return keep->error();
}

result<void> connection::consume(std::size_t n) {
    if (!valid()) return not_connected();
    if (n > t_->receive_queue()) return std::make_error_code(std::errc::invalid_argument);
    t_->app_consume(n);
    return {};
}

runtime::task<result<void>> connection::wait_readable() {
    if (!valid()) co_return not_connected();
    auto keep = t_;
    while (!read_ready(*keep)) co_await tcb_wait{*keep, &tcp::tcb::wait_readable};
    co_return result<void>{};
}

runtime::task<result<void>> connection::write(wire::bytes data) {
    if (!valid()) co_return not_connected();
    auto keep = t_;
    std::size_t done = 0;
    while (done < data.size()) {
        auto r = write_now(*keep, data.subspan(done));
        if (r)
            done += *r;
        else if (!would_block(r))
            co_return r.error();
        if (done < data.size()) co_await tcb_wait{*keep, &tcp::tcb::wait_writable};
    }
    co_return result<void>{};
}

runtime::task<result<void>> connection::shutdown_write() {
    if (!valid()) co_return not_connected();
    if (t_->error()) co_return t_->error();
    t_->app_shutdown_write();
    co_return result<void>{};
}

runtime::task<result<void>> connection::close() {
    if (!valid()) co_return not_connected();
    // t_ stays set while we wait, so abort() can still cut a close short
    // (a proxy shutting down, a peer that never acknowledges).
    auto t = t_;
    t->app_close();
    auto r = co_await fin_acknowledged(t);
    if (t_ == t) release();  // (unless this connection was moved meanwhile)
    co_return r;
}

runtime::task<result<void>> connection::shutdown_write_acknowledged() {
    if (!valid()) co_return not_connected();
    if (t_->error()) co_return t_->error();
    t_->app_shutdown_write();
    co_return co_await fin_acknowledged(t_);
}

result<std::size_t> connection::try_read(wire::mut_bytes buf) {
    if (!valid()) return not_connected();
    return read_now(*t_, buf);
}

result<std::size_t> connection::try_write(wire::bytes data) {
    if (!valid()) return not_connected();
    return write_now(*t_, data);
}

std::size_t connection::writable() const noexcept {
    if (!valid() || !writing(*t_) || !t_->can_write()) return 0;  // can_write: no error, room
    return t_->send_buffer() - t_->send_queue();
}

std::error_code connection::set_congestion_control(std::string_view name) {
    if (!valid()) return not_connected();
    if (!t_->set_congestion_control(name)) return std::make_error_code(std::errc::invalid_argument);
    return {};
}

void connection::abort() {
    if (!valid()) return;
    release();  // first: whatever app_abort wakes finds the connection no longer valid
    t_->app_abort();
}

listener::~listener() { close(); }

result<connection> listener::try_accept() {
    if (!l_) return std::make_error_code(std::errc::operation_canceled);
    return accept_now(*l_);
}

std::error_code listener::set_congestion_control(std::string_view name) {
    if (!l_) return not_connected();
    if (!tcp::make_congestion_control(name)) return std::make_error_code(std::errc::invalid_argument);
    l_->set_congestion_control(std::string(name));
    return {};
}

void listener::close() {
    if (l_) l_->close();
    l_.reset();
}

runtime::task<result<connection>> listener::accept() {
    if (!l_) co_return std::make_error_code(std::errc::operation_canceled);
    auto keep = l_;
    for (;;) {
        if (auto r = accept_now(*keep); r || r.error() != std::errc::resource_unavailable_try_again)
            co_return std::move(r);
        struct wait {  // takes its handle back if destroyed while waiting, as tcb_wait
            tcp::listener_state& l;
            std::coroutine_handle<> waiting{};
            explicit wait(tcp::listener_state& ls) : l(ls) {}
            wait(const wait&) = delete;
            wait& operator=(const wait&) = delete;
            ~wait() {
                if (waiting) l.stop_waiting(waiting);
            }
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> h) noexcept {
                waiting = h;
                l.wait(h);
            }
            void await_resume() noexcept { waiting = {}; }
        };
        co_await wait{*keep};
    }
}

runtime::task<result<connection>> connect(tcp::tcp_layer& layer, endpoint remote,
                                          std::optional<runtime::duration> timeout) {
    const auto deadline = timeout ? layer.executor().now() + *timeout : runtime::time_point::max();
    auto opened = layer.connect(remote.address, remote.port, 0, tcp::state::closed, deadline);
    if (!opened) co_return opened.error();
    auto t = std::move(*opened);
    while (opening(t->current())) co_await tcb_wait{*t, &tcp::tcb::wait_open};
    if (t->current() == tcp::state::closed || t->current() == tcp::state::listen) {
        const std::error_code ec = t->error() ? t->error() : std::make_error_code(std::errc::connection_refused);
        co_return ec;
    }
    co_return connection{std::move(t)};
}

}  // namespace coronet
