// coronet-test-cycles: N sequential connect / send / read answer / close
// cycles from one stack to a kernel server, then waits out TIME_WAIT and
// prints {"ok":N,"connections":M} — the connection table must end empty.
#include <coronet/api/stack.hpp>
#include <cstdio>

#include "../../../apps/common/options.hpp"

using namespace coronet;

int main(int argc, char** argv) {
    apps::common_options common;
    apps::command_line cl;
    std::string target;
    int cycles = 200;
    double msl = 1.0;
    cl.usage = "coronet-test-cycles --iface IF --ip A.B.C.D/N --connect HOST:PORT [--cycles N] [--msl S]";
    cl.summary = "Test helper: sequential connections through one stack, then the size of its connection table.";
    apps::po::options_description own("Cycle options");
    own.add_options()("connect", apps::po::value(&target)->required(), "kernel server HOST:PORT")(
        "cycles", apps::po::value(&cycles), "how many connections")(
        "msl", apps::po::value(&msl), "maximum segment lifetime in seconds (TIME_WAIT is twice that)");
    cl.options.add(own).add(apps::common_description(common));
    apps::parse_or_exit(argc, argv, cl, common);
    const auto colon = target.find(':');
    boost::system::error_code ec;
    const auto host = boost::asio::ip::make_address_v4(target.substr(0, colon), ec);
    if (ec || colon == std::string::npos) apps::die("coronet-test-cycles", "--connect takes HOST:PORT", 2);
    const auto port = static_cast<std::uint16_t>(std::stoi(target.substr(colon + 1)));
    common.iface.tcp.msl = std::chrono::duration_cast<runtime::duration>(std::chrono::duration<double>(msl));

    runtime::loop loop;
    stack st{loop, common.iface};
    int ok = 0;
    // A lost cycle says on stderr which step failed, so that a test that
    // sees fewer than N good cycles can tell why.
    auto lost = [](int i, const char* step, const std::error_code& ec) {
        std::fprintf(stderr, "cycle %d: %s: %s\n", i, step, ec ? ec.message().c_str() : "no error");
    };
    auto run = [&]() -> runtime::task<void> {
        const std::string request(1000, 'x');
        for (int i = 0; i < cycles; ++i) {
            auto c = co_await st.connect({host, port}, std::chrono::seconds(5));
            if (!c) {
                lost(i, "connect", c.error());
                continue;
            }
            if (auto w = co_await c->write(wire::to_bytes(request)); !w) {
                lost(i, "write", w.error());
                continue;
            }
            if (auto s = co_await c->shutdown_write(); !s) {
                lost(i, "shutdown_write", s.error());
                continue;
            }
            std::array<std::byte, 4096> buf;
            std::size_t got = 0;
            std::error_code read_error;
            for (;;) {
                auto r = co_await c->read(buf);
                if (!r) read_error = r.error();
                if (!r || *r == 0) break;
                got += *r;
            }
            if (got == 0) {
                lost(i, "read: no answer before the end of the connection", read_error);
                continue;
            }
            if (auto closed = co_await c->close(); !closed) {
                lost(i, "close", closed.error());
                continue;
            }
            ++ok;
        }
        co_await loop.sleep_for(common.iface.tcp.msl * 2 + std::chrono::milliseconds(500));
        std::printf("{\"ok\":%d,\"connections\":%zu}\n", ok, st.tcp().connection_count());
        loop.stop();
    };
    loop.spawn(run(), "cycles");
    loop.run();
    return ok == cycles && st.tcp().connection_count() == 0 ? 0 : 1;
}
