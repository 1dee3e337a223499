// The benchmark's streams on the kernel's TCP: ordinary sockets in the
// current network namespace, every operation (connect, accept, recv, send,
// shutdown, close) submitted to the same io_uring loop the user-space stack
// runs on, so both stacks pay the same event-loop costs.
#pragma once

#include <coronet/runtime/loop.hpp>

#include "stream.hpp"

namespace coronet::bench {

class kernel_transport final : public transport {
public:
    explicit kernel_transport(runtime::loop& loop) : loop_(loop) {}

    std::string_view name() const noexcept override { return "kernel"; }
    task<result<std::unique_ptr<stream>>> connect(endpoint remote, runtime::duration timeout) override;
    result<std::unique_ptr<acceptor>> listen(std::uint16_t port) override;

private:
    runtime::loop& loop_;
};

}  // namespace coronet::bench
