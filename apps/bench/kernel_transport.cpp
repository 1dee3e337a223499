#include "kernel_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "../common/uring_fd.hpp"
#include "tcp_info.hpp"

namespace coronet::bench {

namespace {

std::error_code errno_code(int e) { return {e, std::generic_category()}; }

using apps::uring_fd;

// Linux's TCP_CA_NAME_MAX (include/net/tcp.h), the longest name with its NUL.
constexpr socklen_t ca_name_max = 16;

// The socket's TCP_CONGESTION, read back; "" when it cannot be read.
std::string congestion_of(int fd) {
    std::array<char, ca_name_max + 1> name{};
    socklen_t len = ca_name_max;
    if (fd < 0 || ::getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name.data(), &len) != 0) return {};
    return std::string(name.data(), ::strnlen(name.data(), len));
}

// Sets TCP_CONGESTION unless name is empty (the kernel's default stays).
result<void> set_congestion(int fd, const std::string& name) {
    if (name.empty()) return {};
    if (::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name.data(), static_cast<socklen_t>(name.size())) != 0)
        return errno_code(errno);
    return {};
}

result<void> check(int rc) {
    if (rc < 0) return errno_code(-rc);
    return {};
}

class kernel_stream final : public stream {
public:
    kernel_stream(cancel_scope& scope, runtime::loop& loop, int fd) : stream(scope), fd_(loop, fd) {
        const int one = 1;  // request/response must not wait for Nagle
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }

    task<result<void>> connect(const sockaddr_in& to) {
        co_return check(co_await fd_.run([&](io_uring_sqe* s, int fd) {
            io_uring_prep_connect(s, fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
        }));
    }
    task<result<std::size_t>> read(wire::mut_bytes buf) override {
        const int n =
            co_await fd_.run([&](io_uring_sqe* s, int fd) { io_uring_prep_recv(s, fd, buf.data(), buf.size(), 0); });
        if (n < 0) co_return errno_code(-n);
        co_return static_cast<std::size_t>(n);
    }
    task<result<wire::bytes>> receive(wire::mut_bytes scratch) override {
        auto n = co_await read(scratch);
        if (!n) co_return n.error();
        co_return wire::bytes(scratch.first(*n));
    }
    task<result<void>> write(wire::bytes data) override {
        while (!data.empty()) {  // a send may take only part of the data
            const int n = co_await fd_.run(
                [&](io_uring_sqe* s, int fd) { io_uring_prep_send(s, fd, data.data(), data.size(), MSG_NOSIGNAL); });
            if (n < 0) co_return errno_code(-n);
            data = data.subspan(static_cast<std::size_t>(n));
        }
        co_return result<void>{};
    }
    task<result<void>> shutdown_write() override {
        co_return check(co_await fd_.run([](io_uring_sqe* s, int fd) { io_uring_prep_shutdown(s, fd, SHUT_WR); }));
    }
    task<result<void>> close() override {
        keep_stats();
        co_return check(co_await fd_.close());
    }
    void abort() noexcept override {
        keep_stats();
        // Closing now resets the connection, as coronet's abort does: a
        // peer must not take a FIN from an aborted server for a finished run.
        const linger reset{.l_onoff = 1, .l_linger = 0};
        if (fd_.get() >= 0) ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        fd_.cancel();
    }
    loss_counts losses() const noexcept override { return kernel_losses(fd_.get()).value_or(losses_); }
    std::string congestion() const override { return fd_.get() >= 0 ? congestion_of(fd_.get()) : congestion_; }

private:
    void keep_stats() noexcept {
        losses_ = losses();
        if (fd_.get() >= 0) congestion_ = congestion_of(fd_.get());
    }

    uring_fd fd_;
    loss_counts losses_;
    std::string congestion_;
};

class kernel_acceptor final : public acceptor {
public:
    kernel_acceptor(cancel_scope& scope, runtime::loop& loop, int fd) : acceptor(scope), loop_(loop), fd_(loop, fd) {}

    task<result<std::unique_ptr<stream>>> accept() override {
        const int fd = co_await fd_.run(
            [](io_uring_sqe* s, int fd) { io_uring_prep_accept(s, fd, nullptr, nullptr, SOCK_CLOEXEC); });
        if (fd < 0) co_return errno_code(-fd);
        co_return std::make_unique<kernel_stream>(scope(), loop_, fd);
    }
    void abort() noexcept override { fd_.cancel(); }

private:
    runtime::loop& loop_;
    uring_fd fd_;
};

void set_user_timeout(int fd, unsigned ms) { ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms); }

int tcp_socket() { return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP); }

}  // namespace

std::string available_congestion_controls() {
    std::ifstream in("/proc/sys/net/ipv4/tcp_available_congestion_control");
    std::string names;
    std::getline(in, names);
    return names.empty() ? "unknown" : names;
}

kernel_transport::kernel_transport(runtime::loop& loop, std::string congestion)
    : loop_(loop), congestion_(std::move(congestion)) {
    if (congestion_.empty()) return;
    // Tried once on a spare socket: an unknown name is a usage error at
    // start-up, not a failure of the first connection.
    const int fd = tcp_socket();
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    const auto r = set_congestion(fd, congestion_);
    ::close(fd);
    if (!r)
        throw std::invalid_argument("--cc '" + congestion_ + "': the kernel refuses it (" + r.error().message() +
                                    "); available here: " + available_congestion_controls());
}

task<result<std::unique_ptr<stream>>> kernel_transport::connect(endpoint remote, runtime::duration timeout) {
    const int fd = tcp_socket();
    if (fd < 0) co_return errno_code(errno);
    // Registered before connecting, so that abort_all() also ends a pending connect.
    auto s = std::make_unique<kernel_stream>(scope_, loop_, fd);
    if (auto r = set_congestion(fd, congestion_); !r) co_return r.error();
    // TCP_USER_TIMEOUT bounds the SYN retries as coronet's connect timeout
    // does; it goes back to the default once connected.
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    set_user_timeout(fd, ms > 0 ? static_cast<unsigned>(ms) : 1);
    const sockaddr_in to = apps::socket_address(remote);
    if (auto r = co_await s->connect(to); !r) co_return r.error();
    set_user_timeout(fd, 0);
    co_return std::unique_ptr<stream>(std::move(s));
}

result<std::unique_ptr<acceptor>> kernel_transport::listen(std::uint16_t port) {
    const int fd = tcp_socket();
    if (fd < 0) return errno_code(errno);
    auto a = std::make_unique<kernel_acceptor>(scope_, loop_, fd);
    const int one = 1;  // restarting a server must not wait for TIME_WAIT
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (auto r = set_congestion(fd, congestion_); !r) return r.error();  // accepted sockets inherit it
    const sockaddr_in at = apps::socket_address({boost::asio::ip::address_v4::any(), port});
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0 || ::listen(fd, 1024) != 0)
        return errno_code(errno);
    return std::unique_ptr<acceptor>(std::move(a));
}

}  // namespace coronet::bench
