// Boost.Test's data-driven test cases (BOOST_DATA_TEST_CASE), for the test
// files that use them. GCC 12 reports a false -Wrestrict (or, with the
// precompiled header, -Wstringop-overflow) inside the generated data-test
// names (std::operator+ on strings); nothing of ours is involved.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
#include <boost/test/data/test_case.hpp>
