#include "adapter.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <coronet/api/stack.hpp>
#include <coronet/runtime/log.hpp>
#include <cstring>

namespace coronet::packetdrill {

using namespace std::chrono_literals;

namespace {

constexpr auto idle_main_thread = 100ms;  // then a blocked call moves time on itself
constexpr auto settle_limit = 2s;         // a thread that never reads its end time is not waited for longer

int fail(int e) {
    errno = e;
    return -1;
}

int fail(const std::error_code& ec) { return fail(ec.value() != 0 ? ec.value() : EIO); }

bool opening(tcp::state s) { return s == tcp::state::syn_sent || s == tcp::state::syn_rcvd; }

// Why bind or connect cannot take addr (an errno), or 0: it is an IPv4 address.
int unusable_address(const sockaddr* addr, socklen_t len) {
    if (!addr) return EFAULT;
    if (len < sizeof(sockaddr_in)) return EINVAL;
    if (reinterpret_cast<const sockaddr_in*>(addr)->sin_family != AF_INET) return EAFNOSUPPORT;
    return 0;
}

// The bytes iov[0..iovcnt) spans into total; an errno when it is not valid, else 0.
int measure(const iovec* iov, int iovcnt, std::size_t& total) {
    if (iovcnt < 0) return EINVAL;
    total = 0;
    for (int i = 0; i < iovcnt; ++i) {
        if (iov[i].iov_len > 0 && !iov[i].iov_base) return EFAULT;
        total += iov[i].iov_len;
    }
    return 0;
}

// A timer that only wakes the loop: a blocked poll's timeout is a time the
// loop must stop at even when the stack has nothing due then.
class alarm {
public:
    alarm(runtime::executor& ex, runtime::time_point at) : ex_(ex) {
        node_.on_expire = [](runtime::timer_node&) {};
        node_.deadline = at;
        if (at != runtime::time_point::max()) ex_.timers().insert(node_);
    }
    ~alarm() { ex_.timers().erase(node_); }
    alarm(const alarm&) = delete;
    alarm& operator=(const alarm&) = delete;

private:
    runtime::executor& ex_;
    runtime::timer_node node_;
};

// Linux's TCP_MSS_DEFAULT: what TCP_MAXSEG reads before a connection has one.
constexpr int default_mss = 536;

bool parse_bool(const std::string& key, const std::string& v) {
    if (v == "1" || v == "on" || v == "true") return true;
    if (v == "0" || v == "off" || v == "false") return false;
    throw std::invalid_argument("--so_flags: " + key + " wants 0 or 1, not '" + v + "'");
}

std::uint64_t parse_number(const std::string& key, const std::string& v) {
    std::size_t end = 0;
    unsigned long long n = 0;
    try {
        n = std::stoull(v, &end);
    } catch (const std::exception&) {
        end = 0;
    }
    if (end == 0 || end != v.size())
        throw std::invalid_argument("--so_flags: " + key + " wants a number, not '" + v + "'");
    return n;
}

}  // namespace

// ---- settings --------------------------------------------------------------

settings::settings() {
    tcp.sack = false;
    tcp.receive_buffer_max = 15 << 20;  // window scale 8, as Linux's SYNs carry
    // The scripts' reference: Linux's default CUBIC without an fq qdisc,
    // which paces nothing. BBR paces from the handshake's RTT (the scripts'
    // 100 ms: its first window in frames of two segments, 7 ms apart).
    tcp.congestion = "cubic";
    tcp.pacing = tcp::tcp_config::pacing_mode::controller;
}

settings settings::parse(const char* flags) {
    settings s;
    std::string text = flags ? flags : "";
    std::replace(text.begin(), text.end(), ',', ' ');
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t start = text.find_first_not_of(' ', pos);
        if (start == std::string::npos) break;
        const std::size_t end = std::min(text.find(' ', start), text.size());
        const std::string item = text.substr(start, end - start);
        pos = end;
        const std::size_t eq = item.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("--so_flags: '" + item + "' is not key=value");
        const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
        if (key == "address") {
            const ipv4_prefix p = parse_ipv4_prefix(value);
            s.address = p.address;
            s.prefix_len = p.length;
        } else if (key == "gateway") {
            boost::system::error_code ec;
            s.gateway = boost::asio::ip::make_address_v4(value, ec);
            if (ec) throw std::invalid_argument("--so_flags: gateway '" + value + "' is not an IPv4 address");
        } else if (key == "sack") {
            s.tcp.sack = parse_bool(key, value);
        } else if (key == "timestamps") {
            s.tcp.timestamps = parse_bool(key, value);
        } else if (key == "window_scaling") {
            s.tcp.window_scaling = parse_bool(key, value);
        } else if (key == "nagle") {
            s.tcp.nagle = parse_bool(key, value);
        } else if (key == "rcvbuf") {
            s.tcp.receive_buffer_max = parse_number(key, value);
        } else if (key == "sndbuf") {
            s.tcp.send_buffer_max = parse_number(key, value);
        } else if (key == "syn_retries") {
            s.tcp.syn_retries = static_cast<unsigned>(parse_number(key, value));
        } else if (key == "seed") {
            s.seed = parse_number(key, value);
        } else if (key == "horizon_ms") {
            s.horizon = std::chrono::milliseconds(parse_number(key, value));
        } else if (key == "trace") {
            s.trace = parse_bool(key, value);
        } else {
            throw std::invalid_argument("--so_flags: unknown key '" + key + "'");
        }
    }
    return s;
}

// ---- sockets ---------------------------------------------------------------

struct adapter::socket_entry {
    bool nonblocking = false;
    bool reuse_address = false;
    bool keep_alive = false;
    bool no_delay = false;
    bool read_shut = false;
    bool connect_reported = true;  // a non-blocking connect's outcome not yet taken
    std::uint16_t max_segment = 0;
    std::optional<std::uint16_t> port;
    std::optional<coronet::listener> listening;
    coronet::connection conn;
    std::error_code pending;  // SO_ERROR
    // Edge-triggered epoll's view: what the stack looked like when last
    // compared, and how many changes were seen.
    bool write_blocked = false;
    std::tuple<std::uint32_t, tcp::state, bool, std::size_t> last{};
    std::uint64_t changes = 0;
};

struct adapter::epoll_entry {
    epoll_event event{};
    std::uint64_t reported = 0;  // the generation last looked at (edge-triggered)
};

adapter::call::call(adapter& a, bool socket_call)
    : a_(a), lock_(a.mutex_), main_(a.on_main_thread()), socket_call_(socket_call) {
    if (main_) a_.main_inside_ = true;
}

adapter::call::~call() {
    if (main_) {
        a_.main_inside_ = false;
        a_.main_seen_ = std::chrono::steady_clock::now();
    } else if (socket_call_) {
        ++a_.owed_stamps_;  // packetdrill reads the end time of this blocking call next
    }
    a_.changed_.notify_all();
}

adapter::adapter(const settings& s)
    : cfg_(s),
      main_thread_(std::this_thread::get_id()),
      main_seen_(std::chrono::steady_clock::now()),
      origin_(sim_.now()),
      dev_(sim_),
      host_(sim_, dev_, {.address = s.address, .prefix_len = s.prefix_len, .gateway = s.gateway, .offload = false},
            runtime::random_source(~s.seed)),
      tcp_(host_, s.tcp, runtime::random_source(s.seed)) {
    runtime::logger().set_level(s.trace ? spdlog::level::debug : spdlog::level::off);
    host_.start();
    pump();
}

adapter::~adapter() {
    // packetdrill has closed the descriptors itself (libc close()); drop the
    // connections before the layer they belong to.
    epolls_.clear();
    sockets_.clear();
    closed_.clear();
    sim_.run_for(0s);
}

long long adapter::usecs(runtime::time_point t) const {
    // An epoch far from 0, so that the times look like gettimeofday's.
    constexpr long long base = 1'700'000'000LL * 1'000'000LL;
    return base + std::chrono::duration_cast<std::chrono::microseconds>(t - origin_).count();
}

void adapter::pump() {
    do {
        sim_.run_for(0s);
    } while (dev_.answer_arp());
    changed_.notify_all();
}

void adapter::settle(lock& l) {
    const auto limit = std::chrono::steady_clock::now() + settle_limit;
    const auto quiet = [this] {
        return owed_stamps_ == 0 && std::none_of(waiters_.begin(), waiters_.end(), [](auto* w) { return (*w)(); });
    };
    while (!quiet())
        if (changed_.wait_until(l, limit) == std::cv_status::timeout) return;
}

bool adapter::step() {
    const runtime::timer_node* next = sim_.timers().top();
    if (!next) return false;
    sim_.run_for(std::max(next->deadline - sim_.now(), runtime::duration::zero()));
    pump();
    return true;
}

void adapter::advance_to(lock& l, runtime::time_point until) {
    for (;;) {
        settle(l);
        const runtime::timer_node* next = sim_.timers().top();
        if (!next || next->deadline > until) break;
        step();
    }
    if (until > sim_.now()) sim_.run_for(until - sim_.now());
    pump();
    settle(l);
}

bool adapter::block(lock& l, const std::function<bool()>& ready) {
    if (ready()) return true;
    const auto give_up = sim_.now() + cfg_.horizon;
    waiters_.push_back(&ready);
    bool ok = true;
    while (!ready()) {
        const bool main = on_main_thread();
        if (!main && changed_.wait_for(l, idle_main_thread) == std::cv_status::no_timeout) continue;
        if (ready()) break;
        // Nobody else moves time: the main thread itself blocked, or it
        // waits in packetdrill for this call to end.
        const bool main_idle = !main_inside_ && std::chrono::steady_clock::now() - main_seen_ >= idle_main_thread;
        if (!main && !main_idle) continue;
        // With no timer left only the main thread can change anything: a
        // blocked main thread never will.
        if (sim_.now() >= give_up || (!step() && main)) {
            ok = false;
            break;
        }
    }
    std::erase(waiters_, &ready);
    if (!ok)
        std::fprintf(stderr,
                     "coronet packetdrill adapter: a blocking call cannot complete (nothing left to wait for)\n");
    return ok;
}

bool adapter::wait_for(lock& l, int timeout_ms, const std::function<bool()>& ready) {
    if (timeout_ms == 0 || ready()) return true;
    const auto deadline =
        timeout_ms < 0 ? runtime::time_point::max() : sim_.now() + std::chrono::milliseconds(timeout_ms);
    const alarm wake(sim_, deadline);
    return block(l, [&] { return ready() || sim_.now() >= deadline; });
}

void adapter::apply_options(socket_entry& s) {
    if (s.no_delay) s.conn.set_no_delay(true);
    if (s.keep_alive) s.conn.set_keep_alive(true);
}

adapter::socket_entry* adapter::find(int fd) {
    const auto it = sockets_.find(fd);
    return it == sockets_.end() ? nullptr : it->second.get();
}

std::uint16_t adapter::free_port() const {
    for (std::uint16_t p = cfg_.tcp.ephemeral_low; p <= cfg_.tcp.ephemeral_high; ++p) {
        const bool used = std::any_of(sockets_.begin(), sockets_.end(), [p](const auto& e) {
            return e.second->port == p || (e.second->conn.valid() && e.second->conn.local().port == p);
        });
        if (!used) return p;
    }
    return 0;
}

int adapter::socket(int domain, int type, int protocol) {
    call c(*this);
    if (domain != AF_INET) return fail(EAFNOSUPPORT);
    if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM) return fail(ESOCKTNOSUPPORT);
    if (protocol != 0 && protocol != IPPROTO_TCP) return fail(EPROTONOSUPPORT);
    // A real descriptor, so that packetdrill may close() it with libc.
    const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    auto s = std::make_unique<socket_entry>();
    s->nonblocking = (type & SOCK_NONBLOCK) != 0;
    s->no_delay = !cfg_.tcp.nagle;
    sockets_[fd] = std::move(s);
    return fd;
}

int adapter::bind(int fd, const sockaddr* addr, socklen_t len) {
    call c(*this);
    socket_entry* s = find(fd);
    if (!s) return fail(ENOTSOCK);
    if (const int e = unusable_address(addr, len)) return fail(e);
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    const wire::address_v4 a(ntohl(in->sin_addr.s_addr));
    if (!a.is_unspecified() && a != cfg_.address) return fail(EADDRNOTAVAIL);
    if (s->port || s->conn.valid()) return fail(EINVAL);
    std::uint16_t port = ntohs(in->sin_port);
    if (port == 0) port = free_port();
    if (port == 0) return fail(EADDRINUSE);
    for (const auto& [other_fd, other] : sockets_)
        if (other_fd != fd && other->port == port && other->listening) return fail(EADDRINUSE);
    s->port = port;
    return 0;
}

int adapter::listen(int fd, int backlog) {
    call c(*this);
    socket_entry* s = find(fd);
    if (!s) return fail(ENOTSOCK);
    if (s->conn.valid()) return fail(EINVAL);
    if (s->listening) return 0;
    if (!s->port) s->port = free_port();
    auto l = tcp_.listen(*s->port, static_cast<std::size_t>(std::max(backlog, 1)));
    if (!l) return fail(l.error());
    s->listening.emplace(std::move(*l));
    s->listening->set_max_segment(s->max_segment);
    return 0;
}

int adapter::accept(int fd, sockaddr* addr, socklen_t* len) {
    call c(*this);
    socket_entry* s = find(fd);
    if (!s) return fail(ENOTSOCK);
    if (!s->listening) return fail(EINVAL);
    if (addr && !len) return fail(EFAULT);
    auto& l = *s->listening;
    if (!s->nonblocking && !block(c.held(), [&] { return s != find(fd) || l.queued() > 0; })) return fail(EINTR);
    if (s != find(fd)) return fail(EBADF);  // closed meanwhile
    auto accepted = l.try_accept();
    if (!accepted) return fail(accepted.error());
    const int nfd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nfd < 0) return -1;
    auto child = std::make_unique<socket_entry>();
    child->conn = std::move(*accepted);
    child->no_delay = s->no_delay;
    child->keep_alive = s->keep_alive;
    child->max_segment = s->max_segment;
    child->port = s->port;
    apply_options(*child);
    if (addr) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(child->conn.remote().address.to_uint());
        in.sin_port = htons(child->conn.remote().port);
        std::memcpy(addr, &in, std::min<std::size_t>(*len, sizeof in));
        *len = sizeof in;
    }
    sockets_[nfd] = std::move(child);
    return nfd;
}

int adapter::connect(int fd, const sockaddr* addr, socklen_t len) {
    call c(*this);
    socket_entry* s = find(fd);
    if (!s) return fail(ENOTSOCK);
    if (s->listening) return fail(EISCONN);
    if (s->conn.valid()) {
        if (opening(s->conn.state())) return fail(EALREADY);
        if (s->conn.error()) {
            s->connect_reported = true;
            return fail(s->conn.error());
        }
        return fail(EISCONN);
    }
    if (const int e = unusable_address(addr, len)) return fail(e);
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    auto opened = tcp_.connect(wire::address_v4(ntohl(in->sin_addr.s_addr)), ntohs(in->sin_port), s->port.value_or(0),
                               tcp::state::closed, runtime::time_point::max(), s->max_segment);
    if (!opened) return fail(opened.error());
    s->conn = coronet::connection{std::move(*opened)};
    apply_options(*s);
    pump();
    if (s->nonblocking) {
        s->connect_reported = false;
        return fail(EINPROGRESS);
    }
    if (!block(c.held(), [&] { return s != find(fd) || !opening(s->conn.state()); })) return fail(EINTR);
    if (s != find(fd)) return fail(EBADF);
    if (s->conn.state() == tcp::state::established || s->conn.state() == tcp::state::close_wait) return 0;
    return fail(s->conn.error() ? s->conn.error() : std::make_error_code(std::errc::connection_refused));
}

ssize_t adapter::receive_locked(lock& l, socket_entry& s, const iovec* iov, int iovcnt, int flags) {
    if (flags & ~(MSG_DONTWAIT | MSG_WAITALL | MSG_NOSIGNAL)) return fail(EOPNOTSUPP);
    std::size_t want = 0;
    if (const int e = measure(iov, iovcnt, want)) return fail(e);
    if (s.listening || !s.conn.valid()) return fail(ENOTCONN);
    if (want == 0) return 0;
    const bool nonblocking = s.nonblocking || (flags & MSG_DONTWAIT);
    const bool all = (flags & MSG_WAITALL) && !nonblocking;
    std::size_t got = 0, off = 0;
    int i = 0;
    for (;;) {
        bool finished = false;
        std::error_code error;
        while (i < iovcnt && !finished && !error) {
            const std::size_t room = iov[i].iov_len - off;
            if (room == 0) {
                ++i, off = 0;
                continue;
            }
            auto r = s.conn.try_read({static_cast<std::byte*>(iov[i].iov_base) + off, room});
            if (!r) {
                if (r.error() != std::errc::resource_unavailable_try_again) error = r.error();
                break;
            }
            finished = *r == 0;  // the peer's FIN
            got += *r;
            off += *r;
        }
        if (got == want || finished || (got > 0 && !all)) break;
        if (error) {
            if (got > 0) break;
            return fail(error);
        }
        if (s.read_shut) break;  // Linux: after SHUT_RD a read ends at what is there
        if (nonblocking) {
            if (got > 0) break;
            return fail(EAGAIN);
        }
        socket_entry* self = &s;
        const bool woke = block(l, [&] {
            return !self->conn.valid() || self->conn.readable() > 0 || self->conn.error() ||
                   self->conn.tcb().peer_finished() || self->conn.state() == tcp::state::closed;
        });
        if (!s.conn.valid()) return fail(EBADF);  // closed meanwhile
        if (!woke) {
            if (got > 0) break;
            return fail(EINTR);
        }
    }
    pump();  // a window update may be due
    return static_cast<ssize_t>(got);
}

ssize_t adapter::receive(int fd, const iovec* iov, int iovcnt, int flags) {
    call c(*this);
    socket_entry* s = find(fd);
    if (!s) return fail(EBADF);
    return receive_locked(c.held(), *s, iov, iovcnt, flags);
}

ssize_t adapter::send_locked(lock& l, socket_entry& s, const iovec* iov, int iovcnt, int flags) {
    if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)) return fail(EOPNOTSUPP);
    std::size_t want = 0;
    if (const int e = measure(iov, iovcnt, want)) return fail(e);
    if (s.listening || !s.conn.valid()) return fail(s.listening ? ENOTCONN : EPIPE);
    const bool nonblocking = s.nonblocking || (flags & MSG_DONTWAIT);
    if (!nonblocking && opening(s.conn.state())) {
        socket_entry* self = &s;
        block(l, [&] { return !opening(self->conn.state()); });
    }
    std::size_t sent = 0;
    int i = 0;
    std::size_t off = 0;
    while (i < iovcnt) {
        const std::size_t left = iov[i].iov_len - off;
        if (left == 0) {
            ++i, off = 0;
            continue;
        }
        auto r = s.conn.try_write({static_cast<const std::byte*>(iov[i].iov_base) + off, left});
        if (r) {
            sent += *r;
            off += *r;
            pump();
            continue;
        }
        if (r.error() != std::errc::resource_unavailable_try_again) {
            if (sent > 0) break;
            return fail(r.error());
        }
        s.write_blocked = true;
        if (nonblocking) {
            if (sent > 0) break;
            return fail(EAGAIN);
        }
        socket_entry* self = &s;
        const auto can_go_on = [&] {
            if (!self->conn.valid()) return true;
            const tcp::state st = self->conn.state();
            return self->conn.writable() > 0 || self->conn.error() || self->conn.tcb().write_shut() ||
                   (st != tcp::state::established && st != tcp::state::close_wait);
        };
        const bool woke = block(l, can_go_on);
        if (!s.conn.valid()) return fail(EBADF);  // closed meanwhile
        if (!woke) {
            if (sent > 0) break;
            return fail(EINTR);
        }
    }
    pump();
    return static_cast<ssize_t>(sent);
}

ssize_t adapter::send(int fd, const iovec* iov, int iovcnt, int flags) {
    call c(*this);
    socket_entry* s = find(fd);
    if (!s) return fail(EBADF);
    return send_locked(c.held(), *s, iov, iovcnt, flags);
}

int adapter::fcntl(int fd, int cmd, long arg) {
    call c(*this);
    socket_entry* s = find(fd);
    if (!s) return epolls_.contains(fd) ? ::fcntl(fd, cmd, arg) : fail(EBADF);
    switch (cmd) {
        case F_GETFL:
            return O_RDWR | (s->nonblocking ? O_NONBLOCK : 0);
        case F_SETFL:
            s->nonblocking = (arg & O_NONBLOCK) != 0;
            return 0;
        case F_GETFD:
        case F_SETFD:
            return ::fcntl(fd, cmd, arg);
        default:
            return fail(EINVAL);
    }
}

int adapter::ioctl(int fd, unsigned long request, void* arg) {
    call c(*this);
    socket_entry* s = find(fd);
    if (!s) return fail(EBADF);
    if (!arg) return fail(EFAULT);
    int value = 0;
    switch (request) {
        case SIOCINQ:  // = FIONREAD
            if (s->listening) return fail(EINVAL);
            value = static_cast<int>(s->conn.readable());
            break;
        case SIOCOUTQ:
            if (s->listening) return fail(EINVAL);
            value = s->conn.valid() ? static_cast<int>(s->conn.tcb().send_queue()) : 0;
            break;
        case FIONBIO:
            std::memcpy(&value, arg, sizeof value);
            s->nonblocking = value != 0;
            return 0;
        default:
            return fail(ENOTTY);
    }
    std::memcpy(arg, &value, sizeof value);
    return 0;
}

int adapter::close(int fd) {
    call c(*this);
    for (auto& [epfd, items] : epolls_) items.erase(fd);
    if (epolls_.erase(fd) > 0) return ::close(fd);
    const auto it = sockets_.find(fd);
    if (it == sockets_.end()) return fail(EBADF);
    socket_entry& s = *it->second;
    // Linux resets a connection closed with data unread (RFC 2525 2.17);
    // otherwise the connection closes gracefully in the background.
    if (s.conn.valid() && s.conn.readable() > 0) s.conn.abort();
    // The connection or listener closes now; the entry itself stays until the
    // adapter goes, since a call blocked on it in another thread still looks
    // at it (and then finds the descriptor gone).
    { const coronet::connection closing = std::move(s.conn); }
    s.listening.reset();
    closed_.push_back(std::move(it->second));
    sockets_.erase(it);
    pump();
    return ::close(fd);
}

int adapter::shutdown(int fd, int how) {
    call c(*this);
    socket_entry* s = find(fd);
    if (!s) return fail(EBADF);
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return fail(EINVAL);
    if (!s->conn.valid() || opening(s->conn.state())) return fail(ENOTCONN);
    if (how != SHUT_WR) s->read_shut = true;
    if (how != SHUT_RD && !s->conn.tcb().write_shut()) {
        auto r = sim_.run_task(s->conn.shutdown_write(), 0s);
        if (!r) return fail(r.error());
    }
    pump();
    return 0;
}

int adapter::getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
    call c(*this);
    socket_entry* s = find(fd);
    if (!s) return fail(EBADF);
    if (!value || !len) return fail(EFAULT);
    if (*len < sizeof(int)) return fail(EINVAL);
    int v = 0;
    if (level == SOL_SOCKET) {
        switch (name) {
            case SO_ERROR:
                if (s->conn.valid() && !s->connect_reported && !opening(s->conn.state())) {
                    s->connect_reported = true;
                    s->pending = s->conn.error();
                }
                v = std::exchange(s->pending, {}).value();
                break;
            case SO_TYPE:
                v = SOCK_STREAM;
                break;
            case SO_REUSEADDR:
                v = s->reuse_address;
                break;
            case SO_KEEPALIVE:
                v = s->keep_alive;
                break;
            case SO_ACCEPTCONN:
                v = s->listening.has_value();
                break;
            case SO_RCVBUF:
                v = static_cast<int>(s->conn.valid() ? s->conn.tcb().receive_buffer() : cfg_.tcp.receive_buffer);
                break;
            case SO_SNDBUF:
                v = static_cast<int>(s->conn.valid() ? s->conn.tcb().send_buffer() : cfg_.tcp.send_buffer);
                break;
            default:
                return fail(ENOPROTOOPT);
        }
    } else if (level == IPPROTO_TCP) {
        switch (name) {
            case TCP_NODELAY:
                v = s->no_delay;
                break;
            case TCP_MAXSEG:
                if (s->conn.valid() && !opening(s->conn.state()))
                    v = s->conn.tcb().mss();
                else
                    v = s->max_segment ? s->max_segment : default_mss;
                break;
            default:
                return fail(ENOPROTOOPT);
        }
    } else {
        return fail(ENOPROTOOPT);
    }
    std::memcpy(value, &v, sizeof v);
    *len = sizeof v;
    return 0;
}

int adapter::setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
    call c(*this);
    socket_entry* s = find(fd);
    if (!s) return fail(EBADF);
    if (!value) return fail(EFAULT);
    if (len < sizeof(int)) return fail(EINVAL);
    int v = 0;
    std::memcpy(&v, value, sizeof v);
    if (level == SOL_SOCKET) {
        switch (name) {
            case SO_REUSEADDR:
                s->reuse_address = v != 0;
                return 0;
            case SO_KEEPALIVE:
                s->keep_alive = v != 0;
                if (s->conn.valid()) s->conn.set_keep_alive(s->keep_alive);
                return 0;
            default:
                return fail(ENOPROTOOPT);
        }
    }
    if (level == IPPROTO_TCP) {
        switch (name) {
            case TCP_NODELAY:
                s->no_delay = v != 0;
                if (s->conn.valid()) s->conn.set_no_delay(s->no_delay);
                pump();  // Nagle may have held data back
                return 0;
            case TCP_MAXSEG:
                // Linux's bounds: TCP_MIN_MSS (88) up to the largest window.
                if (v < 88 || v > 65535) return fail(EINVAL);
                s->max_segment = static_cast<std::uint16_t>(v);
                if (s->listening) s->listening->set_max_segment(s->max_segment);
                return 0;
            default:
                return fail(ENOPROTOOPT);
        }
    }
    return fail(ENOPROTOOPT);
}

// ---- readiness -------------------------------------------------------------

std::uint32_t adapter::readiness(socket_entry& s) const {
    if (s.listening) return s.listening->queued() > 0 ? EPOLLIN | EPOLLRDNORM : 0;
    if (!s.conn.valid()) return EPOLLOUT | EPOLLWRNORM | EPOLLHUP;  // a fresh socket, as Linux polls it
    const tcp::state st = s.conn.state();
    if (opening(st)) return 0;
    std::uint32_t m = 0;
    const bool finished = s.conn.tcb().peer_finished();
    if (s.conn.error()) m |= EPOLLERR;
    if (s.conn.readable() > 0 || finished || s.read_shut || s.conn.error()) m |= EPOLLIN | EPOLLRDNORM;
    if (finished || s.read_shut) m |= EPOLLRDHUP;
    const bool write_over = s.conn.tcb().write_shut() || s.conn.error();
    if ((finished && write_over) || st == tcp::state::closed) m |= EPOLLHUP;
    if (write_over || s.conn.writable() > 0) m |= EPOLLOUT | EPOLLWRNORM;
    return m;
}

std::uint64_t adapter::generation(socket_entry& s) const {
    std::tuple<std::uint32_t, tcp::state, bool, std::size_t> now{};
    if (s.listening)
        now = {0, tcp::state::listen, false, s.listening->queued()};
    else if (s.conn.valid())
        now = {s.conn.tcb().rcv_nxt().value, s.conn.state(), static_cast<bool>(s.conn.error()), 0};
    if (now != s.last) {
        s.last = now;
        ++s.changes;
    }
    if (s.write_blocked && s.conn.valid() && s.conn.writable() > 0) {
        s.write_blocked = false;
        ++s.changes;
    }
    return s.changes;
}

int adapter::poll(pollfd* fds, nfds_t n, int timeout_ms) {
    call c(*this);
    if (n > 0 && !fds) return fail(EFAULT);
    const auto scan = [&] {
        int ready = 0;
        for (nfds_t i = 0; i < n; ++i) {
            fds[i].revents = 0;
            if (fds[i].fd < 0) continue;
            socket_entry* s = find(fds[i].fd);
            if (!s) {
                fds[i].revents = POLLNVAL;
            } else {
                const std::uint32_t m = readiness(*s);
                fds[i].revents =
                    static_cast<short>(m & (static_cast<std::uint16_t>(fds[i].events) | POLLERR | POLLHUP));
            }
            if (fds[i].revents) ++ready;
        }
        return ready;
    };
    if (!wait_for(c.held(), timeout_ms, [&] { return scan() > 0; })) return fail(EINTR);
    return scan();
}

int adapter::epoll_create(int size) {
    call c(*this);
    if (size <= 0) return fail(EINVAL);
    const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    epolls_[fd];
    return fd;
}

int adapter::epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
    call c(*this);
    const auto set = epolls_.find(epfd);
    if (set == epolls_.end()) return fail(EBADF);
    socket_entry* s = find(fd);
    if (!s) return fail(epolls_.contains(fd) ? EINVAL : EPERM);
    auto& items = set->second;
    switch (op) {
        case EPOLL_CTL_ADD:
            if (!event) return fail(EFAULT);
            if (items.contains(fd)) return fail(EEXIST);
            // Linux looks at the file once when it is added: a ready one is reported.
            items[fd] = {*event, generation(*s) - 1};
            return 0;
        case EPOLL_CTL_MOD:
            if (!event) return fail(EFAULT);
            if (!items.contains(fd)) return fail(ENOENT);
            items[fd] = {*event, generation(*s) - 1};
            return 0;
        case EPOLL_CTL_DEL:
            if (items.erase(fd) == 0) return fail(ENOENT);
            return 0;
        default:
            return fail(EINVAL);
    }
}

int adapter::epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms) {
    call c(*this);
    const auto set = epolls_.find(epfd);
    if (set == epolls_.end()) return fail(EBADF);
    if (max <= 0) return fail(EINVAL);
    if (!events) return fail(EFAULT);
    auto& items = set->second;
    const auto collect = [&](bool take) {
        int found = 0;
        for (auto& [fd, item] : items) {
            if (found == max) break;
            socket_entry* s = find(fd);
            if (!s) continue;
            const std::uint32_t wanted = item.event.events | EPOLLERR | EPOLLHUP;
            const std::uint32_t m = readiness(*s) & wanted & ~static_cast<std::uint32_t>(EPOLLET | EPOLLONESHOT);
            const bool edge = item.event.events & EPOLLET;
            const std::uint64_t g = generation(*s);
            if (item.event.events & EPOLLONESHOT && item.reported == ~std::uint64_t{0}) continue;  // disarmed
            const bool report = m != 0 && (!edge || g != item.reported);
            if (!take) {
                if (report) return 1;
                continue;
            }
            if (edge) item.reported = g;
            if (!report) continue;
            events[found].events = m;
            events[found].data = item.event.data;
            ++found;
            if (item.event.events & EPOLLONESHOT) item.reported = ~std::uint64_t{0};
        }
        return found;
    };
    if (!wait_for(c.held(), timeout_ms, [&] { return collect(false) > 0; })) return fail(EINTR);
    return collect(true);
}

// ---- packets and time ------------------------------------------------------

int adapter::netdev_send(const void* buf, std::size_t count) {
    call c(*this, false);
    if (!buf) return fail(EFAULT);
    if (on_main_thread()) settle(c.held());
    if (!dev_.receive({static_cast<const std::byte*>(buf), count})) return fail(EPROTONOSUPPORT);
    pump();
    return 0;
}

int adapter::netdev_receive(void* buf, std::size_t* count, long long* time_usecs) {
    call c(*this, false);
    if (!buf || !count || !time_usecs) return fail(EFAULT);
    settle(c.held());
    const auto give_up = sim_.now() + cfg_.horizon;
    while (dev_.sent().empty()) {
        const runtime::timer_node* next = sim_.timers().top();
        if (!next || next->deadline > give_up) {
            std::fprintf(
                stderr, "coronet packetdrill adapter: the stack sent nothing for %lld ms of virtual time\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.horizon).count()));
            *count = 0;  // packetdrill fails the script on an empty packet
            return 0;
        }
        advance_to(c.held(), next->deadline);
    }
    auto& p = dev_.sent().front();
    const std::size_t n = std::min(*count, p.ip.size());
    std::memcpy(buf, p.ip.data(), n);
    *count = n;
    *time_usecs = usecs(p.sent);
    dev_.sent().pop_front();
    return 0;
}

int adapter::usleep(useconds_t u) {
    call c(*this, false);
    advance_to(c.held(), sim_.now() + std::chrono::microseconds(u));
    return 0;
}

int adapter::gettimeofday(timeval* tv) {
    call c(*this, false);
    if (!on_main_thread() && owed_stamps_ > 0) {
        --owed_stamps_;  // the end time of a blocking call: read, not moved
    } else {
        // packetdrill spins on the clock until an event's time (on either
        // thread: a blocking call waits for its start time too): it must move.
        advance_to(c.held(), sim_.now() + 1us);
    }
    if (tv) {
        const long long us = usecs(sim_.now());
        tv->tv_sec = static_cast<time_t>(us / 1'000'000);
        tv->tv_usec = static_cast<suseconds_t>(us % 1'000'000);
    }
    return 0;
}

}  // namespace coronet::packetdrill
