#include <coronet/api/connection.hpp>

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
    wire::mut_bytes buf;
    std::coroutine_handle<> waiting;
    read_wait(tcp::tcb& tcb, wire::mut_bytes b) : t(tcb), buf(b) {}
    read_wait(const read_wait&) = delete;
    read_wait& operator=(const read_wait&) = delete;
    ~read_wait() {
        if (!waiting) return;
        t.take_placed();
        t.stop_waiting(waiting);
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        waiting = h;
        t.lend_read_buffer(buf);
        t.wait_readable(h);
    }
    std::size_t await_resume() noexcept {
        waiting = {};
        return t.take_placed();
    }
};

std::error_code not_connected() { return std::make_error_code(std::errc::not_connected); }

bool opening(tcp::state s) { return s == tcp::state::syn_sent || s == tcp::state::syn_rcvd; }

}  // namespace

connection& connection::operator=(connection&& other) noexcept {
    if (this != &other) {
        if (t_) t_->app_close();
        t_ = std::move(other.t_);
    }
    return *this;
}

connection::~connection() {
    if (t_) t_->app_close();
}

runtime::task<result<std::size_t>> connection::read(wire::mut_bytes buf) {
    if (!t_) co_return not_connected();
    auto keep = t_;  // the connection object may be moved while we wait
    for (;;) {
        if (const std::size_t n = keep->app_read(buf); n > 0 || buf.empty()) co_return n;
        if (keep->peer_finished()) co_return std::size_t{0};
        if (keep->error()) co_return keep->error();
        if (keep->current() == tcp::state::closed) co_return std::size_t{0};
        if (const std::size_t placed = co_await read_wait{*keep, buf}; placed > 0) co_return placed;
    }
}

runtime::task<result<void>> connection::write(wire::bytes data) {
    if (!t_) co_return not_connected();
    auto keep = t_;
    std::size_t done = 0;
    while (done < data.size()) {
        if (keep->error()) co_return keep->error();
        const tcp::state s = keep->current();
        if (keep->write_shut() || !(opening(s) || s == tcp::state::established || s == tcp::state::close_wait))
            co_return std::make_error_code(std::errc::broken_pipe);
        done += keep->app_write(data.subspan(done));
        if (done < data.size()) co_await tcb_wait{*keep, &tcp::tcb::wait_writable};
    }
    co_return result<void>{};
}

runtime::task<result<void>> connection::shutdown_write() {
    if (!t_) co_return not_connected();
    if (t_->error()) co_return t_->error();
    t_->app_shutdown_write();
    co_return result<void>{};
}

runtime::task<result<void>> connection::close() {
    if (!t_) co_return not_connected();
    // t_ stays set while we wait, so abort() can still cut a close short
    // (a proxy shutting down, a peer that never acknowledges).
    auto t = t_;
    t->app_close();
    result<void> r;
    for (;;) {
        if (t->error()) {
            r = t->error();
            break;
        }
        const tcp::state s = t->current();
        if (s == tcp::state::fin_wait_2 || s == tcp::state::time_wait || s == tcp::state::closed ||
            s == tcp::state::listen)
            break;
        co_await tcb_wait{*t, &tcp::tcb::wait_open};
    }
    if (t_ == t) t_.reset();
    co_return r;
}

void connection::abort() {
    if (!t_) return;
    auto t = std::move(t_);
    t->app_abort();
}

listener::~listener() { close(); }

void listener::close() {
    if (l_) l_->close();
    l_.reset();
}

runtime::task<result<connection>> listener::accept() {
    if (!l_) co_return std::make_error_code(std::errc::operation_canceled);
    auto keep = l_;
    for (;;) {
        if (auto c = keep->pop()) co_return connection{std::move(c)};
        if (keep->closed()) co_return std::make_error_code(std::errc::operation_canceled);
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
