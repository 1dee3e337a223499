// The netns tier: the stack on real AF_PACKET against the kernel, inside
// network namespaces each test creates and deletes. Needs root.
#define BOOST_TEST_MODULE coronet_netns
#include <boost/test/unit_test.hpp>
