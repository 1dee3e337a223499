// coronet-impair: a user-space L2 relay between two interfaces that applies
// sim_link's seeded impairment model (loss, duplication, reordering,
// corruption, delay, jitter, rate) to the frames it carries, in both
// directions. The kernels on this machine have no netem; this stands in.
#include <spdlog/fmt/fmt.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <coronet/link/af_packet.hpp>
#include <coronet/runtime/loop.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string_view>

#include "../common/options.hpp"
#include "promiscuous.hpp"
#include "relay.hpp"

namespace {

using namespace coronet;
using runtime::task;

constexpr const char* program = "coronet-impair";
// A 64 KiB GSO super-frame, its Ethernet header and the packet headroom.
constexpr std::size_t relay_buffer_size = 64 * 1024 + 512;
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
    unsigned queue = 512;
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
        "loss", po::value(&o.loss)->value_name("P"), "percentage of frames dropped (0-100), each direction")(
        "duplicate", po::value(&o.duplicate)->value_name("P"), "percentage of frames sent twice (0-100)")(
        "reorder", po::value(&o.reorder)->value_name("P"),
        "percentage of frames held back by --reorder-gap so that later ones overtake them (0-100)")(
        "reorder-gap", po::value(&o.reorder_gap_ms)->value_name("MS")->default_value(1.0),
        "how long a reordered frame is held back")(
        "delay", po::value(&o.delay)->value_name("MS[:JITTER]"),
        "one-way delay of every frame, plus a uniform random 0..JITTER ms (which also reorders)")(
        "corrupt", po::value(&o.corrupt)->value_name("P"),
        "percentage of IPv4 frames with one bit flipped past the Ethernet header (0-100); the "
        "receiver's checksums catch it (a super-frame gets the bit in its IPv4 header)")(
        "rate", po::value(&o.rate_mbit)->value_name("MBIT"),
        "serialise each direction at MBIT Mbit/s (default: unlimited)")(
        "seed", po::value(&o.seed)->value_name("N")->default_value("1"),
        "seed of the random choices: a->b uses N, b->a a value derived from N")(
        "queue", po::value(&o.queue)->value_name("FRAMES")->default_value(512),
        "buffers per output interface (frames waiting or being sent); when all are in use, frames "
        "are dropped and counted as pool drops")(
        "stats-interval", po::value(&o.stats_interval)->value_name("SECONDS")->default_value(10.0),
        "at --log-level info, log the counters this often")(
        "log-level", po::value(&o.log_level)->value_name("LEVEL")->default_value("warn"),
        "trace, debug, info, warn, error or off")("help,h", "show this help and exit");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(d).positional({}).run(), vm);  // no operands
        if (vm.count("help")) {
            std::cout << "Usage: coronet-impair --a IF1 --b IF2 [options]\n\n"
                         "Relays every Ethernet frame received on IF1 to IF2 and back through AF_PACKET sockets,\n"
                         "impairing each direction with its own seeded model (as sim_link does in the simulator):\n"
                         "loss, duplication, reordering, corruption, delay with jitter, and a rate limit. GSO\n"
                         "super-frames and pending checksums are passed on with their offload requests.\n"
                         "Runs until SIGINT or SIGTERM, then prints one line of counters per direction on stderr\n"
                         "and the same counters as one JSON object on stdout.\n"
                         "Exit status: 0 after a signal, 2 on usage or start-up errors (no such interface,\n"
                         "no CAP_NET_RAW).\n\n"
                      << d << "\n";
            std::exit(0);
        }
        po::notify(vm);
    } catch (const po::error& e) {
        usage_error(e.what());
    }
    if (o.a.empty()) usage_error("--a is required");
    if (o.b.empty()) usage_error("--b is required");
    if (o.a == o.b) usage_error("--a and --b must be different interfaces");
    const auto level = spdlog::level::from_str(o.log_level);
    if (level == spdlog::level::off && o.log_level != "off") usage_error("unknown --log-level '" + o.log_level + "'");
    // stdout carries only the final JSON object; logs go to stderr.
    spdlog::set_default_logger(spdlog::stderr_color_mt("impair"));
    spdlog::set_level(level);
    if (!(o.stats_interval >= 0.1)) usage_error("--stats-interval must be at least 0.1 s");
    if (o.queue < 16 || o.queue > 8192) usage_error("--queue must be from 16 to 8192");
    return o;
}

// Both interfaces, both directions, and the order they must be torn down in.
class relay {
public:
    relay(runtime::loop& loop, const impair_options& o, const link::impairment& im, std::uint64_t seed)
        : promisc_a_(o.a),
          promisc_b_(o.b),
          dev_a_(std::make_unique<link::af_packet_device>(loop, device_options(o.a, o.queue))),
          dev_b_(std::make_unique<link::af_packet_device>(loop, device_options(o.b, o.queue))),
          a_to_b_("a->b", loop, *dev_b_, im, seed, o.queue),
          b_to_a_("b->a", loop, *dev_a_, im, seed ^ reverse_seed_mix, o.queue) {
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
            "{} ({} -> {}): received {} forwarded {} dropped {} duplicated {} reordered {} corrupted {} "
            "pool_drops {} unsupported {} held {} gso_frames {} partial_checksums {} rx_kernel_drops {} "
            "tx_errors {}",
            dir.name(), in.name(), out.name(), c.received, c.forwarded, c.dropped, c.duplicated, c.reordered,
            c.corrupted, c.pool_drops, c.unsupported, c.held, c.gso_frames, c.partial_checksums,
            in.counters().rx_kernel_drops, out.counters().tx_errors);
    }

    // The same counters as a JSON object.
    std::string json(bool a_to_b) const {
        const auto& [dir, in, out] = sides(a_to_b);
        const auto& c = dir.counters();
        return fmt::format(
            "{{\"from\":\"{}\",\"to\":\"{}\",\"received\":{},\"forwarded\":{},\"dropped\":{},\"duplicated\":{},"
            "\"reordered\":{},\"corrupted\":{},\"pool_drops\":{},\"unsupported\":{},\"held\":{},\"gso_frames\":{},"
            "\"partial_checksums\":{},\"rx_kernel_drops\":{},\"rx_no_buffers\":{},\"tx_dropped\":{},"
            "\"tx_errors\":{}}}",
            in.name(), out.name(), c.received, c.forwarded, c.dropped, c.duplicated, c.reordered, c.corrupted,
            c.pool_drops, c.unsupported, c.held, c.gso_frames, c.partial_checksums, in.counters().rx_kernel_drops,
            in.counters().rx_no_buffers, out.counters().tx_dropped, out.counters().tx_errors);
    }

private:
    struct side {
        const impair::direction& dir;
        const link::device& in;
        const link::device& out;
    };
    side sides(bool a_to_b) const { return a_to_b ? side{a_to_b_, *dev_a_, *dev_b_} : side{b_to_a_, *dev_b_, *dev_a_}; }

    static link::af_packet_options device_options(const std::string& ifname, unsigned queue) {
        link::af_packet_options opts;
        opts.ifname = ifname;
        opts.tx_slots = queue;
        opts.tx_buffer_size = relay_buffer_size;  // super-frames pass whole
        return opts;
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

std::string describe(const impair_options& o) {
    return fmt::format("loss {}% duplicate {}% reorder {}% (gap {} ms) corrupt {}% delay {} ms rate {}", o.loss,
                       o.duplicate, o.reorder, o.reorder_gap_ms, o.corrupt, o.delay,
                       o.rate_mbit > 0 ? fmt::format("{} Mbit/s", o.rate_mbit) : std::string("unlimited"));
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
                     static_cast<unsigned long long>(seed), describe(o).c_str());
        std::fflush(stderr);
        loop.run();
        r.stop();
        std::fprintf(stderr, "%s\n%s\n", r.line(true).c_str(), r.line(false).c_str());
        std::printf("{\"seed\":%llu,\"a_to_b\":%s,\"b_to_a\":%s}\n", static_cast<unsigned long long>(seed),
                    r.json(true).c_str(), r.json(false).c_str());
        std::fflush(stdout);
        return 0;
    } catch (const std::exception& e) {
        apps::die(program, e.what(), 2);
    }
}
