// coronet-ping: ICMP echo from the user-space stack, printed like ping(8).
// While it runs, the stack also answers ARP and ping on its address.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <coronet/api/stack.hpp>
#include <coronet/runtime/loop.hpp>
#include <cstdio>
#include <cstring>
#include <vector>

#include "../common/options.hpp"

namespace {

using namespace coronet;
using namespace std::chrono_literals;
using runtime::task;

struct ping_options {
    long count = 0;  // 0: until interrupted
    double interval = 1.0;
    double timeout = 2.0;
    std::size_t size = 56;
    std::string host;
};

struct statistics {
    long sent = 0, received = 0, duplicates = 0;
    double min = 1e300, max = 0, sum = 0, sum_sq = 0;
    std::vector<bool> seen;
};

class pinger {
public:
    pinger(stack& st, const ping_options& o, boost::asio::ip::address_v4 dst)
        : st_(st), o_(o), dst_(dst), ident_(static_cast<std::uint16_t>(::getpid())), all_in_(st.loop()) {
        st_.host().on_echo_reply = [this](const wire::ipv4_view& ip, const wire::icmp_view& r) { on_reply(ip, r); };
        st_.host().on_unreachable = [this](boost::asio::ip::address_v4) {
            std::printf("From %s icmp_seq=%ld Destination Host Unreachable\n", st_.host().address().to_string().c_str(),
                        stats_.sent);
            std::fflush(stdout);
        };
    }

    task<void> run() {
        std::printf("PING %s from %s %s: %zu data bytes\n", dst_.to_string().c_str(),
                    st_.host().address().to_string().c_str(), st_.device().name().c_str(), o_.size);
        std::fflush(stdout);
        start_ = st_.loop().now();
        std::vector<std::byte> payload(o_.size);
        for (long seq = 1; o_.count == 0 || seq <= o_.count; ++seq) {
            fill(payload, seq);
            if (auto ec = st_.host().send_echo_request(dst_, ident_, static_cast<std::uint16_t>(seq), payload))
                std::fprintf(stderr, "coronet-ping: sendmsg: %s\n", ec.message().c_str());
            ++stats_.sent;
            if (o_.count == 0 || seq < o_.count)
                co_await st_.loop().sleep_for(
                    std::chrono::duration_cast<runtime::duration>(std::chrono::duration<double>(o_.interval)));
        }
        // Wait for the last replies.
        const auto deadline =
            st_.loop().now() + std::chrono::duration_cast<runtime::duration>(std::chrono::duration<double>(o_.timeout));
        while (stats_.received < stats_.sent && co_await all_in_.wait_until(deadline)) {
        }
        st_.loop().stop();
    }

    int summary() const {
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(st_.loop().now() - start_);
        const double loss = stats_.sent ? 100.0 * double(stats_.sent - stats_.received) / double(stats_.sent) : 0;
        std::printf("\n--- %s ping statistics ---\n", dst_.to_string().c_str());
        std::printf("%ld packets transmitted, %ld received, ", stats_.sent, stats_.received);
        if (stats_.duplicates) std::printf("+%ld duplicates, ", stats_.duplicates);
        std::printf("%g%% packet loss, time %lldms\n", std::round(loss * 100) / 100,
                    static_cast<long long>(elapsed.count()));
        if (stats_.received > 0) {
            const double n = double(stats_.received);
            const double avg = stats_.sum / n;
            const double mdev = std::sqrt(std::max(0.0, stats_.sum_sq / n - avg * avg));
            std::printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", stats_.min, avg, stats_.max, mdev);
        }
        std::fflush(stdout);
        return stats_.received > 0 ? 0 : 1;
    }

private:
    void fill(std::vector<std::byte>& payload, long) const {
        // The send time rides in the first 8 bytes (as ping does), then a pattern.
        const std::int64_t now = st_.loop().now().time_since_epoch().count();
        for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = std::byte(i & 0xff);
        if (payload.size() >= sizeof now) std::memcpy(payload.data(), &now, sizeof now);
    }

    void on_reply(const wire::ipv4_view& ip, const wire::icmp_view& r) {
        if (r.ident() != ident_ || ip.src() != dst_) return;
        const auto seq = r.seq_no();
        if (stats_.seen.size() <= seq) stats_.seen.resize(seq + 1u);
        const bool dup = stats_.seen[seq];
        stats_.seen[seq] = true;
        double ms = -1;
        if (r.payload().size() >= 8) {
            std::int64_t sent_at;
            std::memcpy(&sent_at, r.payload().data(), sizeof sent_at);
            ms = double(st_.loop().now().time_since_epoch().count() - sent_at) / 1e6;
        }
        if (dup) {
            ++stats_.duplicates;
        } else {
            ++stats_.received;
            if (ms >= 0) {
                stats_.min = std::min(stats_.min, ms);
                stats_.max = std::max(stats_.max, ms);
                stats_.sum += ms;
                stats_.sum_sq += ms * ms;
            }
        }
        std::printf("%zu bytes from %s: icmp_seq=%u ttl=%u time=%.3f ms%s\n", r.raw().size(),
                    ip.src().to_string().c_str(), seq, ip.ttl(), ms, dup ? " (DUP!)" : "");
        std::fflush(stdout);
        if (stats_.received >= stats_.sent) all_in_.notify();
    }

    stack& st_;
    const ping_options& o_;
    boost::asio::ip::address_v4 dst_;
    std::uint16_t ident_;
    runtime::event all_in_;
    runtime::time_point start_{};
    statistics stats_;
};

}  // namespace

int main(int argc, char** argv) {
    apps::common_options common;
    ping_options o;
    apps::command_line cl;
    cl.usage = "coronet-ping --iface IF --ip A.B.C.D/N [options] HOST";
    cl.summary =
        "Sends ICMP echo requests to HOST from the user-space stack and prints one line per reply\n"
        "and a summary, like ping(8). While it runs the stack answers ARP and ping.\n"
        "Exit status: 0 if any reply arrived, 1 if none, 2 on usage or start-up errors.";
    apps::po::options_description own("Ping options");
    own.add_options()("count,c", apps::po::value(&o.count)->value_name("N"),
                      "stop after N requests (default: until interrupted)")(
        "interval,i", apps::po::value(&o.interval)->value_name("SECONDS")->default_value(1.0), "time between requests")(
        "timeout,W", apps::po::value(&o.timeout)->value_name("SECONDS")->default_value(2.0),
        "how long to wait for the last replies")(
        "size,s", apps::po::value(&o.size)->value_name("BYTES")->default_value(56), "payload bytes per request")(
        "host", apps::po::value(&o.host)->value_name("HOST"), "destination IPv4 address");
    cl.options.add(own).add(apps::common_description(common));
    cl.positional.add("host", 1);
    apps::parse_or_exit(argc, argv, cl, common);

    if (o.host.empty()) apps::usage_error("coronet-ping", "missing HOST");
    boost::system::error_code ec;
    const auto dst = boost::asio::ip::make_address_v4(o.host, ec);
    if (ec) apps::die("coronet-ping", "'" + o.host + "' is not an IPv4 address", 2);
    if (o.count < 0) apps::die("coronet-ping", "--count must be >= 1", 2);
    if (!(o.interval >= 0.001)) apps::die("coronet-ping", "--interval must be at least 0.001 s", 2);
    if (!(o.timeout >= 0)) apps::die("coronet-ping", "--timeout must be >= 0", 2);
    if (o.size > 1472) apps::die("coronet-ping", "--size must be at most 1472 (no fragmentation)", 2);

    try {
        runtime::loop loop{common.loop};
        stack st{loop, common.iface};
        apps::exit_when_interface_lost(st, "coronet-ping");
        runtime::signal_set signals{loop, {SIGINT, SIGTERM}};
        pinger p{st, o, dst};
        auto on_signal = [&]() -> task<void> {
            co_await signals.wait();
            loop.stop();
        };
        loop.spawn(p.run(), "ping");
        loop.spawn(on_signal(), "signals");
        loop.run();
        return p.summary();
    } catch (const std::exception& e) {
        apps::die("coronet-ping", e.what(), 2);
    }
}
