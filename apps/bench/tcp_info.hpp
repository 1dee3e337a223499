// The kernel's per-connection loss figures (TCP_INFO), read in a file of
// their own: the fields needed (tcpi_dsack_dups) are only in <linux/tcp.h>,
// which cannot share a translation unit with <netinet/tcp.h>.
#pragma once

#include <optional>

#include "loss_counts.hpp"

namespace coronet::bench {

// Retransmitted segments and DSACKs received on kernel socket fd; nothing if
// the socket cannot tell.
std::optional<loss_counts> kernel_losses(int fd) noexcept;

}  // namespace coronet::bench
