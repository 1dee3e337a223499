// The stack's interface goes away under an open connection (deleting one
// veth end deletes the pair). By default the program says so and exits 1;
// with --wait-for-interface it waits for an interface of the same name and
// carries on there. It used to log "Network is down" once and hang forever.
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <thread>

#include "netns.hpp"

namespace coronet::test {

namespace {

// Waits (up to 5 s) until the peer's kernel has an established connection on port.
bool wait_established(const topology& t, int port) {
    for (int i = 0; i < 100; ++i) {
        std::string established;
        sh(t.in_peer("ss -Htn state established 'sport = :" + std::to_string(port) + "'"), &established);
        if (!established.empty()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

// Waits until the file at path holds at least bytes; false after timeout.
bool wait_for_size(const std::string& path, long bytes, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    struct stat st {};
    while (::stat(path.c_str(), &st) != 0 || st.st_size < bytes) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(50ms);
    }
    return true;
}

std::string delete_stack_interface(const topology& t) { return "ip -n " + t.ns_stack + " link del " + t.if_stack; }

// The veth pair again, with the same names, the peer's address added before
// the link comes up (the stack reopens once it is up and running, and asks
// for the peer's MAC at once).
std::string make_interface_again(const topology& t) {
    return "set -e; ip link add " + t.if_stack + " netns " + t.ns_stack + " type veth peer name " + t.if_peer +
           " netns " + t.ns_peer + "; ip -n " + t.ns_peer + " addr add " + t.peer_ip + "/" + std::to_string(t.prefix) +
           " dev " + t.if_peer + "; ip -n " + t.ns_peer + " link set " + t.if_peer + " up; ip -n " + t.ns_stack +
           " link set " + t.if_stack + " up";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(interface)

BOOST_AUTO_TEST_CASE(coronet_cat_exits_when_its_interface_is_deleted) {
    topology t;
    temp_file out("out");
    child_process server(
        {"ip", "netns", "exec", t.ns_peer, "socat", "-u", "TCP-LISTEN:5020,reuseaddr", "CREATE:" + out.path});
    BOOST_REQUIRE(wait_listening(t.ns_peer, 5020));
    held_fifo stdin_open;
    child_process cat(t.stack_cmd("apps/coronet-cat", {t.peer_ip, "5020"}), stdin_open.file.path);
    BOOST_REQUIRE_MESSAGE(wait_established(t, 5020), cat.output());
    BOOST_REQUIRE(sh(delete_stack_interface(t)) == 0);
    BOOST_TEST(cat.wait(20000ms) == 1, cat.output());
    const std::string said = "coronet-cat: interface " + t.if_stack + " is gone (No such device)";
    BOOST_TEST(cat.output().find(said) != std::string::npos, cat.output());
}

// Half the data goes through, the pair is deleted, the other half is
// written while there is no interface (coronet's retransmissions find no
// device), the pair is made again: the transfer ends byte-exact.
BOOST_AUTO_TEST_CASE(with_wait_for_interface_a_transfer_survives_the_interface_being_made_again) {
    topology t;
    temp_file out("out"), first("first"), second("second"), both("both");
    fill_random(first, 1);
    fill_random(second, 1);
    BOOST_REQUIRE(sh("cat " + first.path + " " + second.path + " > " + both.path) == 0);
    child_process server(
        {"ip", "netns", "exec", t.ns_peer, "socat", "-u", "TCP-LISTEN:5021,reuseaddr", "CREATE:" + out.path});
    BOOST_REQUIRE(wait_listening(t.ns_peer, 5021));
    held_fifo stdin_open;
    child_process cat(t.stack_cmd("apps/coronet-cat", {"--wait-for-interface", t.peer_ip, "5021"}),
                      stdin_open.file.path);
    BOOST_REQUIRE_MESSAGE(wait_established(t, 5021), cat.output());
    BOOST_REQUIRE(sh("cat " + first.path + " > " + stdin_open.file.path) == 0);
    BOOST_REQUIRE_MESSAGE(wait_for_size(out.path, 1 << 20, 20000ms), cat.output());

    BOOST_REQUIRE(sh(delete_stack_interface(t)) == 0);
    BOOST_REQUIRE_MESSAGE(cat.wait_for_output("is gone", 20000ms), cat.output());
    // Blocks once the connection's send buffer and the pipe are full: a process of its own.
    child_process writer({"sh", "-c", "cat " + second.path + " > " + stdin_open.file.path});
    std::string made;
    BOOST_REQUIRE_MESSAGE(sh(make_interface_again(t), &made) == 0, made);
    BOOST_REQUIRE_MESSAGE(cat.wait_for_output("is back", 20000ms), cat.output());

    BOOST_TEST(writer.wait(60000ms) == 0);
    stdin_open.release();  // end of stdin: FIN
    BOOST_TEST(server.wait(60000ms) == 0);
    BOOST_TEST(cat.wait(20000ms) == 0, cat.output());
    BOOST_TEST(sha256(out.path) == sha256(both.path));
    BOOST_TEST(cat.output().find("waiting for it to come back") != std::string::npos, cat.output());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace coronet::test
