// Two coronet flows with the same congestion control through one
// bottleneck (sim_link's rate and queue, virtual time): the second starts
// once the first has the path to itself, and they must converge to a fair
// share. Jain's index (x1 + x2)^2 / (2 (x1^2 + x2^2)) is 1 for equal shares
// and 0.5 when one flow has everything.
#include "sim_pair.hpp"
#include "support/data_test_case.hpp"

namespace coronet::test {

namespace {

namespace bdata = boost::unit_test::data;

// RTT 40 ms, 20 Mbit/s, a queue of one bandwidth-delay product (100 KB).
const link::impairment bottleneck{.delay = 20ms, .rate_mbit = 20, .queue_bytes = 100'000};

struct flow {
    connection client, server;
    bool ok = true;
    std::uint64_t received() const { return server.valid() ? server.stats().bytes_received : 0; }
};

// a opens a connection to b's listener l and sends stream `id` until aborted; b reads it.
void start_flow(sim_pair& p, listener& l, flow& f, std::uint64_t id) {
    auto client = [](sim_pair& p, flow& f, std::uint64_t id) -> task<void> {
        auto c = co_await connect(p.a.tcp, p.b_at(80));
        if (!c) {
            f.ok = false;
            co_return;
        }
        f.client = std::move(*c);
        bool ignored = true;  // the abort at the end fails the last write
        co_await send_stream(f.client, id, std::size_t{1} << 40, ignored);
    };
    auto server = [](listener& l, flow& f, std::uint64_t id) -> task<void> {
        auto c = co_await l.accept();
        if (!c) co_return;
        f.server = std::move(*c);
        bool checked = true;
        co_await receive_stream(f.server, id, checked);
        f.ok = f.ok && checked;
    };
    p.sim.spawn(client(p, f, id));
    p.sim.spawn(server(l, f, id));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sharing)

const char* const controllers[] = {"newreno", "cubic", "bbr"};

// One run: the second flow starts `stagger` after the first had 2 s alone;
// 20 s to converge, then Jain's index of the next 20 s.
double share_once(const char* controller, runtime::duration stagger) {
    tcp::tcp_config cfg;
    cfg.congestion = controller;
    sim_pair p{1, bottleneck, cfg};
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    listener l{*lr};
    flow first, second;
    start_flow(p, l, first, 1);
    p.sim.run_for(2s + stagger);
    start_flow(p, l, second, 2);
    p.sim.run_for(20s);  // time to converge
    const std::uint64_t x0 = first.received(), y0 = second.received();
    p.sim.run_for(20s);
    const auto x = static_cast<double>(first.received() - x0), y = static_cast<double>(second.received() - y0);
    const double jain = (x + y) * (x + y) / (2 * (x * x + y * y));
    const double mbit = (x + y) * 8 / 20 / 1e6;
    BOOST_TEST_MESSAGE(controller << " (second flow "
                                  << std::chrono::duration_cast<std::chrono::milliseconds>(stagger).count()
                                  << " ms later): " << x * 8 / 20 / 1e6 << " and " << y * 8 / 20 / 1e6
                                  << " Mbit/s, Jain's index " << jain);
    BOOST_TEST(first.ok);
    BOOST_TEST(second.ok);
    BOOST_TEST(mbit >= 15.0, controller << ": together " << mbit << " Mbit/s of 20");  // the path stays full
    first.client.abort();
    second.client.abort();
    p.sim.run_for(10ms);
    return jain;
}

// Six runs, the second flow started 7 ms later each time (BBR picks its
// gain-cycle phase from the clock, so each run shares differently). On
// average the index is at least 0.95 (issue 14's bar for fairness), and no
// run leaves one flow with less than about a third (0.9). BBR v1 may
// settle unevenly now and then: when the two flows' bandwidth estimates
// together exceed the link, both are window-limited, the one with the
// larger window delivers more and keeps the larger estimate (Linux's v1
// does the same; v2 and later added loss and ECN signals for it).
BOOST_DATA_TEST_CASE(two_flows_converge_to_a_fair_share, bdata::xrange(std::size(controllers)), which) {
    double sum = 0;
    constexpr int runs = 6;
    for (int run = 0; run < runs; ++run) {
        const double jain = share_once(controllers[which], std::chrono::milliseconds(7 * run));
        BOOST_TEST(jain >= 0.9, controllers[which] << ", run " << run << ": Jain's index " << jain);
        sum += jain;
    }
    BOOST_TEST(sum / runs >= 0.95, controllers[which] << ": mean Jain's index " << sum / runs);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace coronet::test
