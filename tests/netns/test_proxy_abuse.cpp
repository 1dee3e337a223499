// coronet-proxy under abuse: one address opening hundreds of slow
// connections, clients that trickle a byte every few seconds (slowloris) or
// send nothing, hundreds of idle sessions (their memory), and clients beyond
// the backlog (the accept queue's bound). Every load is bounded in count and
// time; the checks are on what the proxy reports and on a legitimate
// client's download, never on how fast something happened.
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <fstream>
#include <thread>

#include "proxied.hpp"

using namespace coronet::test;

namespace {

// Slow clients in Python, from the peer namespace: `trickling` connections
// that send one byte every `interval` seconds, and `silent` ones that send
// nothing, all opened at once and given up after `duration` seconds. Prints
// {"reset": N, "silent_reset": N}: how many of each the proxy reset.
const char* slow_clients_py = R"(import errno, json, socket, sys, time
host, port, trickling, silent, interval, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
def open_one():
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, port))
    return s
talkers = [open_one() for _ in range(trickling)]
quiet = [open_one() for _ in range(silent)]
reset = 0
end = time.monotonic() + duration
while time.monotonic() < end:
    for s in list(talkers):
        try:
            s.send(b'x')
        except BlockingIOError:
            pass
        except OSError as e:
            if e.errno in (errno.ENOTCONN, errno.EINPROGRESS, errno.EALREADY):
                continue  # still connecting (waiting in the backlog)
            reset += 1
            talkers.remove(s)
            s.close()
    time.sleep(min(interval, max(0.0, end - time.monotonic())))
silent_reset = 0
for s in quiet:
    try:
        if s.recv(1, socket.MSG_DONTWAIT) == b'':
            silent_reset += 1
    except BlockingIOError:
        pass
    except OSError:
        silent_reset += 1
print(json.dumps({"reset": reset, "silent_reset": silent_reset}))
)";

// An upstream in the peer namespace that accepts connections and holds them
// open until the client closes (asyncio: no thread per connection).
const char* holding_server_py = R"(import asyncio, sys
async def hold(reader, writer):
    await reader.read()
    writer.close()
async def main():
    server = await asyncio.start_server(hold, sys.argv[1], int(sys.argv[2]), backlog=1024)
    async with server:
        await server.serve_forever()
asyncio.run(main())
)";

// The proxy's SIGUSR1 answer for event ("memory" or "table"): the newest
// such line ("" when the proxy is gone or does not answer within 5 s).
std::string usr1_event(proxied& p, const std::string& event) {
    if (!p.proxy->running()) return "";
    const auto before = json_events(p.summary.path, event).size();
    p.proxy->signal(SIGUSR1);
    for (int i = 0; i < 100; ++i) {
        const auto lines = json_events(p.summary.path, event);
        if (lines.size() > before) return lines.back();
        std::this_thread::sleep_for(50ms);
    }
    return "";
}

int sessions_with_reason(const std::vector<std::string>& sessions, const std::string& side, const std::string& words) {
    return static_cast<int>(std::count_if(sessions.begin(), sessions.end(), [&](const std::string& s) {
        return json_value(s, "side") == side && json_value(s, "reason").find(words) != std::string::npos;
    }));
}

// A second kernel address in the peer namespace, for a client that is not the attacker.
std::string add_peer_address(proxied& p) {
    const std::string other = "10.201.0.3";
    BOOST_REQUIRE(sh("ip -n " + p.t.ns_peer + " addr add " + other + "/24 dev " + p.t.if_peer) == 0);
    return other;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(proxy_abuse)

// The issue's attack: hundreds of clients from one address, a byte every 4 s
// (under the idle timeout), more than --max-connections. One address holds
// at most --max-per-source sessions, so the rest of the world is served.
BOOST_AUTO_TEST_CASE(one_address_with_slow_clients_cannot_take_every_slot) {
    proxied p;
    const std::string sum = p.serve("one", 1);
    const std::string other = add_peer_address(p);
    // Only the per-address limit is at work here: no rate rule.
    p.start({"--max-connections", "100", "--idle-timeout", "10", "--min-rate", "0"});
    temp_file py("slow-clients.py");
    std::ofstream(py.path) << slow_clients_py;
    child_process attack(
        {"ip", "netns", "exec", p.t.ns_peer, "python3", py.path, p.t.stack_ip, "8080", "250", "0", "4", "20"});
    // Wait (at most 15 s) until the attacker holds its share of the sessions.
    std::string memory;
    for (int i = 0; i < 75 && json_field(memory, "sessions") < 64; ++i) {
        std::this_thread::sleep_for(200ms);
        memory = usr1_event(p, "memory");
    }
    BOOST_TEST(json_field(memory, "sessions") == 64, memory);
    // A client from elsewhere, while the attack goes on: it gets its file.
    temp_file out("abuse-download");
    std::string err;
    BOOST_TEST(p.curl("--max-time 10 --interface " + other + " -o " + out.path + " " + p.url + "one", &err) == 0, err);
    BOOST_TEST(sha256(out.path) == sum);
    BOOST_TEST(attack.wait(60000ms) == 0, attack.output());
    BOOST_TEST(p.stop() == 0);
    BOOST_TEST(json_field(p.stopped(), "refused_per_source") >= 250 - 64, p.both());
    BOOST_TEST(json_field(p.stopped(), "peak_sessions") <= 65);
}

// Slowloris from many addresses looks like this from one: every session
// it holds is reset by the rules, not only by the per-address limit. A
// client that trickles is reset by --min-rate, one that sends nothing by
// --first-byte-timeout, and their slots serve a legitimate client that
// waited in the backlog meanwhile.
BOOST_AUTO_TEST_CASE(slowloris_and_silent_clients_are_reset_and_their_slots_serve_others) {
    proxied p;
    const std::string sum = p.serve("one", 1);
    p.start({"--max-connections", "40", "--max-per-source", "1000", "--idle-timeout", "60", "--first-byte-timeout", "3",
             "--min-rate", "16", "--min-rate-window", "4"});
    temp_file py("slowloris.py");
    std::ofstream(py.path) << slow_clients_py;
    // 30 trickle a byte every 2 s, 30 say nothing: more than the 40 slots, for 20 s.
    child_process attack(
        {"ip", "netns", "exec", p.t.ns_peer, "python3", py.path, p.t.stack_ip, "8080", "30", "30", "2", "20"});
    std::string memory;
    for (int i = 0; i < 50 && json_field(memory, "sessions") < 40; ++i) {
        std::this_thread::sleep_for(100ms);
        memory = usr1_event(p, "memory");
    }
    BOOST_TEST(json_field(memory, "sessions") == 40, memory);
    // Every slot is taken: this client waits until the rules free one, well within the attack's 20 s.
    temp_file out("slowloris-download");
    std::string err;
    BOOST_TEST(p.curl("--max-time 15 -o " + out.path + " " + p.url + "one", &err) == 0, err);
    BOOST_TEST(sha256(out.path) == sum);
    BOOST_TEST(attack.wait(60000ms) == 0, attack.output());
    BOOST_TEST_MESSAGE("attack: " << attack.output());
    BOOST_TEST(json_field(attack.output(), "reset") > 0, attack.output());
    BOOST_TEST(json_field(attack.output(), "silent_reset") > 0, attack.output());
    BOOST_TEST(p.stop() == 0);
    const auto sessions = p.sessions();
    BOOST_TEST(sessions_with_reason(sessions, "slow", "min-rate") > 0, p.both());
    BOOST_TEST(sessions_with_reason(sessions, "slow", "nothing sent") > 0);
    BOOST_TEST(json_field(p.stopped(), "slow") > 0);
}

// The issue measured 133 KiB per idle session (a 64 KiB buffer per
// direction, taken up front). A waiting session holds no copy buffer, and
// its connections no buffer storage until data arrives: 500 idle sessions
// grow the proxy by a few KiB each. A memory bound, not a timing one.
BOOST_AUTO_TEST_CASE(idle_sessions_hold_no_buffers_and_little_memory) {
    proxied p;
    temp_file py("holding-server.py");
    std::ofstream(py.path) << holding_server_py;
    child_process upstream({"ip", "netns", "exec", p.t.ns_peer, "python3", py.path, p.t.peer_ip, "9000"});
    BOOST_REQUIRE(wait_listening(p.t.ns_peer, 9000));
    p.start({"--max-per-source", "1000", "--first-byte-timeout", "0"}, 9000);
    const std::string base = usr1_event(p, "memory");
    BOOST_REQUIRE_MESSAGE(json_field(base, "vm_rss_kib") > 0, base);
    constexpr long n = 500;
    child_process clients({"ip", "netns", "exec", p.t.ns_peer, bin("tests/netns/coronet-test-clients"), "--connect",
                           p.t.stack_ip + ":8080", "--count", std::to_string(n), "--parallel", "64", "--timeout", "30",
                           "--hold"});
    std::string held;
    for (int i = 0; i < 300 && json_field(held, "sessions") < n; ++i) {
        std::this_thread::sleep_for(200ms);
        held = usr1_event(p, "memory");
    }
    BOOST_REQUIRE_MESSAGE(json_field(held, "sessions") == n, held << "\n" << clients.output());
    const long growth = (json_field(held, "vm_rss_kib") - json_field(base, "vm_rss_kib")) * 1024;
    BOOST_TEST_MESSAGE("RSS " << json_field(base, "vm_rss_kib") << " -> " << json_field(held, "vm_rss_kib")
                              << " KiB for " << n << " idle sessions: " << growth / n << " bytes per session");
    // Under AddressSanitizer every allocation carries redzones and shadow
    // memory (about 25 KiB per idle session measured): the bound is looser
    // there, still far below the 133 KiB the up-front buffers took.
    constexpr long bound = address_sanitizer ? 64 * 1024 : 16 * 1024;
    BOOST_TEST(growth / n < bound, held);
    BOOST_TEST(json_field(held, "buffers_allocated") == 0);
    BOOST_TEST(json_field(held, "tcp_buffers") == 0);
    clients.terminate();
    BOOST_TEST(p.stop() == 0);
}

// The issue saw 27-31 connections queued with --backlog 16. With one slot,
// held, nothing is accepted: 60 more clients fill the accept queue and no
// further. SIGUSR1's table says how many wait.
BOOST_AUTO_TEST_CASE(the_accept_queue_holds_at_most_the_backlog) {
    proxied p;
    temp_file py("holding-server.py");
    std::ofstream(py.path) << holding_server_py;
    child_process upstream({"ip", "netns", "exec", p.t.ns_peer, "python3", py.path, p.t.peer_ip, "9000"});
    BOOST_REQUIRE(wait_listening(p.t.ns_peer, 9000));
    p.start({"--max-connections", "1", "--backlog", "16", "--first-byte-timeout", "0"}, 9000);
    child_process holder({"ip", "netns", "exec", p.t.ns_peer, bin("tests/netns/coronet-test-clients"), "--connect",
                          p.t.stack_ip + ":8080", "--hold"});
    std::string memory;
    for (int i = 0; i < 50 && json_field(memory, "sessions") < 1; ++i) {
        std::this_thread::sleep_for(100ms);
        memory = usr1_event(p, "memory");
    }
    BOOST_REQUIRE_MESSAGE(json_field(memory, "sessions") == 1, memory);
    child_process crowd({"ip", "netns", "exec", p.t.ns_peer, bin("tests/netns/coronet-test-clients"), "--connect",
                         p.t.stack_ip + ":8080", "--count", "60", "--parallel", "60", "--timeout", "20", "--hold"});
    // Five seconds of looking: the SYN and SYN-ACK retransmissions (1 s, 3 s) come and go.
    long most = 0;
    for (int i = 0; i < 25; ++i) {
        std::this_thread::sleep_for(200ms);
        most = std::max(most, json_field(usr1_event(p, "table"), "listen_queued"));
    }
    BOOST_TEST_MESSAGE("at most " << most << " connections waited for accept");
    BOOST_TEST(most <= 16);
    BOOST_TEST(most >= 1);  // the queue was used
    crowd.terminate();
    holder.terminate();
    BOOST_TEST(p.stop() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
