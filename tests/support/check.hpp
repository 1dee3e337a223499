// How a test helper reports a broken expectation. The unit and sim tiers
// throw test_failure, which Boost.Test reports as the test case's failure;
// the fuzz tree aborts, so that libFuzzer saves the input.
#pragma once

#include <stdexcept>
#include <string>

namespace coronet::test {

struct test_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws test_failure(what); in the fuzz tree prints it and aborts.
[[noreturn]] void fail(const std::string& what);

// fail(what) unless ok.
inline void require(bool ok, const char* what) {
    if (!ok) fail(what);
}

// Whether CORONET_TEST_TRACE (or CORONET_FUZZ_TRACE) is set: the stack then
// logs its transitions and the fuzz harnesses say what they do, for
// replaying one input by hand.
bool tracing();

}  // namespace coronet::test
