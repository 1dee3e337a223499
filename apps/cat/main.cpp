// coronet-cat: netcat on the user-space stack. Copies stdin to the
// connection and the connection to stdout; stdin's end sends FIN (half-close)
// and reading goes on until the peer's FIN. When it closed first it lingers
// in TIME_WAIT a while (--linger) before exiting: a process that is gone
// cannot acknowledge the peer's FIN again if the last ACK was lost.
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <coronet/api/stack.hpp>
#include <csignal>
#include <cstdio>
#include <vector>

#include "../common/options.hpp"

namespace {

using namespace coronet;
using runtime::task;

struct cat_options {
    std::string host;
    std::uint16_t port = 0;
    std::optional<std::uint16_t> listen;
    double connect_timeout = 0;
    double linger = 1;
};

class session {
public:
    session(runtime::loop& loop, connection c, runtime::duration linger)
        : loop_(loop), conn_(std::move(c)), linger_(linger) {}

    // stdin -> connection, then FIN.
    task<void> upstream() {
        std::vector<std::byte> buf(64 * 1024);
        for (;;) {
            const int n = co_await loop_.submit(
                [&](io_uring_sqe* s) { io_uring_prep_read(s, 0, buf.data(), static_cast<unsigned>(buf.size()), -1); });
            if (n < 0) {
                fail("reading stdin: " + std::error_code(-n, std::generic_category()).message());
                break;
            }
            if (n == 0) break;
            if (auto r = co_await conn_.write(wire::bytes{buf.data(), static_cast<std::size_t>(n)}); !r) {
                fail(apps::describe(r.error()));
                break;
            }
        }
        if (!failed_) co_await conn_.shutdown_write();
        done();
    }

    // connection -> stdout, until the peer's FIN.
    task<void> downstream() {
        std::vector<std::byte> buf(64 * 1024);
        for (;;) {
            auto r = co_await conn_.read(buf);
            if (!r) {
                fail(apps::describe(r.error()));
                break;
            }
            if (*r == 0) break;
            std::size_t off = 0;
            while (off < *r) {
                const int w = co_await write_stdout(wire::bytes{buf.data() + off, *r - off});
                if (w <= 0) {
                    fail("writing stdout: " + std::error_code(-w, std::generic_category()).message());
                    break;
                }
                off += static_cast<std::size_t>(w);
            }
            if (failed_) break;
        }
        done();
    }

    bool failed() const noexcept { return failed_; }
    // A regular file is written with write(2): an io_uring write at the
    // file position does not take the position's lock, so beside the log
    // lines that write(2) puts in the same file (`> out 2>&1`) one of them
    // could land on top of the other.
    task<int> write_stdout(wire::bytes b) {
        if (stdout_is_file_) {
            const ssize_t w = ::write(1, b.data(), b.size());
            co_return w < 0 ? -errno : static_cast<int>(w);
        }
        co_return co_await loop_.submit(
            [&](io_uring_sqe* s) { io_uring_prep_write(s, 1, b.data(), static_cast<unsigned>(b.size()), -1); });
    }
    // The connection's counters; once it is closed or aborted, as they were then.
    tcp::connection_stats stats() const { return conn_.valid() ? conn_.stats() : last_stats_; }

private:
    void fail(const std::string& why) {
        if (!failed_) std::fprintf(stderr, "coronet-cat: %s\n", why.c_str());
        failed_ = true;
        if (conn_.valid()) last_stats_ = conn_.stats();
        conn_.abort();
        loop_.stop();
    }
    void done() {
        if (++finished_ < 2 || failed_) return;
        loop_.spawn(finish(), "close");
    }
    task<void> finish() {
        const auto& t = conn_.tcb();
        const tcp::connection_stats st = t.counters();
        spdlog::debug(
            "connection: sent {} B, received {} B, segments {}/{}, retransmits {} (fast {}, timeouts {}), "
            "dup acks {}, out-of-order {}, srtt {} us, cwnd {}",
            st.bytes_sent, st.bytes_received, st.segments_sent, st.segments_received, st.retransmits,
            st.fast_retransmits, st.timeouts, st.dup_acks, st.ooo_segments,
            std::chrono::duration_cast<std::chrono::microseconds>(t.rtt().srtt()).count(), t.cwnd());
        last_stats_ = st;
        const auto tcb = t.shared_from_this();  // close() lets go of it
        if (auto r = co_await conn_.close(); !r) fail(apps::describe(r.error()));
        // TIME_WAIT (we closed first): stay to acknowledge the peer's FIN
        // again should it come back, until 2MSL ends or the linger limit.
        const auto until = loop_.now() + linger_;
        while (!failed_ && tcb->current() == tcp::state::time_wait && loop_.now() < until)
            co_await loop_.sleep_for(std::min<runtime::duration>(std::chrono::milliseconds(50), until - loop_.now()));
        last_stats_ = tcb->counters();
        loop_.stop();
    }

    runtime::loop& loop_;
    connection conn_;
    runtime::duration linger_;
    tcp::connection_stats last_stats_;
    int finished_ = 0;
    bool failed_ = false;
    bool stdout_is_file_ = [] {
        struct stat st {};
        return ::fstat(1, &st) == 0 && S_ISREG(st.st_mode);
    }();
};

}  // namespace

int main(int argc, char** argv) {
    apps::common_options common;
    cat_options o;
    apps::command_line cl;
    cl.usage =
        "coronet-cat --iface IF --ip A.B.C.D/N [options] HOST PORT\n"
        "       coronet-cat --iface IF --ip A.B.C.D/N [options] --listen PORT";
    cl.summary =
        "netcat over the user-space TCP stack: copies stdin to the connection and the connection\n"
        "to stdout. End of stdin sends FIN (half-close) and reading continues until the peer's FIN.\n"
        "--listen accepts one connection. Exit status: 0 when both directions finished, 1 on a\n"
        "connection error (refused, timed out, reset, no route), 2 on usage or start-up errors.";
    apps::po::options_description own("Cat options");
    std::uint16_t listen_port = 0;
    own.add_options()("listen,l", apps::port_value("--listen", listen_port), "accept one connection on PORT")(
        "connect-timeout", apps::po::value(&o.connect_timeout)->value_name("SECONDS"),
        "give up connecting after SECONDS (default: after the SYN retries, ~127 s)")(
        "linger", apps::po::value(&o.linger)->value_name("SECONDS")->default_value(o.linger),
        "when this side closed first, stay up to SECONDS in TIME_WAIT to acknowledge the peer's FIN "
        "again if the last ACK was lost (0: exit at once)")("no-delay", "disable Nagle's algorithm")(
        "stats", "at exit, print the stack's and the connection's counters to stderr as one JSON line")(
        "host", apps::po::value(&o.host)->value_name("HOST"), "peer IPv4 address")(
        "port", apps::port_value("PORT", o.port), "peer port");
    cl.options.add(own).add(apps::common_description(common)).add(apps::tcp_description(common));
    cl.positional.add("host", 1).add("port", 1);
    const auto vm = apps::parse_or_exit(argc, argv, cl, common);
    if (vm.count("listen")) {
        if (!o.host.empty()) apps::usage_error("coronet-cat", "--listen takes no HOST PORT");
        o.listen = listen_port;
    } else {
        if (o.host.empty() || o.port == 0) apps::usage_error("coronet-cat", "give HOST PORT, or --listen PORT");
    }
    if (o.connect_timeout < 0) apps::die("coronet-cat", "--connect-timeout must be positive", 2);
    if (o.linger < 0) apps::die("coronet-cat", "--linger must not be negative", 2);
    boost::system::error_code ec;
    const auto host = o.listen ? boost::asio::ip::address_v4{} : boost::asio::ip::make_address_v4(o.host, ec);
    if (ec) apps::die("coronet-cat", "'" + o.host + "' is not an IPv4 address", 2);
    std::signal(SIGPIPE, SIG_IGN);

    try {
        runtime::loop loop{common.loop};
        stack st{loop, common.iface};
        apps::exit_when_interface_lost(st, "coronet-cat");
        runtime::signal_set signals{loop, {SIGINT, SIGTERM}};
        // Listening before the loop first runs: a SYN that comes with its
        // first turn must find the listener (it drew a reset before).
        listener l;
        if (o.listen) {
            auto opened = st.listen(*o.listen, 1);
            if (!opened) {
                std::fprintf(stderr, "coronet-cat: listen on %u: %s\n", *o.listen, opened.error().message().c_str());
                return 1;
            }
            l = std::move(*opened);
        }
        std::unique_ptr<session> s;
        int status = 0;
        auto run = [&]() -> task<void> {
            result<connection> c = std::make_error_code(std::errc::not_connected);
            if (o.listen) {
                c = co_await l.accept();
                l.close();  // one connection
            } else {
                std::optional<runtime::duration> timeout;
                if (o.connect_timeout > 0)
                    timeout =
                        std::chrono::duration_cast<runtime::duration>(std::chrono::duration<double>(o.connect_timeout));
                c = co_await st.connect({host, o.port}, timeout);
            }
            if (!c) {
                std::fprintf(stderr, "coronet-cat: %s\n", apps::describe(c.error()).c_str());
                status = 1;
                loop.stop();
                co_return;
            }
            if (vm.count("no-delay")) c->set_no_delay(true);
            s = std::make_unique<session>(
                loop, std::move(*c),
                std::chrono::duration_cast<runtime::duration>(std::chrono::duration<double>(o.linger)));
            loop.spawn(s->upstream(), "stdin");
            loop.spawn(s->downstream(), "stdout");
        };
        auto on_signal = [&]() -> task<void> {
            co_await signals.wait();
            status = 1;
            loop.stop();
        };
        loop.spawn(run(), "cat");
        loop.spawn(on_signal(), "signals");
        loop.run();
        if (s && s->failed()) status = 1;
        if (vm.count("stats")) {
            const std::optional<tcp::connection_stats> conn_stats = s ? std::optional{s->stats()} : std::nullopt;
            std::fprintf(stderr, "%s\n", counters_json(st, conn_stats ? &*conn_stats : nullptr).c_str());
        }
        return status;
    } catch (const std::exception& e) {
        apps::die("coronet-cat", e.what(), 2);
    }
}
