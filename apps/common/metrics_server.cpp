#include "metrics_server.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace coronet::apps {

namespace {

constexpr int metrics_backlog = 8;
constexpr std::string_view outcome_names[] = {"ok", "bad_request", "not_found", "too_large", "timeout", "closed"};
static_assert(std::size(outcome_names) == static_cast<std::size_t>(metrics_server::outcome::count));

std::error_code errno_error(int e) { return {e, std::generic_category()}; }

// The request line's method and target ("GET", "/metrics"); empty when it is not "METHOD TARGET VERSION".
std::pair<std::string_view, std::string_view> request_line(std::string_view head) {
    const std::string_view line = head.substr(0, head.find("\r\n"));
    const auto first = line.find(' ');
    const auto second = line.find(' ', first + 1);
    if (first == std::string_view::npos || second == std::string_view::npos) return {};
    return {line.substr(0, first), line.substr(first + 1, second - first - 1)};
}

}  // namespace

struct metrics_server::scrape {
    scrape(runtime::loop& loop, int fd) : fd(loop, fd), done(loop) {}
    uring_fd fd;
    runtime::event done;  // the exchange is over (the watch stops waiting)
};

metrics_server::metrics_server(runtime::loop& loop, int fd, metrics_limits limits)
    : loop_(loop), listen_(loop, fd), limits_(limits), slot_free_(loop) {}

metrics_server::~metrics_server() = default;

result<std::unique_ptr<metrics_server>> metrics_server::open(runtime::loop& loop, endpoint at, metrics_limits limits) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return errno_error(errno);
    std::unique_ptr<metrics_server> server(new metrics_server(loop, fd, limits));
    const int one = 1;  // a restarted program must not wait for TIME_WAIT
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const sockaddr_in addr = socket_address(at);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, metrics_backlog) != 0)
        return errno_error(errno);
    return server;
}

void metrics_server::start(render_fn render) {
    render_ = std::move(render);
    accepting_ = true;
    loop_.spawn(accept_loop(), "metrics");
}

runtime::task<void> metrics_server::stop() {
    stopped_ = true;
    listen_.cancel();
    for (scrape* s : scrapes_) s->fd.cancel();
    slot_free_.notify();
    // Their completions must be reaped while the frames waiting for them live.
    while (accepting_ || active_ > 0) co_await slot_free_.wait();
}

runtime::task<void> metrics_server::accept_loop() {
    while (!stopped_) {
        if (active_ >= limits_.max_scrapes) {
            co_await slot_free_.wait();
            continue;
        }
        const int fd = co_await listen_.run(
            [](io_uring_sqe* s, int fd) { io_uring_prep_accept(s, fd, nullptr, nullptr, SOCK_CLOEXEC); });
        if (fd == -ECANCELED) break;
        if (fd < 0) {  // out of descriptors, or a client gone before the accept: try again shortly
            spdlog::debug("metrics: accept: {}", std::strerror(-fd));
            co_await loop_.sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        ++active_;
        loop_.spawn(serve(std::make_shared<scrape>(loop_, fd)), "scrape");
    }
    accepting_ = false;
    slot_free_.notify();
}

// The awaited value is named: written as `if (!co_await ...) cancel();`, GCC
// 12.2 at -O3 builds a frame that traps (SIGILL) within the first scrapes,
// reproduced twice; it looks like GCC PR 106188 (fixed in GCC 13).
runtime::task<void> metrics_server::watch(std::shared_ptr<scrape> s, runtime::time_point deadline) {
    const bool finished = co_await s->done.wait_until(deadline);
    if (!finished) s->fd.cancel();
}

runtime::task<void> metrics_server::serve(std::shared_ptr<scrape> s) {
    scrapes_.push_back(s.get());
    if (stopped_) s->fd.cancel();
    loop_.spawn(watch(s, loop_.now() + limits_.timeout), "scrape-timeout");
    const outcome o = co_await exchange(*s);
    if (o == outcome::too_large) co_await linger(*s);
    ++outcomes_[static_cast<std::size_t>(o)];
    s->done.notify();
    co_await s->fd.close();
    std::erase(scrapes_, s.get());
    --active_;
    slot_free_.notify();
}

// After a reply to a request not read to its end: FIN, then reads and drops
// what the client still sends (64 KiB at most, within the timeout), so that
// closing with unread data does not reset the connection before the client
// has read the reply.
runtime::task<void> metrics_server::linger(scrape& s) {
    co_await s.fd.run([](io_uring_sqe* q, int fd) { io_uring_prep_shutdown(q, fd, SHUT_WR); });
    std::array<char, 4096> sink;
    for (std::size_t total = 0; total < 64 * 1024;) {
        const int n =
            co_await s.fd.run([&](io_uring_sqe* q, int fd) { io_uring_prep_recv(q, fd, sink.data(), sink.size(), 0); });
        if (n <= 0) break;
        total += static_cast<std::size_t>(n);
    }
}

// Reads the request head (up to the blank line) and answers it.
runtime::task<metrics_server::outcome> metrics_server::exchange(scrape& s) {
    std::string head;
    std::array<char, 1024> buf;
    while (head.find("\r\n\r\n") == std::string::npos) {
        if (head.size() >= limits_.max_request)
            co_return co_await reply(s, "431 Request Header Fields Too Large", "request too large\n",
                                     outcome::too_large);
        const std::size_t room = std::min(buf.size(), limits_.max_request - head.size());
        const int n =
            co_await s.fd.run([&](io_uring_sqe* q, int fd) { io_uring_prep_recv(q, fd, buf.data(), room, 0); });
        if (n <= 0) co_return s.fd.canceled() ? outcome::timeout : outcome::closed;
        head.append(buf.data(), static_cast<std::size_t>(n));
    }
    const auto [method, target] = request_line(head);
    if (method != "GET") co_return co_await reply(s, "405 Method Not Allowed", "GET /metrics\n", outcome::bad_request);
    if (target != "/metrics" && !target.starts_with("/metrics?"))
        co_return co_await reply(s, "404 Not Found", "GET /metrics\n", outcome::not_found);
    co_return co_await reply(s, "200 OK", page(), outcome::ok);
}

runtime::task<metrics_server::outcome> metrics_server::reply(scrape& s, std::string_view status, std::string body,
                                                             outcome ok) {
    const std::string message = fmt::format(
        "HTTP/1.1 {}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\n"
        "Connection: close\r\n\r\n{}",
        status, body.size(), body);
    std::string_view rest = message;
    while (!rest.empty()) {
        const int n = co_await s.fd.run(
            [&](io_uring_sqe* q, int fd) { io_uring_prep_send(q, fd, rest.data(), rest.size(), MSG_NOSIGNAL); });
        if (n <= 0) co_return s.fd.canceled() ? outcome::timeout : outcome::closed;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    co_return ok;
}

std::string metrics_server::page() {
    prometheus_text out;
    if (render_) render_(out);
    out.family("coronet_metrics_scrapes_total", "counter",
               "Requests to this endpoint by how they ended (this one not yet counted)");
    for (std::size_t i = 0; i < outcomes_.size(); ++i) out.sample({{"result", outcome_names[i]}}, outcomes_[i]);
    return out.text();
}

}  // namespace coronet::apps
