#include "support/stack_under_test.hpp"

#include <coronet/runtime/log.hpp>
#include <coronet/tcp/isn.hpp>
#include <exception>

#include "support/check.hpp"

namespace coronet::test {

using namespace wire::tcp_flag;

stack_under_test::stack_under_test(const tcp::tcp_config& cfg, std::size_t frames, bool offload)
    : dev(stack_mac, frames, 1500, offload),
      host(sim, dev, {.address = stack_ip, .prefix_len = 24}, runtime::random_source(~stack_seed)),
      tcp(host, cfg, runtime::random_source(stack_seed)) {
    coronet::runtime::logger().set_level(tracing() ? spdlog::level::info : spdlog::level::off);
    sim.set_error_handler([](std::string_view name, std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            fail("task '" + std::string(name) + "' threw: " + ex.what());
        } catch (...) {
            fail("task '" + std::string(name) + "' threw");
        }
    });
    tcp.on_transition = [this](const tcp::tcb&, tcp::state from, tcp::state to, const char* cause) {
        transitions.record(from, to, cause);
        if (!legal_transition(from, to))
            fail("no such arrow in the state diagram: " + std::string(tcp::to_string(from)) + " -> " +
                 std::string(tcp::to_string(to)) + " (" + cause + ")");
    };
    host.start();
    dev.take_sent();  // the gratuitous ARP
}

std::vector<received_segment> stack_under_test::take_segments() {
    std::vector<received_segment> out;
    drain([&](const sent_frame& f) {
        if (f.tcp) out.push_back({*f.tcp, {f.payload.begin(), f.payload.end()}});
    });
    return out;
}

received_segment stack_under_test::expect_sent(const segment& want) {
    auto got = take_segments();
    if (got.size() != 1) {
        std::string what =
            "expected " + describe(want) + ", the stack sent " + std::to_string(got.size()) + " segments:";
        for (const auto& g : got) what += " [" + describe(g) + "]";
        fail(what);
    }
    if (auto why = mismatch(got.front(), want)) fail(*why);
    return std::move(got.front());
}

void stack_under_test::expect_nothing() {
    const auto got = take_segments();
    if (!got.empty())
        fail("expected nothing, the stack sent " + describe(got.front()) +
             (got.size() > 1 ? " and " + std::to_string(got.size() - 1) + " more" : ""));
}

void stack_under_test::check_invariants() const {
    require(host.counters().tx_too_big == 0, "the stack built a datagram larger than the MTU");
    const tcp::tcp_config& cfg = tcp.config();
    tcp.for_each([&](const tcp::tcb& c) {
        require(c.snd_una() <= c.snd_nxt(), "snd_una > snd_nxt");
        require(c.send_queue() <= c.send_buffer(), "send queue beyond the send buffer");
        require(c.receive_queue() <= c.receive_buffer(), "receive queue beyond the receive buffer");
        require(c.send_buffer() <= cfg.send_buffer_limit(), "send buffer grown past its maximum");
        require(c.receive_buffer() <= cfg.receive_buffer_limit(), "receive buffer grown past its maximum");
        require(c.mss() > 0 && c.mss() + 40u <= host.mtu(), "send MSS is 0 or does not fit the MTU");
    });
}

void place_next_iss(stack_under_test& s, std::uint16_t local_port, std::uint16_t peer_port, seq32 iss) {
    const tcp::isn_generator& isn = s.tcp.isns();
    const seq32 now = isn.next(stack_ip, local_port, peer_ip, peer_port, s.sim.now());
    if (now == iss) return;
    // From the start of the current tick, iss - now ticks on.
    using ticks = std::chrono::duration<std::int64_t, std::ratio<4, 1'000'000>>;
    const auto into_tick = s.sim.now().time_since_epoch() - std::chrono::floor<ticks>(s.sim.now().time_since_epoch());
    s.sim.run_for(ticks{static_cast<std::uint32_t>(iss - now)} - into_tick);
    require(isn.next(stack_ip, local_port, peer_ip, peer_port, s.sim.now()) == iss, "place_next_iss missed");
}

void introduce_peer(stack_under_test& s) {
    s.dev.inject(peer_arp_frame(wire::arp_op::request));
    s.dev.take_sent();  // the reply
}

namespace {

// The first TCP segment among the frames sent so far whose flags are exactly
// `flags` (ARP answered: after place_next_iss the peer's entry may have aged out).
std::optional<wire::tcp_repr> take_segment(stack_under_test& s, std::uint8_t flags) {
    std::optional<wire::tcp_repr> found;
    s.drain([&](const sent_frame& f) {
        if (!found && f.tcp && f.tcp->flags == flags) found = f.tcp;
    });
    return found;
}

}  // namespace

std::optional<opened> accept_from_peer(stack_under_test& s, tcp::listener_state& l, std::uint16_t local_port,
                                       const peer_open& p) {
    wire::tcp_repr h{.src_port = p.port,
                     .dst_port = local_port,
                     .seq = p.iss,
                     .flags = syn,
                     .window = p.window,
                     .options = p.options};
    s.dev.inject(peer_tcp_frame(h, {}));
    const auto syn_ack = take_segment(s, syn | ack);
    if (!syn_ack || syn_ack->ack != p.iss + 1) return std::nullopt;
    h = {.src_port = p.port,
         .dst_port = local_port,
         .seq = p.iss + 1,
         .ack = syn_ack->seq + 1,
         .flags = ack,
         .window = p.window};
    if (p.options.timestamp && syn_ack->options.timestamp)
        h.options.timestamp = {{p.options.timestamp->first, syn_ack->options.timestamp->first}};
    s.dev.inject(peer_tcp_frame(h, {}));
    s.sim.end_turn();
    s.dev.take_sent();
    auto conn = l.pop();
    if (!conn || conn->current() != tcp::state::established) return std::nullopt;
    return opened{conn, syn_ack->seq, syn_ack->options};
}

std::optional<opened> connect_to_peer(stack_under_test& s, std::uint16_t local_port, const peer_open& p) {
    auto conn = s.tcp.connect(peer_ip, p.port, local_port);
    if (!conn) return std::nullopt;
    const auto syn_seg = take_segment(s, syn);
    if (!syn_seg) return std::nullopt;
    wire::tcp_repr h{.src_port = p.port,
                     .dst_port = local_port,
                     .seq = p.iss,
                     .ack = syn_seg->seq + 1,
                     .flags = syn | ack,
                     .window = p.window,
                     .options = p.options};
    if (h.options.timestamp) {
        if (syn_seg->options.timestamp)
            h.options.timestamp->second = syn_seg->options.timestamp->first;
        else
            h.options.timestamp.reset();  // RFC 7323 3.2: only when the SYN had one
    }
    s.sim.run_for(p.rtt);
    s.dev.inject(peer_tcp_frame(h, {}));
    s.sim.end_turn();   // the turn that took the SYN+ACK sends
    s.dev.take_sent();  // the ACK
    if ((*conn)->current() != tcp::state::established) return std::nullopt;
    return opened{*conn, syn_seg->seq, syn_seg->options};
}

wire::tcp_options peer_syn_options(std::uint16_t mss, bool sack, std::optional<std::uint32_t> tsval) {
    wire::tcp_options o;
    o.mss = mss;
    o.sack_permitted = sack;
    if (tsval) o.timestamp = {{*tsval, 0}};
    return o;
}

connected_stack::connected_stack(const wire::tcp_options& options, const tcp::tcp_config& cfg) : s(cfg) {
    introduce_peer(s);
    const auto open = connect_to_peer(s, our_port, {.iss = irs, .port = peer_port, .options = options});
    require(open.has_value(), "the stack's connection to the peer did not open");
    conn = open->conn;
    iss = open->iss;
}

}  // namespace coronet::test
