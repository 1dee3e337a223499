// Internal to the Asio adapters (asio_stream.cpp, asio_acceptor.cpp): how
// they complete the pending operation a core holds in one of its slots.
#pragma once

#include <memory>
#include <utility>

namespace coronet::detail {

// Completes the operation in slot, leaving slot empty (the handler may start
// the next operation into the same slot).
template <class Op, class... A>
void finish(std::unique_ptr<Op>& slot, A&&... args) {
    auto op = std::move(slot);
    op->complete(std::forward<A>(args)...);
}

}  // namespace coronet::detail
