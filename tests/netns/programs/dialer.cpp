// coronet-test-dialer: a coronet client that opens many connections to a
// coronet (or any) server and holds them idle, for the million-connection
// row of bench.sh. One stack, one address: the 4-tuples differ by local
// port (--local-low .. --local-high) and by server port (--ports server
// ports from the given one), so N connections need N / ports local ports.
// At most --parallel opens are in progress at once. Prints one JSON line when
// all are established (or failed, or --timeout passed), then holds them
// until SIGTERM/SIGINT.
#include <coronet/api/stack.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "../../../apps/common/options.hpp"

using namespace coronet;

namespace {

struct dialer_options {
    std::string server;
    std::uint16_t port = 0, ports = 1, local_low = 1024, local_high = 65535;
    std::size_t count = 1, parallel = 1000;
    double timeout = 60;
};

class dialer {
public:
    dialer(stack& st, dialer_options o) : st_(st), o_(o), server_(boost::asio::ip::make_address_v4(o.server)) {
        st_.tcp().on_transition = [this](const tcp::tcb&, tcp::state from, tcp::state to, const char*) {
            if (to == tcp::state::established && from == tcp::state::syn_sent) ++established_;
            if (to == tcp::state::closed && from == tcp::state::syn_sent) ++failed_;
        };
        held_.reserve(o_.count);
    }

    // Opens every connection, at most `parallel` at a time, and reports.
    runtime::task<void> run() {
        const auto begin = st_.loop().now();
        const auto deadline =
            begin + std::chrono::duration_cast<runtime::duration>(std::chrono::duration<double>(o_.timeout));
        const std::size_t per_port = static_cast<std::size_t>(o_.local_high - o_.local_low) + 1;
        std::size_t next = 0;
        while ((established_ + failed_ < o_.count) && st_.loop().now() < deadline) {
            while (next < o_.count && next - established_ - failed_ < o_.parallel) {
                const auto server_port = static_cast<std::uint16_t>(o_.port + next / per_port);
                const auto local_port = static_cast<std::uint16_t>(o_.local_low + next % per_port);
                auto c = st_.tcp().connect(server_, server_port, local_port);
                ++next;
                if (!c) {
                    ++failed_;
                    if (!first_error_) first_error_ = c.error();
                    continue;
                }
                held_.push_back(std::move(*c));
            }
            co_await st_.loop().sleep_for(std::chrono::milliseconds(1));
        }
        const double seconds = std::chrono::duration<double>(st_.loop().now() - begin).count();
        std::printf(
            "{\"report\":\"connected\",\"connected\":%zu,\"failed\":%zu,\"attempted\":%zu,\"seconds\":%.3f,"
            "\"first_error\":\"%s\"}\n",
            established_, failed_, next, seconds, first_error_ ? first_error_.message().c_str() : "");
        std::fflush(stdout);
    }

private:
    stack& st_;
    dialer_options o_;
    boost::asio::ip::address_v4 server_;
    std::vector<std::shared_ptr<tcp::tcb>> held_;  // never read or written: idle until the end
    std::size_t established_ = 0, failed_ = 0;
    std::error_code first_error_;
};

dialer_options parse(int argc, char** argv, apps::common_options& common) {
    dialer_options o;
    apps::command_line cl;
    cl.usage = "coronet-test-dialer --iface IF --ip A.B.C.D/N --connect A.B.C.D --port PORT --count N [options]";
    cl.summary =
        "Test helper: a coronet client that opens N idle connections to A.B.C.D, from local ports\n"
        "--local-low..--local-high to server ports PORT..PORT+--ports-1, at most --parallel opening at\n"
        "once; prints one JSON line (connected, failed, seconds) when done or at --timeout, then holds\n"
        "them until SIGTERM or SIGINT. Exit status: 0, 2 (usage error).";
    apps::po::options_description own("Dialer options");
    own.add_options()("connect", apps::po::value(&o.server)->required()->value_name("A.B.C.D"), "the server")(
        "port", apps::po::value(&o.port)->required()->value_name("PORT"), "the first server port")(
        "ports", apps::po::value(&o.ports)->value_name("N"), "server ports to spread over (default 1)")(
        "count", apps::po::value(&o.count)->value_name("N"), "connections to open (default 1)")(
        "parallel", apps::po::value(&o.parallel)->value_name("N"), "opens in progress at once (default 1000)")(
        "local-low", apps::po::value(&o.local_low)->value_name("PORT"), "lowest local port (default 1024)")(
        "local-high", apps::po::value(&o.local_high)->value_name("PORT"), "highest local port (default 65535)")(
        "timeout", apps::po::value(&o.timeout)->value_name("S"), "give up opening after S seconds (default 60)");
    cl.options.add(own).add(apps::common_description(common)).add(apps::tcp_description(common));
    apps::parse_or_exit(argc, argv, cl, common);
    if (o.local_low == 0 || o.local_high < o.local_low || o.ports == 0 || o.parallel == 0)
        apps::die("coronet-test-dialer", "bad --local-low/--local-high, --ports or --parallel", 2);
    const std::size_t room = (static_cast<std::size_t>(o.local_high - o.local_low) + 1) * o.ports;
    if (o.count > room || o.port + o.ports - 1 > 65535)
        apps::die("coronet-test-dialer", "--count is more than --ports x local ports, or the ports pass 65535", 2);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    apps::common_options common;
    const dialer_options o = parse(argc, argv, common);
    try {
        runtime::loop loop;
        stack st{loop, common.iface};
        dialer d{st, o};
        runtime::signal_set signals{loop, {SIGINT, SIGTERM}};
        auto on_signal = [&]() -> runtime::task<void> {
            co_await signals.wait();
            loop.stop();
        };
        auto opening = [&]() -> runtime::task<void> { co_await d.run(); };
        loop.spawn(on_signal(), "signals");
        loop.spawn(opening(), "dialer");
        loop.run();
        return 0;
    } catch (const std::exception& e) {
        apps::die("coronet-test-dialer", e.what(), 2);
    }
}
