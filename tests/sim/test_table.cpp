// The ss-like connection table over two simulated stacks, and the
// per-connection counters `--stats` prints, after a lossy transfer.
#include <fmt/format.h>

#include <algorithm>
#include <coronet/api/stack.hpp>
#include <coronet/api/table.hpp>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "sim_pair.hpp"

namespace coronet::test {

BOOST_AUTO_TEST_SUITE(connection_table)

BOOST_AUTO_TEST_CASE(rows_show_listeners_connections_queues_and_counters) {
    tcp::tcp_config newreno;  // whose window the row's cwnd is checked against
    newreno.congestion = "newreno";
    sim_pair p{1, {.delay = 1ms}, newreno};  // a round trip to measure
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

namespace {

// The unsigned value of "key" in a flat JSON object of counters; nullopt when
// the key is absent or appears twice.
std::optional<std::uint64_t> counter(const std::string& json, const std::string& key) {
    const std::string quoted = "\"" + key + "\":";
    const auto at = json.find(quoted);
    if (at == std::string::npos || json.find(quoted, at + 1) != std::string::npos) return std::nullopt;
    return std::strtoull(json.c_str() + at + quoted.size(), nullptr, 10);
}

// Every loss-recovery field of connection_stats with its JSON key.
std::vector<std::pair<std::string, std::uint64_t>> recovery_fields(const tcp::connection_stats& s) {
    return {{"conn_send_errors", s.send_errors},
            {"conn_retransmitted_bytes", s.retransmitted_bytes},
            {"conn_sacked_bytes", s.sacked_bytes},
            {"conn_lost_bytes", s.lost_bytes},
            {"conn_recoveries", s.recoveries},
            {"conn_dsacks_received", s.dsacks_received},
            {"conn_dsacks_sent", s.dsacks_sent},
            {"conn_sack_segments_sent", s.sack_segments_sent},
            {"conn_undos", s.undos},
            {"conn_tlp_probes", s.tlp_probes},
            {"conn_tlp_recoveries", s.tlp_recoveries},
            {"conn_sack_ignored", s.sack_ignored},
            {"conn_renegings", s.renegings},
            {"conn_ooo_refused", s.ooo_refused},
            {"conn_reordering_window_us", s.reordering_window_us},
            {"conn_send_buffer", s.send_buffer},
            {"conn_receive_buffer", s.receive_buffer},
            {"conn_send_buffer_growths", s.send_buffer_growths},
            {"conn_receive_buffer_growths", s.receive_buffer_growths}};
}

// The whitespace-separated words of each line of a table.
std::vector<std::vector<std::string>> words_per_line(const std::string& text) {
    std::vector<std::vector<std::string>> lines;
    std::istringstream in(text);
    std::string line, word;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        lines.emplace_back();
        while (words >> word) lines.back().push_back(word);
    }
    return lines;
}

void expect_json_carries(const tcp::connection_stats& s) {
    const std::string json = connection_counters_json(s);
    BOOST_TEST_MESSAGE(json);
    for (const auto& [key, value] : recovery_fields(s)) {
        const auto got = counter(json, key);
        BOOST_TEST(got.has_value(), key << " missing or repeated");
        if (got) BOOST_TEST(*got == value, key);
    }
}

}  // namespace

// 2 MiB from a to b over a link losing 2% and reordering 2% of frames in
// each direction, both ends SACK-capable: the receiver's ACKs carry SACK
// blocks, the sender's scoreboard takes them, finds losses and resends.
// The counters reach the table and the JSON with the values the TCBs hold.
BOOST_AUTO_TEST_CASE(a_lossy_transfer_shows_its_recovery_in_the_table_and_the_json) {
    sim_pair p{11, {.loss = 0.02, .reorder = 0.02, .delay = 5ms, .reorder_gap = 1ms}};
    auto l = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(l);
    listener lb{*l};
    connection ca, cb;
    constexpr std::size_t n = 2 << 20;
    bool ok_a = true, ok_b = true, received = false;
    std::size_t got = 0;
    tcp::connection_stats sender, receiver;
    std::vector<connection_row> sender_rows;
    auto client = [&]() -> task<void> {
        auto c = co_await connect(p.a.tcp, p.b_at(80));
        if (!c) co_return;
        ca = std::move(*c);
        co_await send_stream(ca, 5, n, ok_a);
    };
    auto server = [&]() -> task<void> {
        auto c = co_await lb.accept();
        if (!c) co_return;
        cb = std::move(*c);
        got = co_await receive_stream(cb, 5, ok_b);
        // Both ends still hold their TCBs: a waits for b's FIN.
        sender = ca.tcb().stats();
        receiver = cb.tcb().stats();
        sender_rows = connection_rows(p.a.tcp);
        received = true;
        co_await cb.close();
    };
    p.sim.spawn(client());
    p.sim.spawn(server());
    p.sim.run_until([&] { return received; }, p.sim.now() + 600s);
    BOOST_REQUIRE(received);
    BOOST_TEST(ok_a);
    BOOST_TEST(ok_b);
    BOOST_TEST(got == n);

    // The sender learnt of holes from SACK blocks, marked data lost and
    // resent it; the reordering made RACK widen its window past zero.
    BOOST_TEST(ca.valid());
    BOOST_TEST(sender.sacked_bytes > 0u);
    BOOST_TEST(sender.lost_bytes > 0u);
    BOOST_TEST(sender.retransmitted_bytes > 0u);
    BOOST_TEST(sender.recoveries > 0u);
    BOOST_TEST(sender.reordering_window_us > 0u);
    // The receiver reported what arrived out of order.
    BOOST_TEST(receiver.sack_segments_sent > 0u);
    expect_json_carries(sender);
    expect_json_carries(receiver);

    BOOST_REQUIRE_EQUAL(sender_rows.size(), 1u);
    const auto& row = sender_rows[0];
    BOOST_TEST(row.retransmitted_bytes == sender.retransmitted_bytes);
    BOOST_TEST(row.sacked_bytes == sender.sacked_bytes);
    BOOST_TEST(row.lost_bytes == sender.lost_bytes);
    BOOST_TEST(row.reordering_window_ms == static_cast<double>(sender.reordering_window_us) / 1000.0);
    // The text: each new column's header, and the row's value under it.
    const std::string text = format_connection_table(sender_rows);
    BOOST_TEST_MESSAGE(text);
    const auto lines = words_per_line(text);
    BOOST_REQUIRE_EQUAL(lines.size(), 2u);
    BOOST_REQUIRE_EQUAL(lines[0].size(), lines[1].size());
    auto under = [&](const std::string& column) {
        const auto at = std::find(lines[0].begin(), lines[0].end(), column);
        BOOST_REQUIRE_MESSAGE(at != lines[0].end(), column << " is not a column");
        return lines[1][static_cast<std::size_t>(at - lines[0].begin())];
    };
    BOOST_TEST(under("resent-B") == std::to_string(sender.retransmitted_bytes));
    BOOST_TEST(under("sacked-B") == std::to_string(sender.sacked_bytes));
    BOOST_TEST(under("lost-B") == std::to_string(sender.lost_bytes));
    BOOST_TEST(under("reo(ms)") == fmt::format("{:.3f}", row.reordering_window_ms));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace coronet::test
