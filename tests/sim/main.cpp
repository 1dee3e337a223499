// The sim tier: two stacks over sim_link on virtual time, deterministic
// from a printed seed. No root, no network.
#define BOOST_TEST_MODULE coronet_sim
#include <boost/test/unit_test.hpp>
#include <coronet/runtime/log.hpp>

// Transition lines at info would drown the test log; failures print traces.
struct quiet_logs {
    quiet_logs() { coronet::runtime::logger().set_level(spdlog::level::warn); }
};
BOOST_TEST_GLOBAL_FIXTURE(quiet_logs);
