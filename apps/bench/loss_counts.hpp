// What one side of a connection resent, shared by the stream interface and
// the kernel's TCP_INFO reader (which must not see <netinet/tcp.h>).
#pragma once

#include <cstdint>
#include <optional>

namespace coronet::bench {

// Segments a side retransmitted, and the DSACKs it received: retransmissions
// the peer reports it already had (RFC 2883), i.e. spurious ones. Coronet
// also counts the fast recoveries it entered (window reductions, some of
// them later undone; tail loss probes and timeouts are not among them); the
// kernel's TCP_INFO has no such count (nstat's TcpExtTCPSackRecovery is per
// namespace).
struct loss_counts {
    std::uint64_t retransmits = 0, dsacks = 0;
    std::optional<std::uint64_t> recoveries;
    loss_counts& operator+=(const loss_counts& o) noexcept {
        retransmits += o.retransmits;
        dsacks += o.dsacks;
        if (o.recoveries) recoveries = recoveries.value_or(0) + *o.recoveries;
        return *this;
    }
};

}  // namespace coronet::bench
