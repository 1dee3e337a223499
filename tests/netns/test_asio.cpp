// coronet-asio-echo, an Asio program that runs the coronet loop inside its
// io_context and serves each connection from an asio::co_spawn coroutine,
// against kernel clients (socat): byte-exact echo of a mebibyte of lines and
// of a long last line without newline, several clients at once, and SIGTERM
// with connections open ending it with status 0. And coronet-beast-files, a
// Boost.Beast file server on the adapters, against curl: a program that exits
// right after its last response loses no byte (async_close), and SIGTERM
// during a download exits 0 although its io_context is declared before the stack.
#include <boost/test/unit_test.hpp>
#include <memory>
#include <thread>

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

namespace {

// coronet-beast-files serving /tmp in the stack namespace, ready to accept.
struct file_server {
    child_process proc;
    file_server(const topology& t, const std::vector<std::string>& extra)
        : proc(t.stack_cmd("apps/coronet-beast-files", with(extra))) {
        BOOST_REQUIRE_MESSAGE(proc.wait_for_output("listening on", 5000ms), proc.output());
    }
    static std::vector<std::string> with(std::vector<std::string> extra) {
        for (const char* a : {"--listen", "8080", "--root", "/tmp"}) extra.emplace_back(a);
        return extra;
    }
};

// curl in the peer namespace fetching f (served from /tmp) into out.
std::unique_ptr<child_process> download(const topology& t, const temp_file& f, const temp_file& out,
                                        const std::string& options = "") {
    const std::string url = "http://" + t.stack_ip + ":8080" + f.path.substr(4);  // f.path is /tmp/NAME
    return std::make_unique<child_process>(
        std::vector<std::string>{"ip", "netns", "exec", t.ns_peer, "sh", "-c",
                                 "curl -sS --max-time 60 " + options + " -o " + out.path + " " + url});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(asio_beast_files)

// Issue 16: "close() then exit loses data: wrote 2,097,152 B, the peer got
// 1,862,128 B and never saw a FIN". The server exits after one response.
BOOST_AUTO_TEST_CASE(a_server_exiting_after_its_last_response_delivers_every_byte) {
    topology t;
    temp_file f("download"), out("downloaded");
    BOOST_REQUIRE(sh("head -c 2097152 /dev/urandom > " + f.path) == 0);
    // A slow reader with a small window: the stack still holds data when the last write completes.
    BOOST_REQUIRE(sh(t.in_peer("sysctl -qw net.ipv4.tcp_rmem='4096 16384 65536'")) == 0);
    file_server server{t, {"--requests", "1"}};
    auto curl = download(t, f, out, "--limit-rate 4M");
    BOOST_TEST(server.proc.wait(15000ms) == 0, server.proc.output());
    BOOST_TEST(curl->wait(15000ms) == 0, curl->output());  // curl fails (18) on a short body
    BOOST_TEST(sha256(out.path) == sha256(f.path));
}

// Issue 16: "declaring the io_context before the stack crashes at shutdown
// (exit 139 during a download)". coronet-beast-files declares it so.
BOOST_AUTO_TEST_CASE(sigterm_during_a_download_exits_zero) {
    topology t;
    temp_file f("download"), out("downloaded");
    fill_random(f, 64);
    file_server server{t, {}};
    auto curl = download(t, f, out, "--limit-rate 2M");  // in flight for half a minute
    for (int i = 0; i < 100 && sh("test -s " + out.path) != 0; ++i) std::this_thread::sleep_for(50ms);
    std::this_thread::sleep_for(300ms);
    BOOST_TEST(curl->running());  // the download is still in flight
    BOOST_TEST(server.proc.terminate(5000ms) == 0, server.proc.output());
}

BOOST_AUTO_TEST_CASE(keep_alive_downloads_come_back_byte_exact_and_missing_files_are_404) {
    topology t;
    temp_file f("download"), out("downloaded"), missing("missing"), none("none");
    fill_random(f, 8);
    file_server server{t, {}};
    for (int i = 0; i < 2; ++i) {
        auto curl = download(t, f, out);
        BOOST_TEST(curl->wait(15000ms) == 0, curl->output());
        BOOST_TEST(sha256(out.path) == sha256(f.path));
    }
    auto curl = download(t, missing, none, "-f");
    BOOST_TEST(curl->wait(15000ms) == 22, curl->output());  // curl -f: HTTP error
    BOOST_TEST(server.proc.running(), server.proc.output());
}

BOOST_AUTO_TEST_SUITE_END()
