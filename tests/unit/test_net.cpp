#include <boost/test/unit_test.hpp>
#include <coronet/link/sim_link.hpp>
#include <coronet/net/arp_cache.hpp>
#include <coronet/net/host.hpp>
#include <coronet/net/path_mtu.hpp>
#include <coronet/runtime/sim_loop.hpp>
#include <coronet/wire/arp.hpp>
#include <coronet/wire/ethernet.hpp>
#include <coronet/wire/ipv4.hpp>
#include <vector>

#include "support/frames.hpp"
#include "support/tap_device.hpp"

using namespace coronet;
using namespace std::chrono_literals;
using boost::asio::ip::address_v4;
using boost::asio::ip::make_address_v4;

namespace {

const wire::mac_address mac_a{{0x02, 0, 0, 0, 0, 0xaa}};

storage::packet make_packet(storage::packet_pool& pool) {
    auto p = pool.get();
    BOOST_REQUIRE(p);
    return std::move(*p);
}

// Two hosts, 10.0.0.1 on a and 10.0.0.2 on b, over a sim_link.
struct two_hosts {
    runtime::sim_loop sim;
    link::sim_link wire;
    net::host a, b;
    explicit two_hosts(link::impairment imp = {})
        : wire(sim, imp, 7),
          a(sim, wire.a(), {.address = make_address_v4("10.0.0.1"), .prefix_len = 24}),
          b(sim, wire.b(), {.address = make_address_v4("10.0.0.2"), .prefix_len = 24}) {
        a.start();
        b.start();
        sim.run_for(1ms);
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ip_ids)

// The IP IDs a host (seeded) puts on echo requests to each of dsts in
// turn, all sent through the gateway 10.0.0.2 (whose MAC it has learned).
std::vector<std::uint16_t> idents_for(std::uint64_t seed, const std::vector<address_v4>& dsts) {
    runtime::sim_loop sim;
    test::tap_device dev(test::stack_mac, 512);
    net::host h(sim, dev, {.address = test::stack_ip, .prefix_len = 24, .gateway = test::peer_ip},
                runtime::random_source(seed));
    h.start();
    dev.inject(test::peer_arp_frame(wire::arp_op::reply));
    dev.take_sent();
    std::vector<std::uint16_t> out;
    for (const auto& d : dsts) {
        BOOST_TEST_REQUIRE(!h.send_echo_request(d, 1, 1, {}));
        for (auto& p : dev.take_sent()) {
            auto eth = wire::ethernet_view::parse(p.data());
            BOOST_TEST_REQUIRE(static_cast<bool>(eth));
            auto ip = wire::ipv4_view::parse(eth->payload());
            BOOST_TEST_REQUIRE(static_cast<bool>(ip));
            out.push_back(ip->ident());
        }
    }
    return out;
}

// RFC 7739: one counter per destination, from a random start. A host with
// one global counter is an idle-scan zombie: the gaps an observer sees in
// its own IDs count the datagrams the host sent to others.
BOOST_AUTO_TEST_CASE(ids_towards_one_destination_do_not_move_with_traffic_to_others) {
    const auto observer = make_address_v4("192.0.2.1");
    std::vector<address_v4> dsts{observer};
    for (std::uint32_t i = 0; i < 20; ++i) dsts.push_back(address_v4{0xc6336400 + i});  // 198.51.100.x
    dsts.push_back(observer);
    const auto ids = idents_for(5, dsts);
    BOOST_REQUIRE_EQUAL(ids.size(), dsts.size());
    BOOST_TEST(static_cast<std::uint16_t>(ids.back() - ids.front()) == 1u);
    // The other destinations' first IDs are not one counter's consecutive values.
    int consecutive = 0;
    for (std::size_t i = 2; i + 1 < ids.size(); ++i)
        consecutive += ids[i] == static_cast<std::uint16_t>(ids[i - 1] + 1);
    BOOST_TEST(consecutive < 3);
    // Another host (another key) starts elsewhere.
    BOOST_TEST(idents_for(6, {observer}).front() != ids.front());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(path_mtu_cache_tests)

BOOST_AUTO_TEST_CASE(a_report_lowers_the_path_mtu_until_it_expires) {
    net::path_mtu_cache cache(1500);
    const runtime::time_point t0{};
    const auto dst = make_address_v4("10.0.0.9"), other = make_address_v4("10.0.0.10");
    BOOST_TEST(cache.lookup(dst, t0).mtu == 1500u);
    const auto g0 = cache.generation();
    BOOST_TEST(cache.lower(dst, 1400, 1500, t0).value_or(0) == 1400u);
    BOOST_TEST(cache.generation() != g0);
    BOOST_TEST(cache.lookup(dst, t0 + 1s).mtu == 1400u);
    BOOST_TEST(!cache.lookup(dst, t0 + 1s).fragmentable);
    BOOST_TEST(cache.lookup(other, t0 + 1s).mtu == 1500u);
    BOOST_TEST((cache.lookup(dst, t0).valid_until == t0 + 10min));
    BOOST_TEST(cache.lookup(dst, t0 + 10min).mtu == 1500u);
}

BOOST_AUTO_TEST_CASE(reports_that_are_no_news_or_impossible_change_nothing) {
    net::path_mtu_cache cache(1500);
    const runtime::time_point t0{};
    const auto dst = make_address_v4("10.0.0.9");
    BOOST_TEST(!cache.lower(dst, 1500, 1500, t0));  // not below the datagram it quotes
    BOOST_TEST(!cache.lower(dst, 9000, 1500, t0));
    BOOST_TEST(cache.lower(dst, 1280, 1500, t0).has_value());
    const auto g = cache.generation();
    BOOST_TEST(!cache.lower(dst, 1400, 1500, t0));  // higher than known: a path MTU only goes down
    BOOST_TEST(!cache.lower(dst, 1280, 1500, t0));
    BOOST_TEST(cache.generation() == g);
    BOOST_TEST(cache.lookup(dst, t0).mtu == 1280u);
}

BOOST_AUTO_TEST_CASE(the_floor_holds_and_below_it_datagrams_may_be_fragmented) {
    net::path_mtu_cache cache(1500);
    const runtime::time_point t0{};
    const auto dst = make_address_v4("10.0.0.9");
    BOOST_TEST(cache.lower(dst, 552, 1500, t0).value_or(0) == 552u);
    BOOST_TEST(!cache.lookup(dst, t0).fragmentable);
    BOOST_TEST(cache.lower(dst, 68, 1500, t0).value_or(0) == 552u);  // news: DF must go
    BOOST_TEST(cache.lookup(dst, t0).fragmentable);
    BOOST_TEST(!cache.lower(dst, 100, 1500, t0));
}

BOOST_AUTO_TEST_CASE(a_router_that_names_no_mtu_gets_the_next_plateau) {
    net::path_mtu_cache cache(1500);
    const runtime::time_point t0{};
    BOOST_TEST(cache.lower(make_address_v4("10.0.0.9"), 0, 1500, t0).value_or(0) == 1492u);
    BOOST_TEST(cache.lower(make_address_v4("10.0.0.9"), 0, 1492, t0).value_or(0) == 1006u);
}

BOOST_AUTO_TEST_CASE(the_cache_is_bounded) {
    net::path_mtu_cache cache(1500, {.capacity = 4});
    const runtime::time_point t0{};
    for (std::uint32_t i = 0; i < 10; ++i)
        BOOST_TEST(cache.lower(boost::asio::ip::address_v4{0x0a000100 + i}, 1400, 1500, t0 + i * 1s).has_value());
    BOOST_TEST(cache.size() == 4u);
    // The newest reports stay.
    BOOST_TEST(cache.lookup(boost::asio::ip::address_v4{0x0a000109}, t0 + 10s).mtu == 1400u);
    BOOST_TEST(cache.lookup(boost::asio::ip::address_v4{0x0a000100}, t0 + 10s).mtu == 1500u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(arp_cache_tests)

BOOST_AUTO_TEST_CASE(first_frame_for_an_address_asks_for_a_request_and_waits) {
    storage::packet_pool pool(8, 128, 32);  // outlives the cache that holds its packets
    net::arp_cache cache;
    const runtime::time_point t0{};
    const auto ip = make_address_v4("10.0.0.9");
    BOOST_TEST(!cache.lookup(ip, t0));
    BOOST_TEST((cache.enqueue(ip, make_packet(pool), t0) == net::arp_cache::queued::send_request));
    BOOST_TEST((cache.enqueue(ip, make_packet(pool), t0) == net::arp_cache::queued::waiting));
    std::vector<storage::packet> ready;
    cache.learn(ip, mac_a, t0 + 1ms, false, ready);
    BOOST_TEST(ready.size() == 2u);
    BOOST_TEST((*cache.lookup(ip, t0 + 2ms) == mac_a));
}

BOOST_AUTO_TEST_CASE(learn_without_create_only_refreshes_existing_entries) {
    net::arp_cache cache;
    std::vector<storage::packet> ready;
    const runtime::time_point t0{};
    cache.learn(make_address_v4("10.0.0.5"), mac_a, t0, false, ready);
    BOOST_TEST(cache.size() == 0u);
    cache.learn(make_address_v4("10.0.0.5"), mac_a, t0, true, ready);
    BOOST_TEST(cache.size() == 1u);
}

BOOST_AUTO_TEST_CASE(entries_expire_after_their_lifetime) {
    net::arp_cache cache({.reachable = 60s});
    std::vector<storage::packet> ready;
    const runtime::time_point t0{};
    const auto ip = make_address_v4("10.0.0.5");
    cache.learn(ip, mac_a, t0, true, ready);
    BOOST_TEST(cache.lookup(ip, t0 + 59s).has_value());
    BOOST_TEST(!cache.lookup(ip, t0 + 60s).has_value());
    net::arp_cache::tick_result r;
    cache.tick(t0 + 61s, r);
    BOOST_TEST(cache.size() == 0u);
}

// A doubted entry stays in use while unicast probes re-confirm it; none
// answered, it goes (RFC 4861 7.3's PROBE); an answer ends the doubt.
BOOST_AUTO_TEST_CASE(a_suspected_entry_is_probed_and_dropped_when_nobody_answers) {
    net::arp_cache cache({.reachable = 60s, .retry = 1s, .max_requests = 3});
    std::vector<storage::packet> ready;
    const runtime::time_point t0{};
    const auto ip = make_address_v4("10.0.0.5");
    cache.learn(ip, mac_a, t0, true, ready);
    BOOST_TEST((cache.suspect(ip, t0 + 5s) == std::optional<wire::mac_address>(mac_a)));
    BOOST_TEST(!cache.suspect(ip, t0 + 5s).has_value());    // probing already
    BOOST_TEST(cache.lookup(ip, t0 + 5500ms).has_value());  // still in use meanwhile
    net::arp_cache::tick_result r;
    cache.tick(t0 + 6s, r);
    cache.tick(t0 + 7s, r);
    BOOST_TEST(r.probe.size() == 2u);  // three probes in all, the first by the caller
    BOOST_TEST(r.probes_failed == 0u);
    cache.tick(t0 + 8s, r);
    BOOST_TEST(r.probes_failed == 1u);
    BOOST_TEST(!cache.lookup(ip, t0 + 8s).has_value());
    BOOST_TEST(cache.size() == 0u);
}

BOOST_AUTO_TEST_CASE(an_answer_to_a_probe_ends_the_doubt) {
    net::arp_cache cache({.reachable = 60s, .retry = 1s, .max_requests = 3});
    std::vector<storage::packet> ready;
    const runtime::time_point t0{};
    const auto ip = make_address_v4("10.0.0.5");
    const wire::mac_address moved{{0x02, 0, 0, 0, 0, 0xbb}};
    cache.learn(ip, mac_a, t0, true, ready);
    BOOST_TEST(cache.suspect(ip, t0 + 5s).has_value());
    cache.learn(ip, moved, t0 + 5200ms, false, ready);  // the reply (from the new MAC, say)
    net::arp_cache::tick_result r;
    cache.tick(t0 + 30s, r);
    BOOST_TEST(r.probe.empty());
    BOOST_TEST((cache.lookup(ip, t0 + 30s) == std::optional<wire::mac_address>(moved)));
}

BOOST_AUTO_TEST_CASE(resolution_retries_then_fails_and_drops_waiting_frames) {
    storage::packet_pool pool(8, 128, 32);
    net::arp_cache cache({.retry = 1s, .max_requests = 3});
    const runtime::time_point t0{};
    const auto ip = make_address_v4("10.0.0.9");
    cache.enqueue(ip, make_packet(pool), t0);
    cache.enqueue(ip, make_packet(pool), t0);
    BOOST_TEST(pool.available() == 6u);
    net::arp_cache::tick_result r;
    cache.tick(t0 + 1s, r);
    cache.tick(t0 + 2s, r);
    BOOST_TEST(r.retry.size() == 2u);
    BOOST_TEST(r.failed.empty());
    cache.tick(t0 + 3s, r);
    BOOST_TEST(r.failed.size() == 1u);
    BOOST_TEST(r.dropped_frames == 2u);
    BOOST_TEST(pool.available() == 8u);  // the frames went back to the pool
    BOOST_TEST((cache.next_deadline() == runtime::time_point::max()));
}

BOOST_AUTO_TEST_CASE(queue_per_address_is_bounded) {
    storage::packet_pool pool(8, 128, 32);
    net::arp_cache cache({.max_pending = 2});
    const runtime::time_point t0{};
    const auto ip = make_address_v4("10.0.0.9");
    cache.enqueue(ip, make_packet(pool), t0);
    cache.enqueue(ip, make_packet(pool), t0);
    BOOST_TEST((cache.enqueue(ip, make_packet(pool), t0) == net::arp_cache::queued::full));
}

BOOST_AUTO_TEST_CASE(frames_waiting_for_all_addresses_together_are_bounded) {
    storage::packet_pool pool(16, 128, 32);
    net::arp_cache cache({.max_pending_total = 4});
    const runtime::time_point t0{};
    for (int i = 0; i < 4; ++i)  // four spoofed sources, one frame each
        BOOST_TEST((cache.enqueue(make_address_v4("10.0.0." + std::to_string(10 + i)), make_packet(pool), t0) ==
                    net::arp_cache::queued::send_request));
    BOOST_TEST(cache.pending() == 4u);
    BOOST_TEST((cache.enqueue(make_address_v4("10.0.0.20"), make_packet(pool), t0) == net::arp_cache::queued::full));
    BOOST_TEST((cache.enqueue(make_address_v4("10.0.0.10"), make_packet(pool), t0) == net::arp_cache::queued::full));
    BOOST_TEST(pool.available() == 12u);  // the refused frames went back at once
    std::vector<storage::packet> ready;
    cache.learn(make_address_v4("10.0.0.10"), wire::mac_address{}, t0, false, ready);
    BOOST_TEST(ready.size() == 1u);
    BOOST_TEST(cache.pending() == 3u);
    net::arp_cache::tick_result r;
    for (int s = 1; s <= 3; ++s) cache.tick(t0 + std::chrono::seconds(s), r);
    BOOST_TEST(r.dropped_frames == 3u);
    BOOST_TEST(cache.pending() == 0u);
}

BOOST_AUTO_TEST_CASE(full_cache_evicts_the_entry_closest_to_expiry) {
    net::arp_cache cache({.capacity = 2});
    std::vector<storage::packet> ready;
    const runtime::time_point t0{};
    cache.learn(make_address_v4("10.0.0.1"), mac_a, t0, true, ready);
    cache.learn(make_address_v4("10.0.0.2"), mac_a, t0 + 1s, true, ready);
    cache.learn(make_address_v4("10.0.0.3"), mac_a, t0 + 2s, true, ready);
    BOOST_TEST(cache.size() == 2u);
    BOOST_TEST(!cache.lookup(make_address_v4("10.0.0.1"), t0 + 3s).has_value());
    BOOST_TEST(cache.lookup(make_address_v4("10.0.0.3"), t0 + 3s).has_value());
}

// arp_config::permanent, as the kernel's "nud permanent": known from the
// start, and nothing (time, a full cache, ARP traffic, a doubt) moves it.
BOOST_AUTO_TEST_CASE(permanent_entries_resolve_at_once_and_never_change) {
    const wire::mac_address mac_b{{0x02, 0, 0, 0, 0, 0xbb}};
    const auto ip = make_address_v4("10.0.0.9");
    net::arp_cache cache({.capacity = 2, .reachable = 60s, .permanent = {{ip, mac_a}}});
    const runtime::time_point t0{};
    BOOST_TEST((cache.lookup(ip, t0) == std::optional<wire::mac_address>(mac_a)));
    std::vector<storage::packet> ready;
    cache.learn(ip, mac_b, t0 + 1s, true, ready);         // an ARP reply or request claiming it
    BOOST_TEST(!cache.suspect(ip, t0 + 2s).has_value());  // no probes
    // capacity counts learned entries: two fit beside it, and a third
    // evicts the one closest to expiry, never the permanent one.
    cache.learn(make_address_v4("10.0.0.1"), mac_b, t0 + 3s, true, ready);
    cache.learn(make_address_v4("10.0.0.2"), mac_b, t0 + 4s, true, ready);
    BOOST_TEST(cache.size() == 3u);
    cache.learn(make_address_v4("10.0.0.3"), mac_b, t0 + 5s, true, ready);
    BOOST_TEST(cache.size() == 3u);
    BOOST_TEST(!cache.lookup(make_address_v4("10.0.0.1"), t0 + 6s).has_value());
    net::arp_cache::tick_result r;
    cache.tick(t0 + 24h, r);
    BOOST_TEST(r.probe.empty());
    BOOST_TEST((cache.lookup(ip, t0 + 24h) == std::optional<wire::mac_address>(mac_a)));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_tests)

BOOST_AUTO_TEST_CASE(ping_between_two_hosts_resolves_arp_and_gets_the_reply) {
    two_hosts h;
    int replies = 0;
    h.a.on_echo_reply = [&](const wire::ipv4_view& ip, const wire::icmp_view& r) {
        BOOST_TEST(ip.src() == make_address_v4("10.0.0.2"));
        BOOST_TEST(r.seq_no() == 7);
        ++replies;
    };
    const std::vector<std::byte> payload(32, std::byte{0x5a});
    BOOST_TEST(!h.a.send_echo_request(make_address_v4("10.0.0.2"), 1, 7, payload));
    h.sim.run_until_idle(10s);
    BOOST_TEST(replies == 1);
    BOOST_TEST(h.b.counters().icmp_echo_requests == 1u);
    BOOST_TEST(h.b.counters().arp_requests_answered == 1u);
    BOOST_TEST((*h.a.arp().lookup(make_address_v4("10.0.0.2"), h.sim.now()) == h.b.mac()));
    BOOST_TEST(h.b.arp().lookup(make_address_v4("10.0.0.1"), h.sim.now()).has_value());
}

BOOST_AUTO_TEST_CASE(unanswered_arp_retries_three_times_then_reports_unreachable) {
    two_hosts h;
    std::vector<boost::asio::ip::address_v4> unreachable;
    h.a.on_unreachable = [&](auto ip) { unreachable.push_back(ip); };
    const auto start = h.sim.now();
    const auto sent_before = h.a.counters().arp_requests_sent;
    BOOST_TEST(!h.a.send_echo_request(make_address_v4("10.0.0.77"), 1, 1, {}));
    h.sim.run_until_idle(10s);
    BOOST_TEST(unreachable.size() == 1u);
    BOOST_TEST(h.a.counters().arp_requests_sent - sent_before == 3u);
    BOOST_TEST(h.a.counters().arp_resolve_failed == 1u);
    BOOST_TEST(h.a.counters().arp_queue_drops == 1u);
    BOOST_TEST((h.sim.now() - start == 3s));
}

BOOST_AUTO_TEST_CASE(a_permanent_neighbor_is_sent_to_without_an_arp_request) {
    runtime::sim_loop sim;
    link::sim_link wire(sim, {}, 7);
    net::host a(sim, wire.a(), {.address = make_address_v4("10.0.0.1"), .prefix_len = 24});
    net::host b(sim, wire.b(),
                {.address = make_address_v4("10.0.0.2"),
                 .prefix_len = 24,
                 .arp = {.permanent = {{make_address_v4("10.0.0.1"), a.mac()}}}});
    a.start();
    b.start();
    sim.run_for(1ms);
    int replies = 0;
    b.on_echo_reply = [&](const wire::ipv4_view&, const wire::icmp_view&) { ++replies; };
    const auto sent_before = b.counters().arp_requests_sent;
    BOOST_TEST(!b.send_echo_request(make_address_v4("10.0.0.1"), 1, 1, {}));
    sim.run_until_idle(10s);
    BOOST_TEST(replies == 1);
    BOOST_TEST(b.counters().arp_requests_sent == sent_before);
}

BOOST_AUTO_TEST_CASE(off_link_destination_without_gateway_is_network_unreachable) {
    two_hosts h;
    auto ec = h.a.send_echo_request(make_address_v4("192.0.2.1"), 1, 1, {});
    BOOST_TEST((ec == std::errc::network_unreachable));
    BOOST_TEST(h.a.counters().tx_no_route == 1u);
}

BOOST_AUTO_TEST_CASE(off_link_destination_goes_to_the_gateway_mac) {
    runtime::sim_loop sim;
    link::sim_link wire{sim};
    net::host a{sim,
                wire.a(),
                {.address = make_address_v4("10.0.0.1"), .prefix_len = 24, .gateway = make_address_v4("10.0.0.2")}};
    net::host gw{sim, wire.b(), {.address = make_address_v4("10.0.0.2"), .prefix_len = 24}};
    a.start();
    gw.start();
    BOOST_TEST(!a.send_echo_request(make_address_v4("192.0.2.1"), 1, 1, {}));
    sim.run_until_idle(10s);
    // The gateway received the frame at its MAC but, not being the destination, dropped it as not for its IP.
    BOOST_TEST(gw.counters().rx_other_ip == 1u);
    BOOST_TEST(a.counters().arp_resolve_failed == 0u);
}

BOOST_AUTO_TEST_CASE(echo_under_loss_and_corruption_never_delivers_a_damaged_reply) {
    two_hosts h({.loss = 0.2, .corrupt = 0.3});
    int replies = 0;
    std::vector<std::byte> payload(64);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = std::byte(i);
    h.a.on_echo_reply = [&](const wire::ipv4_view&, const wire::icmp_view& r) {
        BOOST_TEST((std::vector<std::byte>(r.payload().begin(), r.payload().end()) == payload));
        ++replies;
    };
    // Resolve ARP first (retrying through the loss), then send 200 requests.
    h.a.send_echo_request(make_address_v4("10.0.0.2"), 1, 0, payload);
    h.sim.run_until_idle(10s);
    replies = 0;
    for (std::uint16_t seq = 1; seq <= 200; ++seq) {
        h.a.send_echo_request(make_address_v4("10.0.0.2"), 1, seq, payload);
        h.sim.run_for(10ms);
    }
    h.sim.run_until_idle(10s);
    BOOST_TEST(replies > 20);
    BOOST_TEST(replies < 200);
    BOOST_TEST(h.b.counters().rx_dropped() + h.a.counters().rx_dropped() > 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_start_tests)

namespace {
struct arp_recorder final : link::frame_sink {
    std::vector<std::vector<std::byte>> frames;
    void on_frame(wire::bytes f, const storage::rx_meta&) override { frames.emplace_back(f.begin(), f.end()); }
};
}  // namespace

BOOST_AUTO_TEST_CASE(start_announces_the_address_with_a_gratuitous_arp) {
    runtime::sim_loop sim;
    link::sim_link wire{sim};
    arp_recorder rec;
    wire.b().start(rec);
    net::host a{sim, wire.a(), {.address = make_address_v4("10.0.0.1"), .prefix_len = 24}};
    a.start();
    sim.run_until_idle();
    BOOST_REQUIRE(rec.frames.size() == 1u);
    auto eth = wire::ethernet_view::parse(rec.frames[0]);
    BOOST_REQUIRE(eth);
    BOOST_TEST(eth->dst().is_broadcast());
    BOOST_TEST(eth->type() == wire::ethertype::arp);
    auto arp = wire::arp_view::parse(eth->payload());
    BOOST_REQUIRE(arp);
    BOOST_TEST(arp->operation() == wire::arp_op::request);
    BOOST_TEST(arp->sender_ip() == make_address_v4("10.0.0.1"));
    BOOST_TEST(arp->target_ip() == make_address_v4("10.0.0.1"));
    BOOST_TEST((arp->sender_mac() == a.mac()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(address_conflict_tests)

namespace {

const wire::mac_address rival_mac{{0x02, 0, 0, 0, 0, 0x66}};

// The stack's host (10.0.0.1) on a tap device, probing three times 100 ms apart.
struct probing_host {
    runtime::sim_loop sim;
    test::tap_device dev{test::stack_mac, 64};
    net::host h{sim, dev, {.address = test::stack_ip, .prefix_len = 24, .conflict = {.probes = 3}}};

    // The ARP packets sent since the last call.
    std::vector<wire::arp_repr> sent_arp() {
        std::vector<wire::arp_repr> out;
        for (auto& p : dev.take_sent())
            if (auto f = test::decode_sent(p.data(), dev.mtu()); f.arp) out.push_back(*f.arp);
        return out;
    }
    void inject(const wire::arp_repr& arp) { dev.inject(test::arp_frame(arp, wire::mac_address::broadcast())); }
};

bool is_probe(const wire::arp_repr& a) {
    return a.operation == wire::arp_op::request && a.sender_ip.is_unspecified() && a.target_ip == test::stack_ip &&
           a.sender_mac == test::stack_mac;
}
bool is_announcement(const wire::arp_repr& a) {
    return a.operation == wire::arp_op::request && a.sender_ip == test::stack_ip && a.target_ip == test::stack_ip;
}

}  // namespace

BOOST_AUTO_TEST_CASE(unanswered_probes_end_in_an_announcement_and_the_address_is_used) {
    probing_host t;
    t.h.start();
    BOOST_TEST((t.h.address_state() == net::address_phase::probing));
    for (int i = 0; i < 3; ++i) {
        const auto sent = t.sent_arp();
        BOOST_REQUIRE(sent.size() == 1u);
        BOOST_TEST(is_probe(sent[0]), "probe " << i);
        BOOST_TEST((t.h.address_state() == net::address_phase::probing));
        t.sim.run_for(100ms);
    }
    const auto sent = t.sent_arp();
    BOOST_REQUIRE(sent.size() == 1u);
    BOOST_TEST(is_announcement(sent[0]));
    BOOST_TEST((t.h.address_state() == net::address_phase::claimed));
    BOOST_TEST(t.h.counters().address_probes_sent == 3u);
    BOOST_TEST(t.h.counters().arp_conflicts == 0u);
}

BOOST_AUTO_TEST_CASE(a_host_holding_the_address_answers_the_probe_and_the_prober_refrains) {
    runtime::sim_loop sim;
    link::sim_link wire{sim};
    net::host holder{sim, wire.b(), {.address = make_address_v4("10.0.0.1"), .prefix_len = 24}};
    net::host prober{
        sim, wire.a(), {.address = make_address_v4("10.0.0.1"), .prefix_len = 24, .conflict = {.probes = 3}}};
    holder.start();
    sim.run_for(1ms);
    prober.start();
    sim.run_until_idle(10s);
    BOOST_TEST((prober.address_state() == net::address_phase::conflict));
    BOOST_TEST((prober.address_rival() == holder.mac()));
    BOOST_TEST(prober.counters().address_probes_sent == 1u);  // the answer came before the second
    BOOST_TEST(prober.counters().arp_conflicts == 1u);
    BOOST_TEST(holder.counters().arp_requests_answered == 1u);
    BOOST_TEST((holder.address_state() == net::address_phase::claimed));
    BOOST_TEST(holder.counters().arp_conflicts == 0u, "a probe is no claim: the holder keeps its address quietly");
}

BOOST_AUTO_TEST_CASE(another_hosts_probe_for_the_address_while_probing_is_a_conflict) {
    probing_host t;
    t.h.start();
    t.sent_arp();
    t.inject({.operation = wire::arp_op::request,
              .sender_mac = rival_mac,
              .sender_ip = {},
              .target_mac = {},
              .target_ip = test::stack_ip});
    BOOST_TEST((t.h.address_state() == net::address_phase::conflict));
    BOOST_TEST((t.h.address_rival() == rival_mac));
    t.sim.run_for(1s);
    BOOST_TEST(t.sent_arp().empty(), "no more probes and no announcement after a conflict");
}

BOOST_AUTO_TEST_CASE(while_probing_the_address_is_not_answered_for) {
    probing_host t;
    t.h.start();
    t.sent_arp();
    t.dev.inject(test::peer_arp_frame(wire::arp_op::request));  // who has 10.0.0.1?
    BOOST_TEST(t.sent_arp().empty());
    BOOST_TEST(t.h.counters().arp_requests_answered == 0u);
    t.sim.run_for(300ms);
    t.sent_arp();
    t.dev.inject(test::peer_arp_frame(wire::arp_op::request));
    const auto sent = t.sent_arp();
    BOOST_REQUIRE(sent.size() == 1u);
    BOOST_TEST(sent[0].operation == wire::arp_op::reply);
}

BOOST_AUTO_TEST_CASE(while_probing_datagrams_to_the_address_are_dropped) {
    probing_host t;
    t.h.start();
    t.dev.inject(test::peer_tcp_frame(test::segment{40000, 80}.syn().seq(1000u)));
    BOOST_TEST(t.h.counters().rx_other_ip == 1u);
    BOOST_TEST(t.dev.take_sent().size() == 1u, "the first probe only");
}

BOOST_AUTO_TEST_CASE(a_claim_on_the_address_in_use_is_defended_at_most_once_per_interval) {
    probing_host t;
    t.h.start();
    t.sim.run_for(300ms);
    BOOST_REQUIRE((t.h.address_state() == net::address_phase::claimed));
    t.sent_arp();
    const wire::arp_repr claim{.operation = wire::arp_op::request,
                               .sender_mac = rival_mac,
                               .sender_ip = test::stack_ip,
                               .target_mac = {},
                               .target_ip = test::stack_ip};
    t.inject(claim);
    auto sent = t.sent_arp();
    BOOST_REQUIRE(sent.size() == 1u);
    BOOST_TEST(is_announcement(sent[0]));
    t.sim.run_for(5s);
    t.inject(claim);
    BOOST_TEST(t.sent_arp().empty(), "a second defence within 10 s");
    t.sim.run_for(6s);
    t.inject(claim);
    sent = t.sent_arp();
    BOOST_REQUIRE(sent.size() == 1u);
    BOOST_TEST(is_announcement(sent[0]));
    BOOST_TEST(t.h.counters().arp_conflicts == 3u);
    BOOST_TEST(t.h.counters().address_defences == 2u);
    BOOST_TEST((t.h.address_state() == net::address_phase::claimed), "a configured address is kept");
}

BOOST_AUTO_TEST_SUITE_END()
