// The unit tier: wire formats, checksums, seq32, runtime, ARP cache. No root.
#define BOOST_TEST_MODULE coronet_unit
#include <boost/test/unit_test.hpp>
