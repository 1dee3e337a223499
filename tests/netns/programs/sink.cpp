// coronet-test-sink: a coronet server for flood and capacity tests. It
// accepts any number of connections on one port and, per --mode, reads and
// discards, echoes, or holds each connection open without reading (until
// SIGUSR2, which turns holding into discarding). SIGUSR1 prints one JSON line
// (connections, RSS, states, the stack's counters); SIGTERM/SIGINT print a
// last one and exit 0. The TCP limits under test
// (--max-connections, --memory-limit, buffer sizes, SYN cookies) map onto
// tcp_config.
#include <coronet/api/stack.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "../../../apps/common/options.hpp"

using namespace coronet;

namespace {

enum class sink_mode { discard, echo, hold };

struct sink_options {
    std::uint16_t port = 0, ports = 1;  // listens on port .. port + ports - 1
    std::size_t backlog = 1024;
    sink_mode mode = sink_mode::discard;
};

// VmHWM and VmRSS of this process in KiB (0 when /proc is unreadable).
std::pair<unsigned long, unsigned long> memory_kib() {
    std::ifstream in("/proc/self/status");
    std::string key;
    unsigned long hwm = 0, rss = 0, value = 0;
    while (in >> key) {
        if (key == "VmHWM:" && in >> value)
            hwm = value;
        else if (key == "VmRSS:" && in >> value)
            rss = value;
    }
    return {hwm, rss};
}

// Appends "name":value to a JSON object being written.
void field(std::string& out, const char* name, std::uint64_t value) {
    if (out.back() != '{') out += ',';
    out += '"';
    out += name;
    out += "\":";
    out += std::to_string(value);
}

// Opens a nested object "name":{ (closed by the caller).
void object(std::string& out, const char* name) {
    if (out.back() != '{') out += ',';
    out += '"';
    out += name;
    out += "\":{";
}

class sink {
public:
    sink(stack& st, sink_options o) : st_(st), o_(o) {}

    result<void> start() {
        listeners_.reserve(o_.ports);
        for (std::uint16_t i = 0; i < o_.ports; ++i) {
            auto l = st_.listen(static_cast<std::uint16_t>(o_.port + i), o_.backlog);
            if (!l) return l.error();
            listeners_.push_back(std::move(*l));
        }
        for (auto& l : listeners_) st_.loop().spawn(accept_loop(l), "accept");
        st_.loop().spawn(sample(), "sample");
        return {};
    }

    // One JSON line: what the sink holds, its memory, and every counter of the
    // stack (coronet::counters_json, flat keys such as "tcp_syns_dropped").
    std::string report(const char* why) {
        const auto [hwm, rss] = memory_kib();
        std::uint64_t per_state[11] = {}, rx_buffered = 0, tx_buffered = 0;
        st_.tcp().for_each([&](const tcp::tcb& c) {
            ++per_state[static_cast<std::size_t>(c.current())];
            rx_buffered += c.receive_queue();
            tx_buffered += c.send_queue();
        });
        std::string out = "{\"report\":\"" + std::string(why) + "\"";
        field(out, "connections_open", open_now());
        field(out, "peak_connections_open", peak_open_);
        field(out, "accepted", accepted_);
        field(out, "tcp_connections", st_.tcp().connection_count());
        field(out, "peak_tcp_connections", peak_tcp_);
        field(out, "rx_buffered", rx_buffered);
        field(out, "tx_buffered", tx_buffered);
        field(out, "vm_hwm_kib", hwm);
        field(out, "vm_rss_kib", rss);
        object(out, "states");
        for (std::size_t s = 0; s < std::size(per_state); ++s)
            if (per_state[s] > 0)
                field(out, std::string(tcp::to_string(static_cast<tcp::state>(s))).c_str(), per_state[s]);
        out += '}';
        field(out, "arp_entries", st_.host().arp().size());
        field(out, "timer_samples", samples_);
        field(out, "timers_queued", st_.loop().timers().size());
        out += ",\"counters\":" + counters_json(st_) + "}";
        return out;
    }

    // Ends holding: the held connections, and any accepted from now on, are
    // read and discarded until the peer's FIN, then closed.
    void release() {
        if (o_.mode != sink_mode::hold) return;
        o_.mode = sink_mode::discard;
        for (auto& c : held_) {
            ++serving_;
            st_.loop().spawn(serve(std::move(c)), "serve");
        }
        held_.clear();
    }

private:
    runtime::task<void> accept_loop(listener& l) {
        for (;;) {
            auto c = co_await l.accept();
            if (!c) co_return;
            ++accepted_;
            if (o_.mode == sink_mode::hold) {
                held_.push_back(std::move(*c));  // never read: data stays in the receive buffer
            } else {
                ++serving_;
                st_.loop().spawn(serve(std::move(*c)), "serve");
            }
            peak_open_ = std::max<std::uint64_t>(peak_open_, held_.size() + serving_);
        }
    }

    // Reads until the peer's FIN, echoing (echo) or dropping (discard) the
    // bytes, then closes.
    runtime::task<void> serve(connection c) {
        std::vector<std::byte> own;
        if (o_.mode == sink_mode::echo) own.resize(16 * 1024);  // held across the write's wait
        const wire::mut_bytes buf = o_.mode == sink_mode::echo ? wire::mut_bytes(own) : wire::mut_bytes(scratch_);
        for (;;) {
            auto n = co_await c.read(buf);
            if (!n || *n == 0) break;
            if (o_.mode == sink_mode::echo && !co_await c.write({buf.data(), *n})) break;
        }
        if (c.state() != tcp::state::closed) co_await c.close();
        --serving_;
    }

    // Samples the size of the connection table, so a flood's peak is seen
    // even between two reports.
    runtime::task<void> sample() {
        for (;;) {
            peak_tcp_ = std::max<std::uint64_t>(peak_tcp_, st_.tcp().connection_count());
            ++samples_;
            co_await st_.loop().sleep_for(std::chrono::milliseconds(20));
        }
    }

    std::uint64_t open_now() const {
        if (o_.mode != sink_mode::hold) return serving_;
        std::uint64_t n = 0;
        for (const auto& c : held_) n += c.state() != tcp::state::closed;
        return n;
    }

    stack& st_;
    sink_options o_;
    std::vector<listener> listeners_;
    std::vector<connection> held_;
    std::uint64_t accepted_ = 0, serving_ = 0, peak_open_ = 0, peak_tcp_ = 0;
    std::uint64_t samples_ = 0;  // sample() passes: shows that the loop's timers fire
    std::vector<std::byte> scratch_ = std::vector<std::byte>(64 * 1024);  // discard mode: one buffer for all
};

sink_options parse(int argc, char** argv, apps::common_options& common) {
    sink_options o;
    apps::command_line cl;
    std::string mode = "discard", cookies = "on";
    auto& tcp = common.iface.tcp;
    unsigned synack_retries = tcp.synack_retries;
    cl.usage = "coronet-test-sink --iface IF --ip A.B.C.D/N --listen PORT [--mode discard|echo|hold] [options]";
    cl.summary =
        "Test helper: a coronet server that accepts every connection on PORT and reads and discards,\n"
        "echoes, or holds it open without reading (--mode; SIGUSR2 ends holding: held connections are\n"
        "then read and discarded). Prints 'listening' when ready. On SIGUSR1 it prints one JSON line:\n"
        "connections open, accepted, TCP connections (now and peak), per-state counts, bytes buffered,\n"
        "VmHWM/VmRSS in KiB, and every counter of the stack. SIGTERM or SIGINT prints a last line and\n"
        "exits 0. Exit status: 0, 1 (cannot listen), 2 (usage error).";
    apps::po::options_description own("Sink options");
    own.add_options()("listen", apps::po::value(&o.port)->required()->value_name("PORT"), "port to accept on")(
        "ports", apps::po::value(&o.ports)->value_name("N"), "listen on PORT .. PORT+N-1 (default 1)")(
        "mode", apps::po::value(&mode)->value_name("MODE"),
        "discard (default), echo, or hold (no reads until SIGUSR2)")(
        "backlog", apps::po::value(&o.backlog)->value_name("N"), "listener backlog (default 1024)")(
        "max-connections", apps::po::value(&tcp.max_connections)->value_name("N"),
        "tcp_config::max_connections: past it new connections are refused")(
        "memory-limit", apps::po::value(&tcp.memory_limit)->value_name("BYTES"),
        "tcp_config::memory_limit: buffer bytes all connections may reserve")(
        "min-buffer", apps::po::value(&tcp.min_buffer)->value_name("BYTES"), "tcp_config::min_buffer")(
        "send-buffer", apps::po::value(&tcp.send_buffer)->value_name("BYTES"),
        "per-connection send buffer (initial size: auto-tuning grows it)")(
        "receive-buffer", apps::po::value(&tcp.receive_buffer)->value_name("BYTES"),
        "per-connection receive buffer (initial size: auto-tuning grows it)")(
        "syn-cookies", apps::po::value(&cookies)->value_name("on|off"), "SYN cookies when the SYN queue is full")(
        "synack-retries", apps::po::value(&synack_retries)->value_name("N"), "SYN+ACK retransmissions");
    cl.options.add(own).add(apps::common_description(common));
    apps::parse_or_exit(argc, argv, cl, common);
    if (mode == "discard")
        o.mode = sink_mode::discard;
    else if (mode == "echo")
        o.mode = sink_mode::echo;
    else if (mode == "hold")
        o.mode = sink_mode::hold;
    else
        apps::die("coronet-test-sink", "unknown --mode '" + mode + "'\nTry 'coronet-test-sink --help'.", 2);
    if (cookies != "on" && cookies != "off")
        apps::die("coronet-test-sink", "--syn-cookies takes on or off\nTry 'coronet-test-sink --help'.", 2);
    tcp.syn_cookies = cookies == "on";
    tcp.synack_retries = synack_retries;
    if (o.port == 0) apps::die("coronet-test-sink", "--listen takes a port of 1-65535", 2);
    if (o.ports == 0 || o.port + o.ports - 1 > 65535) apps::die("coronet-test-sink", "--ports: 1 to 65536 - PORT", 2);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    apps::common_options common;
    const sink_options o = parse(argc, argv, common);
    try {
        runtime::loop loop;
        stack st{loop, common.iface};
        sink s{st, o};
        if (auto r = s.start(); !r) apps::die("coronet-test-sink", "listen: " + apps::describe(r.error()), 1);
        runtime::signal_set signals{loop, {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}};
        auto on_signal = [&]() -> runtime::task<void> {
            for (;;) {
                const int sig = co_await signals.wait();
                if (sig == SIGUSR2) {
                    s.release();
                    continue;
                }
                const bool last = sig != SIGUSR1;  // SIGTERM, SIGINT, or an error of the signalfd
                std::printf("%s\n", s.report(last ? "final" : "usr1").c_str());
                std::fflush(stdout);
                if (last) {
                    loop.stop();
                    co_return;
                }
            }
        };
        loop.spawn(on_signal(), "signals");
        std::printf("listening on port %u\n", o.port);
        std::fflush(stdout);
        loop.run();
        return 0;
    } catch (const std::exception& e) {
        apps::die("coronet-test-sink", e.what(), 2);
    }
}
