// The benchmark's streams on the kernel's TCP: ordinary sockets in the
// current network namespace, every operation (connect, accept, recv, send,
// shutdown, close) submitted to the same io_uring loop the user-space stack
// runs on, so both stacks pay the same event-loop costs.
#pragma once

#include <coronet/runtime/loop.hpp>
#include <string>

#include "stream.hpp"

namespace coronet::bench {

class kernel_transport final : public transport {
public:
    // congestion: a TCP_CONGESTION name for every socket (the listening one
    // too, so that accepted sockets inherit it), or empty for the kernel's
    // default. Throws std::invalid_argument when the kernel refuses it.
    kernel_transport(runtime::loop& loop, std::string congestion);

    std::string_view name() const noexcept override { return "kernel"; }
    task<result<std::unique_ptr<stream>>> connect(endpoint remote, runtime::duration timeout) override;
    result<std::unique_ptr<acceptor>> listen(std::uint16_t port) override;

private:
    runtime::loop& loop_;
    std::string congestion_;
};

// The names in /proc/sys/net/ipv4/tcp_available_congestion_control, for messages.
std::string available_congestion_controls();

}  // namespace coronet::bench
