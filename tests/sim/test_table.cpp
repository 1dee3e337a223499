// The ss-like connection table over two simulated stacks.
#include <coronet/api/table.hpp>
#include <vector>

#include "sim_pair.hpp"

namespace coronet::test {

BOOST_AUTO_TEST_SUITE(connection_table)

BOOST_AUTO_TEST_CASE(rows_show_listeners_connections_queues_and_counters) {
    sim_pair p;
    auto l = p.b.tcp.listen(80, 16);
    BOOST_REQUIRE(l);
    listener lb{*l};
    connection ca;
    auto open = [&]() -> task<void> {
        auto c = co_await connect(p.a.tcp, p.b_at(80));
        BOOST_REQUIRE(c);
        ca = std::move(*c);
        std::vector<std::byte> data(3000, std::byte{7});
        BOOST_REQUIRE(co_await ca.write(data));
    };
    p.sim.spawn(open());
    p.sim.run_for(1s);

    // b has not accepted: its listener shows one waiting connection, and the
    // connection holds the 3000 unread bytes.
    const auto rows = connection_rows(p.b.tcp);
    BOOST_REQUIRE_EQUAL(rows.size(), 2u);
    BOOST_TEST((rows[0].state == state::listen));
    BOOST_TEST(rows[0].local == "10.0.0.2:80");
    BOOST_TEST(rows[0].remote == "*:*");
    BOOST_TEST(rows[0].recv_q == 1u);
    BOOST_TEST(rows[0].send_q == 16u);
    BOOST_TEST((rows[1].state == state::established));
    BOOST_TEST(rows[1].local == "10.0.0.2:80");
    BOOST_TEST(rows[1].remote == "10.0.0.1:" + std::to_string(ca.local().port));
    BOOST_TEST(rows[1].recv_q == 3000u);
    BOOST_TEST(rows[1].send_q == 0u);
    // 3000 bytes unread: nothing for auto-tuning to grow yet.
    BOOST_TEST(rows[1].receive_buffer == 256 * 1024u);
    BOOST_TEST(rows[1].send_buffer == 256 * 1024u);

    const auto a_rows = connection_rows(p.a.tcp);
    BOOST_REQUIRE_EQUAL(a_rows.size(), 1u);
    BOOST_TEST(a_rows[0].send_q == 0u);  // all acknowledged
    BOOST_TEST(a_rows[0].srtt_ms > 0.0);
    // RFC 6928 IW: neither the SYN's ACK (RFC 5681 3.1) nor 3000 bytes in a
    // window of 14480 (RFC 7661: less than half of it used) grow it.
    BOOST_TEST(a_rows[0].cwnd == 10u * 1448u);
    BOOST_TEST(a_rows[0].retransmits == 0u);

    const std::string text = format_connection_table(rows);
    BOOST_TEST_MESSAGE(text);
    BOOST_TEST(text.find("State") == 0u);
    BOOST_TEST(text.find("LISTEN") != std::string::npos);
    BOOST_TEST(text.find("ESTABLISHED") != std::string::npos);
    BOOST_TEST(text.find("3000") != std::string::npos);
    BOOST_TEST(text.find("rcvbuf") != std::string::npos);
    BOOST_TEST(text.find("262144") != std::string::npos);
    BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 3);
}

BOOST_AUTO_TEST_CASE(a_closed_listener_leaves_the_table) {
    sim_pair p;
    auto l = p.b.tcp.listen(80, 16);
    BOOST_REQUIRE(l);
    listener lb{*l};
    BOOST_TEST(connection_rows(p.b.tcp).size() == 1u);
    lb.close();
    BOOST_TEST(connection_rows(p.b.tcp).empty());
    BOOST_TEST(format_connection_table({}).find("State") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace coronet::test
