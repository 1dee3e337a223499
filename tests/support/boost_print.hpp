// How Boost.Test prints coronet's values in its messages and data-test
// samples (header only: the Boost.Test tiers include it, the fuzz tree not).
#pragma once

#include <boost/test/tools/detail/print_helper.hpp>
#include <coronet/tcp/state.hpp>
#include <ostream>

namespace boost::test_tools::tt_detail {
template <>
struct print_log_value<coronet::tcp::state> {
    void operator()(std::ostream& os, coronet::tcp::state s) { os << coronet::tcp::to_string(s); }
};
}  // namespace boost::test_tools::tt_detail
