// A kernel socket whose operations go through a coronet io_uring loop: the
// programs' kernel-side sockets (coronet-bench --stack kernel, the proxy's
// --metrics endpoint) run on the loop that runs the stack, with no thread of
// their own.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <coronet/api/connection.hpp>
#include <coronet/runtime/loop.hpp>
#include <utility>

namespace coronet::apps {

// cancel() ends what is pending on the descriptor and fails what comes later,
// so a coroutine stuck in accept or recv unwinds with -ECANCELED.
class uring_fd {
public:
    uring_fd(runtime::loop& loop, int fd) noexcept : loop_(loop), fd_(fd) {}
    ~uring_fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    uring_fd(const uring_fd&) = delete;
    uring_fd& operator=(const uring_fd&) = delete;

    // Runs one operation prepared by prep(sqe, fd): its result (>= 0) or -errno.
    template <class Prep>
    runtime::task<int> run(Prep prep) {
        if (canceled_ || fd_ < 0) co_return -ECANCELED;
        co_return co_await loop_.submit([&](io_uring_sqe* s) { prep(s, fd_); });
    }
    void cancel() noexcept {
        if (fd_ < 0 || canceled_) return;
        canceled_ = true;
        io_uring_sqe* s = loop_.sqe();
        io_uring_prep_cancel_fd(s, fd_, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data(s, nullptr);  // nobody waits for the cancel itself
    }
    runtime::task<int> close() {
        if (fd_ < 0) co_return -EBADF;
        const int fd = std::exchange(fd_, -1);
        co_return co_await loop_.submit([fd](io_uring_sqe* s) { io_uring_prep_close(s, fd); });
    }
    int get() const noexcept { return fd_; }
    bool canceled() const noexcept { return canceled_; }

private:
    runtime::loop& loop_;
    int fd_;
    bool canceled_ = false;
};

// e as the kernel's socket address.
inline sockaddr_in socket_address(const endpoint& e) noexcept {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(e.port);
    a.sin_addr.s_addr = htonl(e.address.to_uint());
    return a;
}

}  // namespace coronet::apps
