// How Boost.Test prints coronet's values in its messages and data-test
// samples (header only: the Boost.Test tiers include it, the fuzz tree not).
#pragma once

#include <boost/test/tools/detail/print_helper.hpp>
#include <coronet/api/connection.hpp>
#include <coronet/tcp/state.hpp>
#include <ostream>

namespace boost::test_tools::tt_detail {
template <>
struct print_log_value<coronet::tcp::state> {
    void operator()(std::ostream& os, coronet::tcp::state s) { os << coronet::tcp::to_string(s); }
};
template <>
struct print_log_value<coronet::endpoint> {
    void operator()(std::ostream& os, const coronet::endpoint& e) { os << e.address.to_string() << ":" << e.port; }
};
}  // namespace boost::test_tools::tt_detail
