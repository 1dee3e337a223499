// The benchmark's streams on coronet's user-space TCP: a stack on one
// interface, and its connections and listeners behind the stream interface.
#pragma once

#include <coronet/api/stack.hpp>

#include "stream.hpp"

namespace coronet::bench {

class user_transport final : public transport {
public:
    // Opens the stack on cfg's interface; throws as coronet::stack does. The
    // program exits with status 1 if the interface goes away (apps::exit_when_interface_lost).
    user_transport(runtime::loop& loop, const interface_config& cfg);

    std::string_view name() const noexcept override { return "user"; }
    task<result<std::unique_ptr<stream>>> connect(endpoint remote, runtime::duration timeout) override;
    result<std::unique_ptr<acceptor>> listen(std::uint16_t port) override;
    coronet::stack& stack() noexcept { return stack_; }
    std::string counters() override { return counters_json(stack_); }

private:
    coronet::stack stack_;
};

}  // namespace coronet::bench
