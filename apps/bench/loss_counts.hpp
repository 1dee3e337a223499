// What one side of a connection resent, shared by the stream interface and
// the kernel's TCP_INFO reader (which must not see <netinet/tcp.h>).
#pragma once

#include <cstdint>

namespace coronet::bench {

// Segments a side retransmitted, and the DSACKs it received: retransmissions
// the peer reports it already had (RFC 2883), i.e. spurious ones.
struct loss_counts {
    std::uint64_t retransmits = 0, dsacks = 0;
    loss_counts& operator+=(const loss_counts& o) noexcept {
        retransmits += o.retransmits;
        dsacks += o.dsacks;
        return *this;
    }
};

}  // namespace coronet::bench
