// Built against an installed coronet (tests/install/run.sh): parses an
// address, runs a coroutine on coronet's loop, and opens a stack on an
// interface that does not exist, which must fail with a clear error.
// Prints what each step gave; exit 0 when all three went as expected.
#include <coronet/api/stack.hpp>
#include <cstdio>
#include <system_error>

namespace {

coronet::runtime::task<void> once(coronet::runtime::loop& loop, int& ran) {
    ++ran;
    loop.stop();
    co_return;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: consumer MISSING-INTERFACE\n");
        return 2;
    }
    const auto prefix = coronet::parse_ipv4_prefix("10.0.0.2/24");
    std::printf("prefix: %s/%u\n", prefix.address.to_string().c_str(), prefix.length);

    coronet::runtime::loop loop;
    int ran = 0;
    loop.spawn(once(loop, ran), "once");
    loop.run();
    std::printf("task ran: %d\n", ran);

    try {
        coronet::stack net(loop, {.ifname = argv[1], .address = "10.0.0.2/24"});
        std::printf("stack on %s: opened, but the interface does not exist\n", argv[1]);
        return 1;
    } catch (const std::system_error& e) {
        std::printf("stack on %s: %s\n", argv[1], e.what());
    }
    return ran == 1 && prefix.length == 24 ? 0 : 1;
}
