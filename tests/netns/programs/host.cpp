// coronet-test-host: the stack on an interface answering ARP and ping and,
// with --listen PORT, echoing every connection to PORT back to its sender, for
// the netns tier. Prints "ready" once started and, on SIGTERM/SIGINT, its
// counters as one JSON object (coronet::counters_json); exits 0.
#include <coronet/api/stack.hpp>
#include <cstdio>
#include <vector>

#include "../../../apps/common/options.hpp"

using namespace coronet;
using runtime::task;

namespace {

// Sends back whatever arrives until the peer's FIN, then closes.
task<void> echo(connection c) {
    std::vector<std::byte> buf(64 * 1024);
    for (;;) {
        auto n = co_await c.read(buf);
        if (!n || *n == 0) break;
        auto written = co_await c.write(wire::bytes{buf.data(), *n});
        if (!written) break;
    }
    co_await c.close();
}

// Accepts until the listener is closed, then stops the loop. (Stopping with
// this coroutine still suspended in accept() would leave the listener a
// dangling handle to resume.)
task<void> serve(runtime::loop& loop, listener& l) {
    for (;;) {
        auto c = co_await l.accept();
        if (!c) break;
        loop.spawn(echo(std::move(*c)), "echo");
    }
    loop.stop();
}

}  // namespace

int main(int argc, char** argv) {
    apps::common_options common;
    apps::command_line cl;
    cl.usage = "coronet-test-host --iface IF --ip A.B.C.D/N [--listen PORT] [options]";
    cl.summary = "Runs the stack until SIGTERM, then prints its counters as JSON (test helper).";
    apps::po::options_description own("Host options");
    std::uint16_t listen_port = 0;
    own.add_options()("listen", apps::po::value(&listen_port)->value_name("PORT"), "echo connections to PORT");
    cl.options.add(own).add(apps::common_description(common));
    apps::parse_or_exit(argc, argv, cl, common);
    try {
        runtime::loop loop;
        stack st{loop, common.iface};
        runtime::signal_set signals{loop, {SIGINT, SIGTERM}};
        listener l;
        if (listen_port != 0) {
            auto opened = st.listen(listen_port);
            if (!opened) apps::die("coronet-test-host", "listen: " + opened.error().message(), 2);
            l = std::move(*opened);
            loop.spawn(serve(loop, l), "listener");
        }
        auto on_signal = [&]() -> task<void> {
            co_await signals.wait();
            if (listen_port != 0)
                l.close();  // serve() stops the loop
            else
                loop.stop();
        };
        loop.spawn(on_signal(), "signals");
        std::printf("ready\n");
        std::fflush(stdout);
        loop.run();
        std::printf("%s\n", counters_json(st).c_str());
        return 0;
    } catch (const std::exception& e) {
        apps::die("coronet-test-host", e.what(), 2);
    }
}
