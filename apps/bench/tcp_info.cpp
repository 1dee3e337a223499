#include "tcp_info.hpp"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace coronet::bench {

std::optional<loss_counts> kernel_losses(int fd) noexcept {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (fd < 0 || ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
    // An older kernel fills less of the structure: what it left out reads 0.
    return loss_counts{.retransmits = info.tcpi_total_retrans, .dsacks = info.tcpi_dsack_dups};
}

}  // namespace coronet::bench
