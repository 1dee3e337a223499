// coronet-asio-echo, an Asio program that runs the coronet loop inside its
// io_context and serves each connection from an asio::co_spawn coroutine,
// against kernel clients (socat): byte-exact echo of a mebibyte of lines and
// of a long last line without newline, several clients at once, and SIGTERM
// with connections open ending it with status 0.
#include <boost/test/unit_test.hpp>
#include <memory>

#include "netns.hpp"

using namespace coronet::test;

namespace {

// Lines of base64 text, `width` characters each (0: one line, no newline).
void fill_lines(const temp_file& f, const std::string& size, int width) {
    BOOST_REQUIRE(sh("head -c " + size + " /dev/urandom | base64 -w " + std::to_string(width) + " > " + f.path) == 0);
}

// coronet-asio-echo --listen 7000 in the stack namespace, ready to accept.
struct echo_server {
    child_process proc;
    explicit echo_server(const topology& t) : proc(t.stack_cmd("apps/coronet-asio-echo", {"--listen", "7000"})) {
        BOOST_REQUIRE_MESSAGE(proc.wait_for_output("listening on", 5000ms), proc.output());
    }
};

// A kernel client in the peer namespace: sends `in`, half-closes, and writes
// what comes back to `out` until the server's FIN.
std::unique_ptr<child_process> client(const topology& t, const temp_file& in, const temp_file& out) {
    return std::make_unique<child_process>(
        std::vector<std::string>{"ip", "netns", "exec", t.ns_peer, "socat", "-t", "10", "-T", "15", "-",
                                 "TCP:" + t.stack_ip + ":7000"},
        in.path, out.path);
}

void expect_echo(const topology& t, const temp_file& in) {
    temp_file out("out");
    auto c = client(t, in, out);
    BOOST_TEST(c->wait(15000ms) == 0, c->output());
    BOOST_TEST(sha256(out.path) == sha256(in.path));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(asio_echo)

BOOST_AUTO_TEST_CASE(echoes_a_mebibyte_of_lines_byte_exact) {
    topology t;
    echo_server server{t};
    temp_file in("lines");
    fill_lines(in, "1M", 100);
    expect_echo(t, in);
    BOOST_TEST(server.proc.running(), server.proc.output());
}

BOOST_AUTO_TEST_CASE(echoes_a_last_line_without_newline_at_eof) {
    topology t;
    echo_server server{t};
    temp_file short_text("short"), long_line("long");
    BOOST_REQUIRE(sh("printf 'one\\ntwo\\n\\nno newline at the end' > " + short_text.path) == 0);
    fill_lines(long_line, "300K", 0);  // 400 KB in one line: many reads before the EOF
    expect_echo(t, short_text);
    expect_echo(t, long_line);
}

BOOST_AUTO_TEST_CASE(serves_four_clients_at_once) {
    topology t;
    echo_server server{t};
    std::vector<std::unique_ptr<temp_file>> ins, outs;
    std::vector<std::unique_ptr<child_process>> clients;
    for (int i = 0; i < 4; ++i) {
        ins.push_back(std::make_unique<temp_file>("in"));
        outs.push_back(std::make_unique<temp_file>("out"));
        fill_lines(*ins.back(), "256K", 60 + 20 * i);
    }
    for (int i = 0; i < 4; ++i) clients.push_back(client(t, *ins[i], *outs[i]));
    for (int i = 0; i < 4; ++i) {
        BOOST_TEST(clients[i]->wait(15000ms) == 0, clients[i]->output());
        BOOST_TEST(sha256(outs[i]->path) == sha256(ins[i]->path), "client " << i);
    }
}

BOOST_AUTO_TEST_CASE(sigterm_with_connections_open_exits_zero) {
    topology t;
    echo_server server{t};
    // Clients that keep their connection open: their stdin stays open for 6 s.
    auto idle = [&](const std::string& line) {
        return std::make_unique<child_process>(
            std::vector<std::string>{"ip", "netns", "exec", t.ns_peer, "sh", "-c",
                                     "(echo " + line + "; sleep 6) | socat - TCP:" + t.stack_ip + ":7000"});
    };
    auto idle1 = idle("hi"), idle2 = idle("ho");
    BOOST_TEST(idle1->wait_for_output("hi", 5000ms), idle1->output());
    BOOST_TEST(idle2->wait_for_output("ho", 5000ms), idle2->output());
    BOOST_TEST(server.proc.terminate(5000ms) == 0, server.proc.output());
}

BOOST_AUTO_TEST_SUITE_END()
