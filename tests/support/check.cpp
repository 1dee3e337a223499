#include "support/check.hpp"

#include <cstdio>
#include <cstdlib>

namespace coronet::test {

void fail(const std::string& what) {
#ifdef CORONET_TEST_ABORT_ON_FAILURE
    std::fprintf(stderr, "coronet fuzz: invariant broken: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
#else
    throw test_failure(what);
#endif
}

bool tracing() {
    static const bool on = std::getenv("CORONET_TEST_TRACE") != nullptr || std::getenv("CORONET_FUZZ_TRACE") != nullptr;
    return on;
}

}  // namespace coronet::test
