// coronet-impair: a user-space L2 relay between two interfaces that applies
// sim_link's seeded impairment model (loss, duplication, corruption, a rate
// with a finite queue, delay, jitter, reordering) to the packets it carries,
// in both directions. The kernels on this machine have no netem; this stands in.
#include <spdlog/fmt/fmt.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <coronet/link/af_packet.hpp>
#include <coronet/runtime/loop.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "../common/json.hpp"
#include "../common/options.hpp"
#include "promiscuous.hpp"
#include "relay.hpp"

namespace {

using namespace coronet;
using runtime::task;

constexpr const char* program = "coronet-impair";
// Sends in flight per output device. The frames themselves live in the
// directions' pools, so the device's own transmit pool is never drawn on
// (reserved, never touched).
constexpr unsigned relay_tx_slots = 4096;
// The bottleneck queue behind --rate when --queue is not given: about one
// bandwidth-delay product at 100 Mbit/s and a 12 ms RTT, netem-like in scale.
constexpr std::size_t default_queue_packets = 100;
constexpr std::size_t mebibyte = 1024 * 1024;
constexpr std::size_t default_police_burst = 64 * 1024;
constexpr std::size_t largest_frame = wire::ipv4_repr::max_packet_len + impair::ethernet_header_len;  // a super-frame
// b->a draws from a different stream than a->b (the same rule as sim_link).
constexpr std::uint64_t reverse_seed_mix = 0x9e3779b97f4a7c15ull;

struct impair_options {
    std::string a, b;
    double loss = 0, duplicate = 0, reorder = 0, corrupt = 0;  // percent
    std::string delay = "0";                                   // MS[:JITTER]
    double reorder_gap_ms = 1;
    double rate_mbit = 0;
    std::string seed = "1";
    std::string log_level = "warn";
    double stats_interval = 10;
    std::string queue;       // packets, or bytes with a b/k/m suffix; empty: default_queue_packets
    std::string police;      // MBIT[:BURST]; empty: no policer
    unsigned pool_mib = 64;  // buffer memory per direction
    bool per_frame = false;
};

[[noreturn]] void usage_error(const std::string& message) { apps::usage_error(program, message); }

double parse_number(std::string_view text, const std::string& what) {
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v))
        usage_error(what + ": '" + std::string(text) + "' is not a number");
    return v;
}

runtime::duration milliseconds(double ms) {
    return std::chrono::duration_cast<runtime::duration>(std::chrono::duration<double, std::milli>(ms));
}

// A size as tc(8) writes one: a number with no suffix, or bytes with "b",
// KiB with "k", MiB with "m". unit is 0 without a suffix, else bytes per n.
struct size_text {
    std::uint64_t n = 0, unit = 0;
};
std::optional<size_text> parse_size(const std::string& text) {
    size_text v;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v.n);
    const std::string_view suffix(end, text.data() + text.size() - end);
    if (ec != std::errc{}) return std::nullopt;
    if (suffix == "b")
        v.unit = 1;
    else if (suffix == "k")
        v.unit = 1024;
    else if (suffix == "m")
        v.unit = mebibyte;
    else if (!suffix.empty())
        return std::nullopt;
    return v;
}

// n units of bytes, from one full-sized Ethernet frame (less, and every
// frame would be dropped) to 1 GiB; a usage error naming what otherwise.
std::uint64_t checked_bytes(std::uint64_t n, std::uint64_t unit, const std::string& what) {
    constexpr std::uint64_t most = std::uint64_t{1} << 30;
    if (n > most / unit || n * unit < 1514) usage_error(what + " from 1514 bytes (one full frame) to 1 GiB");
    return n * unit;
}

// --queue: a count of packets ("100"), or bytes ("250000b", "250k" KiB,
// "2m" MiB), as tc(8) writes sizes; empty for the default.
void set_queue(const std::string& text, link::impairment& im) {
    if (text.empty()) {
        im.queue_packets = default_queue_packets;
        return;
    }
    const auto size = parse_size(text);
    if (!size) usage_error("--queue: '" + text + "' is neither packets (100) nor bytes (250000b, 250k, 2m)");
    const auto [n, unit] = *size;
    if (unit == 0) {
        if (n < 1 || n > 1'000'000) usage_error("--queue must be from 1 to 1000000 packets");
        im.queue_packets = n;
        return;
    }
    im.queue_bytes = checked_bytes(n, unit, "--queue must be");
}

// --police MBIT[:BURST]: the policer's rate, and its bucket in bytes (a
// plain number, or with b/k/m as --queue), default_police_burst without one.
void set_police(const std::string& text, link::impairment& im) {
    const auto colon = text.find(':');
    const double rate = parse_number(std::string_view(text).substr(0, colon), "--police");
    if (!(rate > 0 && rate <= 1e6)) usage_error("--police: the rate must be above 0 and at most 1000000 Mbit/s");
    im.police_mbit = rate;
    im.police_burst = default_police_burst;
    if (colon == std::string::npos) return;
    const std::string burst = text.substr(colon + 1);
    const auto size = parse_size(burst);
    if (!size) usage_error("--police: the burst '" + burst + "' is not a size in bytes (65536, 64k, 1m)");
    im.police_burst = checked_bytes(size->n, std::max<std::uint64_t>(size->unit, 1), "--police: the burst must be");
}

// Checks every option and turns them into the model's parameters.
link::impairment to_impairment(const impair_options& o) {
    auto percent = [](double p, const char* name) {
        if (!(p >= 0 && p <= 100)) usage_error(std::string(name) + " must be a percentage from 0 to 100");
        return p / 100;
    };
    link::impairment im;
    im.loss = percent(o.loss, "--loss");
    im.duplicate = percent(o.duplicate, "--duplicate");
    im.reorder = percent(o.reorder, "--reorder");
    im.corrupt = percent(o.corrupt, "--corrupt");

    const std::string_view d = o.delay;
    const auto colon = d.find(':');
    const double delay = parse_number(d.substr(0, colon), "--delay");
    const double jitter = colon == std::string_view::npos ? 0 : parse_number(d.substr(colon + 1), "--delay jitter");
    if (!(delay >= 0 && delay <= 60'000) || !(jitter >= 0 && jitter <= 60'000))
        usage_error("--delay: delay and jitter must be from 0 to 60000 ms");
    im.delay = milliseconds(delay);
    im.jitter = milliseconds(jitter);
    if (!(o.reorder_gap_ms > 0 && o.reorder_gap_ms <= 60'000))
        usage_error("--reorder-gap must be above 0 and at most 60000 ms");
    im.reorder_gap = milliseconds(o.reorder_gap_ms);
    if (!(o.rate_mbit >= 0 && o.rate_mbit <= 1e6)) usage_error("--rate must be from 0 (unlimited) to 1000000 Mbit/s");
    im.rate_mbit = o.rate_mbit;
    if (!o.queue.empty() && o.rate_mbit == 0)
        usage_error("--queue needs --rate: the queue is the one in front of the rate limit");
    if (o.rate_mbit > 0) set_queue(o.queue, im);
    if (!o.police.empty()) set_police(o.police, im);
    // Whole super-frames meet the policer with --per-frame: a bucket smaller
    // than one would drop every one of them.
    if (o.per_frame && im.police_mbit > 0 && im.police_burst < largest_frame)
        usage_error("--police with --per-frame: the burst must hold the largest super-frame (" +
                    std::to_string(largest_frame) + " bytes), e.g. --police 20:128k");
    return im;
}

std::uint64_t to_seed(const std::string& text) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
        usage_error("--seed: '" + text + "' is not an unsigned 64-bit integer");
    return v;
}

impair_options parse_or_exit(int argc, char** argv) {
    namespace po = apps::po;
    impair_options o;
    po::options_description d("Options");
    d.add_options()("a", po::value(&o.a)->value_name("IF"), "first interface (required)")(
        "b", po::value(&o.b)->value_name("IF"), "second interface (required)")(
        "loss", po::value(&o.loss)->value_name("P"), "percentage of packets dropped (0-100), each direction")(
        "duplicate", po::value(&o.duplicate)->value_name("P"), "percentage of packets sent twice (0-100)")(
        "reorder", po::value(&o.reorder)->value_name("P"),
        "percentage of packets held back by --reorder-gap so that later ones overtake them (0-100)")(
        "reorder-gap", po::value(&o.reorder_gap_ms)->value_name("MS")->default_value(1.0),
        "how long a reordered packet is held back")(
        "delay", po::value(&o.delay)->value_name("MS[:JITTER]"),
        "one-way delay of every packet, plus a uniform random 0..JITTER ms (which also reorders)")(
        "corrupt", po::value(&o.corrupt)->value_name("P"),
        "percentage of IPv4 packets with one bit flipped past the Ethernet header (0-100); the "
        "receiver's checksums catch it (with --per-frame a super-frame gets the bit in its IPv4 header)")(
        "rate", po::value(&o.rate_mbit)->value_name("MBIT"),
        "a bottleneck of MBIT Mbit/s in each direction: packets are serialised at that rate behind a "
        "finite queue (--queue); default: unlimited")(
        "queue", po::value(&o.queue)->value_name("SIZE"),
        "the bottleneck queue behind --rate, the packet being serialised included: a count of packets "
        "(100), or bytes (250000b, 250k = 250 KiB, 2m = 2 MiB); a packet that does not fit is dropped "
        "(tail drop, counted as queue_drops); default 100 packets")(
        "police", po::value(&o.police)->value_name("MBIT[:BURST]"),
        "a token-bucket policer in each direction, in front of --rate: tokens accrue at MBIT Mbit/s up to "
        "BURST bytes (65536, 64k, 1m; default 64k; with --per-frame at least one super-frame, 65549) and a "
        "packet the bucket cannot cover is dropped, never queued (counted as police_drops), as a provider "
        "enforcing a contracted rate does")(
        "per-frame", po::bool_switch(&o.per_frame),
        "impair whole frames: a GSO super-frame meets the model once and goes on whole (the old "
        "behaviour, and --queue counts frames); by default it is cut into MSS-sized packets first and each "
        "meets the model")("seed", po::value(&o.seed)->value_name("N")->default_value("1"),
                           "seed of the random choices: a->b uses N, b->a a value derived from N")(
        "pool", po::value(&o.pool_mib)->value_name("MIB")->default_value(64),
        "buffer memory per direction for the packets in the bottleneck queue and the delay line "
        "(reserved at start, resident only as used); a packet finding it full is dropped and counted "
        "as pool_drops")("stats-interval", po::value(&o.stats_interval)->value_name("SECONDS")->default_value(10.0),
                         "at --log-level info, log the counters this often")(
        "log-level", po::value(&o.log_level)->value_name("LEVEL")->default_value("warn"),
        "trace, debug, info, warn, error or off");
    apps::add_help_and_version(d);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(d).positional({}).run(), vm);  // no operands
        if (vm.count("help")) {
            std::cout
                << "Usage: coronet-impair --a IF1 --b IF2 [options]\n\n"
                   "Relays every Ethernet frame received on IF1 to IF2 and back through AF_PACKET sockets,\n"
                   "impairing each direction with its own seeded model (as sim_link does in the simulator),\n"
                   "in this order: loss, duplication and corruption; a policer; a bottleneck (rate and tail-drop\n"
                   "queue); delay with jitter; reordering. A TCP/IPv4 GSO super-frame is cut into MSS-sized\n"
                   "packets first, with complete checksums, as a NIC would send them (not with --per-frame);\n"
                   "other frames keep their pending checksums and offload requests.\n"
                   "Runs until SIGINT or SIGTERM, then prints one line of counters per direction on stderr\n"
                   "and the same counters as one JSON object on stdout.\n"
                   "Exit status: 0 after a signal, 2 on usage or start-up errors (no such interface,\n"
                   "no CAP_NET_RAW).\n\n"
                << d << "\n";
            std::exit(0);
        }
        apps::exit_if_version(vm, program);
        po::notify(vm);
    } catch (const po::error& e) {
        usage_error(e.what());
    }
    if (o.a.empty()) usage_error("--a is required");
    if (o.b.empty()) usage_error("--b is required");
    if (o.a == o.b) usage_error("--a and --b must be different interfaces");
    // stdout carries only the final JSON object; logs go to stderr.
    spdlog::set_default_logger(spdlog::stderr_color_mt("impair"));
    apps::apply_log_level(program, o.log_level);
    if (!(o.stats_interval >= 0.1)) usage_error("--stats-interval must be at least 0.1 s");
    if (o.pool_mib < 4 || o.pool_mib > 1024) usage_error("--pool must be from 4 to 1024 MiB");
    return o;
}

// Both interfaces, both directions, and the order they must be torn down in.
class relay {
public:
    relay(runtime::loop& loop, const impair_options& o, const link::impairment& im, std::uint64_t seed)
        : promisc_a_(o.a),
          promisc_b_(o.b),
          dev_a_(std::make_unique<link::af_packet_device>(loop, device_options(o.a))),
          dev_b_(std::make_unique<link::af_packet_device>(loop, device_options(o.b))),
          a_to_b_("a->b", loop, *dev_b_, im, seed, direction_config(o)),
          b_to_a_("b->a", loop, *dev_a_, im, seed ^ reverse_seed_mix, direction_config(o)) {
        if (dev_a_->mtu() != dev_b_->mtu())
            spdlog::warn("{} has MTU {} and {} has MTU {}: larger frames will not fit the other side", o.a,
                         dev_a_->mtu(), o.b, dev_b_->mtu());
        dev_a_->start(a_to_b_);
        dev_b_->start(b_to_a_);
    }
    // The devices go first, while the directions they deliver to still exist;
    // the directions give their waiting buffers back before that.
    ~relay() {
        stop();
        dev_a_.reset();
        dev_b_.reset();
    }
    relay(const relay&) = delete;
    relay& operator=(const relay&) = delete;

    void stop() noexcept {
        a_to_b_.stop();
        b_to_a_.stop();
    }

    // Frames received in both directions.
    std::uint64_t received() const noexcept { return a_to_b_.counters().received + b_to_a_.counters().received; }

    // "a->b (IF1 -> IF2): received N forwarded N ..." for people.
    std::string line(bool a_to_b) const {
        const auto& [dir, in, out] = sides(a_to_b);
        const auto& c = dir.counters();
        return fmt::format(
            "{} ({} -> {}): received {} segmented {} segments {} forwarded {} dropped {} "
            "police_drops {} queue_drops {} duplicated {} reordered {} corrupted {} "
            "pool_drops {} unsupported {} held {} gso_frames {} "
            "partial_checksums {} rx_kernel_drops {} tx_dropped {} tx_errors {} late_1ms {} max_late_us {}",
            dir.name(), in.name(), out.name(), c.received, c.segmented, c.segments, c.forwarded, c.dropped,
            c.police_drops, c.queue_drops, c.duplicated, c.reordered, c.corrupted, c.pool_drops, c.unsupported, c.held,
            c.gso_frames, c.partial_checksums, in.counters().rx_kernel_drops, out.counters().tx_dropped,
            out.counters().tx_errors, c.late_1ms, c.max_late_us);
    }

    // The same counters as a JSON object.
    apps::json json(bool a_to_b) const {
        const auto& [dir, in, out] = sides(a_to_b);
        const auto& c = dir.counters();
        return {{"from", in.name()},
                {"to", out.name()},
                {"received", c.received},
                {"segmented", c.segmented},
                {"segments", c.segments},
                {"forwarded", c.forwarded},
                {"dropped", c.dropped},
                {"police_drops", c.police_drops},
                {"queue_drops", c.queue_drops},
                {"duplicated", c.duplicated},
                {"reordered", c.reordered},
                {"corrupted", c.corrupted},
                {"pool_drops", c.pool_drops},
                {"unsupported", c.unsupported},
                {"held", c.held},
                {"gso_frames", c.gso_frames},
                {"partial_checksums", c.partial_checksums},
                {"rx_kernel_drops", in.counters().rx_kernel_drops},
                {"rx_no_buffers", in.counters().rx_no_buffers},
                {"tx_dropped", out.counters().tx_dropped},
                {"tx_errors", out.counters().tx_errors},
                {"late_1ms", c.late_1ms},
                {"max_late_us", c.max_late_us}};
    }

private:
    struct side {
        const impair::direction& dir;
        const link::device& in;
        const link::device& out;
    };
    side sides(bool a_to_b) const { return a_to_b ? side{a_to_b_, *dev_a_, *dev_b_} : side{b_to_a_, *dev_b_, *dev_a_}; }

    static link::af_packet_options device_options(const std::string& ifname) {
        link::af_packet_options opts;
        opts.ifname = ifname;
        // The relay's measurements (wan.sh, its tests) were all made on the
        // multishot receive; its frames are MTU-sized once segmented anyway.
        opts.rx = link::rx_path::multishot;
        opts.tx_slots = relay_tx_slots;
        opts.tx_large_buffers = 0;  // the relay sends from its own buffers
        return opts;
    }

    // Buffers for a frame of either interface's MTU, in memory of --pool.
    impair::direction_options direction_config(const impair_options& o) const {
        return {.per_packet = !o.per_frame,
                .frame_room = wire::ethernet_repr::header_len + std::max(dev_a_->mtu(), dev_b_->mtu()),
                .memory = std::size_t{o.pool_mib} * mebibyte};
    }

    impair::promiscuous promisc_a_, promisc_b_;
    std::unique_ptr<link::af_packet_device> dev_a_, dev_b_;
    impair::direction a_to_b_, b_to_a_;
};

task<void> stop_on_signal(runtime::loop& loop, runtime::signal_set& signals) {
    const int sig = co_await signals.wait();
    spdlog::info("signal {}: stopping", sig);
    loop.stop();
}

// Logs both directions' counters every period in which frames arrived.
task<void> log_counters(runtime::loop& loop, const relay& r, runtime::duration every) {
    std::uint64_t logged = 0;
    for (;;) {
        co_await loop.sleep_for(every);
        if (loop.stopped()) co_return;  // tearing down: the devices may be gone
        if (r.received() == logged) continue;
        logged = r.received();
        spdlog::info("{}", r.line(true));
        spdlog::info("{}", r.line(false));
    }
}

std::string describe(const impair_options& o, const link::impairment& im) {
    std::string rate = "unlimited";
    if (o.rate_mbit > 0)
        rate = fmt::format(
            "{} Mbit/s, queue {}", o.rate_mbit,
            im.queue_bytes > 0 ? fmt::format("{} bytes", im.queue_bytes) : fmt::format("{} packets", im.queue_packets));
    return fmt::format(
        "loss {}% duplicate {}% reorder {}% (gap {} ms) corrupt {}% delay {} ms rate {}; per {}, pool {} MiB", o.loss,
        o.duplicate, o.reorder, o.reorder_gap_ms, o.corrupt, o.delay, rate, o.per_frame ? "frame" : "packet",
        o.pool_mib);
}

}  // namespace

int main(int argc, char** argv) {
    const impair_options o = parse_or_exit(argc, argv);
    const link::impairment im = to_impairment(o);
    const std::uint64_t seed = to_seed(o.seed);
    try {
        runtime::loop loop;
        runtime::signal_set signals{loop, {SIGINT, SIGTERM}};
        relay r{loop, o, im, seed};
        loop.spawn(stop_on_signal(loop, signals), "signals");
        if (spdlog::should_log(spdlog::level::info))
            loop.spawn(log_counters(loop, r, milliseconds(o.stats_interval * 1000)), "counters");
        std::fprintf(stderr, "%s: relaying %s <-> %s, seed %llu: %s\n", program, o.a.c_str(), o.b.c_str(),
                     static_cast<unsigned long long>(seed), describe(o, im).c_str());
        std::fflush(stderr);
        loop.run();
        r.stop();
        std::fprintf(stderr, "%s\n%s\n", r.line(true).c_str(), r.line(false).c_str());
        const std::string report =
            apps::json_line({{"seed", seed}, {"a_to_b", r.json(true)}, {"b_to_a", r.json(false)}}) + "\n";
        std::fwrite(report.data(), 1, report.size(), stdout);
        std::fflush(stdout);
        return 0;
    } catch (const std::exception& e) {
        apps::die(program, e.what(), 2);
    }
}
