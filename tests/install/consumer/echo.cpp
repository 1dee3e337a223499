// A TCP echo server on coronet's native API: one coroutine per connection.
#include <coronet/api/stack.hpp>
#include <cstdio>

using namespace coronet;

runtime::task<void> echo(connection c) {
    std::array<std::byte, 4096> buf;
    for (;;) {
        auto n = co_await c.read(buf);  // 0: the peer sent FIN
        if (!n || *n == 0) break;
        auto written = co_await c.write({buf.data(), *n});
        if (!written) break;
    }
    co_await c.close();  // FIN, then wait for its ACK
}

runtime::task<void> serve(runtime::loop& loop, stack& net) {
    auto l = net.listen(7);
    if (!l) {
        std::fprintf(stderr, "listen: %s\n", l.error().message().c_str());
        co_return loop.stop();
    }
    for (;;) {
        auto c = co_await l->accept();
        if (!c) co_return;
        loop.spawn(echo(std::move(*c)), "echo");
    }
}

int main(int argc, char** argv) {  // echo IFACE A.B.C.D/N  (needs CAP_NET_RAW)
    if (argc != 3) return 2;
    runtime::loop loop;
    stack net(loop, {.ifname = argv[1], .address = argv[2]});
    loop.spawn(serve(loop, net), "serve");
    loop.run();
}
