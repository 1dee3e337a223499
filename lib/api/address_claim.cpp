// The abstract Unix socket namespace belongs to the network namespace, as
// interfaces do, and the kernel releases a name when its process ends,
// however it ends: no stale lock files.
#include "address_claim.hpp"

#include <spdlog/fmt/fmt.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

namespace coronet::detail {

namespace {

struct claim_name {
    sockaddr_un addr{};
    socklen_t len = 0;
};

claim_name name_for(unsigned ifindex, boost::asio::ip::address_v4 address) {
    claim_name n;
    n.addr.sun_family = AF_UNIX;
    const std::string text = fmt::format("coronet/if{}/{}", ifindex, address.to_string());
    // Abstract: a leading NUL, no file.
    std::memcpy(n.addr.sun_path + 1, text.data(), text.size());
    n.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + text.size());
    return n;
}

// The process holding the name (it listens so that SO_PEERCRED can tell).
std::optional<pid_t> holder_of(const claim_name& n) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return std::nullopt;
    std::optional<pid_t> pid;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&n.addr), n.len) == 0 &&
        ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0)
        pid = cred.pid;
    ::close(fd);
    return pid;
}

}  // namespace

address_claim::address_claim(const std::string& ifname, unsigned ifindex, boost::asio::ip::address_v4 address) {
    const claim_name n = name_for(ifindex, address);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "Unix socket for the address claim");
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&n.addr), n.len) == 0 && ::listen(fd_, 4) == 0) return;
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err != EADDRINUSE) throw std::system_error(err, std::generic_category(), "address claim");
    const auto pid = holder_of(n);
    throw std::system_error(std::make_error_code(std::errc::address_in_use),
                            fmt::format("{} on {} is already used by another coronet stack{}", address.to_string(),
                                        ifname, pid ? fmt::format(" (process {})", *pid) : std::string{}));
}

address_claim::~address_claim() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace coronet::detail
