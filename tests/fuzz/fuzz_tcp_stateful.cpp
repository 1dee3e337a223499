// One connection driven through a sequence of fuzzer-chosen events: segments
// from the peer (sequence and acknowledgment numbers near the connection's
// own), virtual time passing (timers firing), and the application's writes,
// reads, shutdown, close and abort. A model of the peer follows both byte
// streams; after every event the harness checks, aborting on the first
// broken invariant:
//   - snd_una <= snd_nxt, the queues within their buffers, an MSS that fits
//     the MTU, no datagram too large, every transition an arrow of the diagram
//   - the send queue is exactly the bytes written and not yet acknowledged
//   - every byte the stack sends is the application's byte at that offset,
//     and a FIN comes only after shutdown, at the end of what was written
//   - the stack acknowledges only sequence numbers the peer used, does not
//     shrink its advertised window, and takes only a FIN the peer sent
//   - the application reads the peer's stream in order, each byte once, and
//     what it read plus what is queued is what rcv_nxt covers
//   - SACK is negotiated when the peer offers it (not otherwise), and the
//     scoreboard's SACKed and lost bytes lie within what it holds, in a
//     bounded number of runs
//   - the connection runs the congestion control the set-up names
// Input format: stateful_format.hpp.
#include <algorithm>
#include <array>
#include <coronet/tcp/congestion.hpp>
#include <string>
#include <vector>

#include "check.hpp"
#include "stateful_format.hpp"
#include "support/stack_under_test.hpp"

namespace coronet::fuzz {
namespace {

using namespace stateful;
using namespace wire::tcp_flag;
using wire::seq32;

constexpr std::uint64_t peer_stream = 7, stack_stream = 11;
constexpr std::size_t max_runs = 16384;  // the scoreboard's bound

std::string at_state(const tcp::tcb& c, const std::string& what) {
    return what + " (in " + std::string(tcp::to_string(c.current())) + ")";
}

// The set-up bytes.
struct setup_fields {
    std::uint8_t options, shape;
    std::uint16_t mss;
    seq32 peer_iss;
    static setup_fields read(byte_reader& in) {
        const std::uint8_t options = in.u8(), shape = in.u8();
        const std::uint16_t mss = in.u16();
        return {options, shape, mss, seq32{in.u32()}};
    }
};

tcp::tcp_config make_config(const setup_fields& f) {
    tcp::tcp_config cfg;
    cfg.send_buffer = cfg.receive_buffer = buffer_sizes[(f.options >> setup::buffers_shift) & 3];
    cfg.nagle = !(f.options & setup::no_delay);
    cfg.congestion = setup::control_of(f.shape).congestion;
    cfg.pacing = setup::pacing_of(f.shape);
    return cfg;
}

class session {
public:
    explicit session(const setup_fields& f);
    // Whether the opening handshake completed (it always should).
    bool ready() const noexcept { return static_cast<bool>(conn_); }
    // Decodes and performs one action, then checks the invariants.
    void act(byte_reader& in);

private:
    // Offsets in each stream, from the sequence number after the SYN.
    std::int64_t peer_offset(seq32 s) const { return s - (irs_ + 1); }
    std::int64_t stack_offset(seq32 s) const { return s - (iss_ + 1); }
    bool tracking() const { return conn_->current() != tcp::state::closed; }

    void send(std::uint8_t flags, seq32 seq, seq32 ack, std::uint16_t window, std::size_t len, std::uint8_t extra,
              byte_reader* sack_from = nullptr);
    void fuzzed_segment(byte_reader& in);
    void app_write(std::size_t len);
    void app_read(std::size_t len);
    void advance(runtime::duration d);
    void drain();
    void check_sent(const wire::tcp_repr& h, wire::bytes payload);
    void check();

    tcp::tcp_config cfg_;
    stack_under_test s_;
    std::shared_ptr<tcp::listener_state> listener_;
    std::shared_ptr<tcp::tcb> conn_;
    std::uint16_t local_port_ = 0, peer_port_ = 0;
    bool timestamps_ = false;     // negotiated
    std::uint8_t rcv_shift_ = 0;  // the stack's window scale, as the peer applies it
    seq32 irs_, iss_;
    runtime::time_point start_;
    // The peer's stream and what the application made of it.
    std::int64_t peer_end_ = 0;  // past the last sequence number the peer used, FIN included
    std::vector<std::int64_t> peer_fins_;
    std::uint64_t read_ = 0;
    bool app_gone_ = false;  // closed or aborted: received data is no longer kept
    // The stack's stream.
    std::uint64_t written_ = 0;
    bool shut_ = false;
    seq32 stack_end_;  // past the last sequence number the stack sent
    std::optional<seq32> window_edge_;
    std::uint32_t stack_ts_ = 0;
};

session::session(const setup_fields& f)
    : cfg_(make_config(f)), s_(cfg_, (f.options & setup::small_pool) ? 4 : 64), irs_(f.peer_iss), start_(s_.sim.now()) {
    wire::tcp_options o;
    if (f.options & setup::mss) o.mss = f.mss;
    if (f.options & setup::window_scale) o.window_scale = static_cast<std::uint8_t>(f.shape & setup::shift_mask);
    if (f.options & setup::timestamps) o.timestamp = {{peer_ts_start, 0}};
    const bool peer_sack = setup::control_of(f.shape).peer_sack;
    o.sack_permitted = peer_sack;
    introduce_peer(s_);
    std::optional<opened> open;
    if (f.options & setup::active) {
        local_port_ = active_local_port;
        peer_port_ = service_port;
        open = connect_to_peer(s_, local_port_, {f.peer_iss, peer_port_, o});
    } else {
        local_port_ = service_port;
        peer_port_ = passive_peer_port;
        listener_ = s_.tcp.listen(service_port, 1).value();
        open = accept_from_peer(s_, *listener_, local_port_, {f.peer_iss, peer_port_, o});
    }
    if (!open) return;
    conn_ = open->conn;
    iss_ = open->iss;
    stack_end_ = iss_ + 1;
    timestamps_ = o.timestamp && open->options.timestamp;
    if (timestamps_) stack_ts_ = open->options.timestamp->first;
    if (o.window_scale && open->options.window_scale) rcv_shift_ = *open->options.window_scale;
    // tcp_config::sack is on: with a peer that offers SACK the loss recovery
    // paths (scoreboard, RACK, DSACK) are what the SACK blocks reach; with one
    // that does not, duplicate ACKs find the losses and the blocks are ignored.
    if (peer_sack && !conn_->sack_enabled()) fail("SACK not negotiated though both ends offered it");
    if (!peer_sack && conn_->sack_enabled()) fail("SACK negotiated though the peer did not offer it");
    if (tcp::congestion_algorithm_named(conn_->congestion_now().name) !=
        tcp::congestion_algorithm_named(cfg_.congestion))
        fail("the connection does not run the congestion control its configuration names");
    check();
}

// ---- the peer's segments --------------------------------------------------

void session::send(std::uint8_t flags, seq32 seq, seq32 ack, std::uint16_t window, std::size_t len, std::uint8_t extra,
                   byte_reader* sack_from) {
    wire::tcp_repr h{
        .src_port = peer_port_, .dst_port = local_port_, .seq = seq, .ack = ack, .flags = flags, .window = window};
    if (timestamps_ && !(extra & extra::no_timestamp)) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(s_.sim.now() - start_).count();
        std::uint32_t ts_val = peer_ts_start + static_cast<std::uint32_t>(ms);
        if (extra & extra::old_timestamp) ts_val -= 0x40000000u;
        h.options.timestamp = {{ts_val, stack_ts_}};
    }
    if (extra & extra::syn_options) {
        h.options.mss = 1460;
        h.options.window_scale = 7;
        h.options.sack_permitted = true;
    }
    if (sack_from) {
        h.options.sack_count = static_cast<std::uint8_t>((extra >> extra::sack_shift) & 3);
        for (std::size_t i = 0; i < h.options.sack_count; ++i) {
            const seq32 left = conn_->snd_una() + sack_from->u16();
            h.options.sack[i] = {left, left + sack_from->u16()};
        }
    }
    // The payload is the peer's stream at its sequence numbers (a SYN's data starts after it).
    const seq32 first = (flags & syn) ? seq + 1 : seq;
    std::vector<std::byte> payload(len);
    for (std::size_t i = 0; i < len; ++i)
        payload[i] = stream_byte(peer_stream, (first + static_cast<std::uint32_t>(i)).value);
    const std::int64_t end = peer_offset(first) + static_cast<std::int64_t>(len) + ((flags & fin) ? 1 : 0);
    peer_end_ = std::max(peer_end_, end);
    if (flags & fin) peer_fins_.push_back(end - 1);
    storage::rx_meta meta;
    if (extra & extra::unverified) meta.checksum = storage::rx_checksum::partial;
    s_.dev.inject(peer_tcp_frame(h, payload, !(extra & extra::bad_checksum)), meta);
}

void session::fuzzed_segment(byte_reader& in) {
    const std::uint8_t flags = in.u8();
    const auto seq_delta = static_cast<std::int16_t>(in.u16());
    const auto ack_delta = static_cast<std::int16_t>(in.u16());
    const std::uint16_t window = in.u16();
    const std::size_t len = in.u16() % (max_payload + 1);
    const std::uint8_t extra = in.u8();
    send(flags, conn_->rcv_nxt() + static_cast<std::uint32_t>(seq_delta),
         conn_->snd_una() + static_cast<std::uint32_t>(ack_delta), window, len, extra, &in);
}

// ---- the application ------------------------------------------------------

void session::app_write(std::size_t len) {
    std::vector<std::byte> data(len);
    for (std::size_t i = 0; i < len; ++i) data[i] = stream_byte(stack_stream, written_ + i);
    const std::size_t n = conn_->app_write(data);
    require(n <= len, "app_write took more than it was given");
    written_ += n;
}

void session::app_read(std::size_t len) {
    std::vector<std::byte> buf(len);
    const std::size_t n = conn_->app_read(buf);
    require(n <= len, "app_read returned more than asked");
    for (std::size_t i = 0; i < n; ++i) {
        const seq32 at = irs_ + 1 + static_cast<std::uint32_t>(read_ + i);
        if (buf[i] != stream_byte(peer_stream, at.value))
            fail(at_state(*conn_, "the application read a wrong byte at offset " + std::to_string(read_ + i) +
                                      " (delivered twice, out of order, or never sent)"));
    }
    read_ += n;
    require(static_cast<std::int64_t>(read_) <= peer_end_, "the application read more than the peer sent");
}

// ---- the stack's frames ---------------------------------------------------

void session::advance(runtime::duration d) {
    s_.advance(d, [this] { drain(); });
}

// Takes what the stack sent, checks it, and answers its ARP requests.
void session::drain() {
    s_.drain([this](const sent_frame& f) {
        if (f.tcp && f.tcp->src_port == local_port_ && f.tcp->dst_port == peer_port_ && tracking())
            check_sent(*f.tcp, f.payload);
    });
}

void session::check_sent(const wire::tcp_repr& h, wire::bytes payload) {
    if (h.flags & rst) return;  // a reset may carry any number the segment it answers had
    if (h.options.timestamp) stack_ts_ = h.options.timestamp->first;
    if (h.flags & syn) {
        require(h.seq == iss_ && payload.empty(), "the stack's SYN changed its ISN or carried data");
    } else {
        const std::int64_t at = stack_offset(h.seq);
        const auto len = static_cast<std::int64_t>(payload.size());
        if (len > 0 && (at < 0 || at + len > static_cast<std::int64_t>(written_)))
            fail(at_state(*conn_, "the stack sent bytes [" + std::to_string(at) + ", " + std::to_string(at + len) +
                                      ") of a stream of " + std::to_string(written_)));
        for (std::int64_t i = 0; i < len; ++i)
            if (payload[static_cast<std::size_t>(i)] != stream_byte(stack_stream, static_cast<std::uint64_t>(at + i)))
                fail(at_state(*conn_, "the stack sent a wrong byte at offset " + std::to_string(at + i)));
        if (h.flags & fin)
            require(shut_ && at + len == static_cast<std::int64_t>(written_),
                    "the stack sent a FIN before shutdown or not at the end of its stream");
    }
    // What the peer may acknowledge: sequence numbers segments took (a bare ACK takes none).
    const std::uint32_t seg_len =
        static_cast<std::uint32_t>(payload.size()) + ((h.flags & syn) ? 1 : 0) + ((h.flags & fin) ? 1 : 0);
    if (seg_len > 0) stack_end_ = wire::seq_max(stack_end_, h.seq + seg_len);
    if (!(h.flags & ack)) return;
    if (peer_offset(h.ack) > peer_end_)
        fail(at_state(*conn_, "the stack acknowledged offset " + std::to_string(peer_offset(h.ack)) +
                                  " but the peer sent up to " + std::to_string(peer_end_)));
    if (h.flags & syn) return;  // a SYN's window is never scaled
    // RFC 9293 3.8.6.2.2: the right edge does not move left (the scaled
    // window's rounding down is forgiven: less than 1 << shift).
    const seq32 edge = h.ack + (std::uint32_t{h.window} << rcv_shift_);
    if (window_edge_ && edge + ((1u << rcv_shift_) - 1) < *window_edge_)
        fail(at_state(*conn_, "the stack shrank its window by " + std::to_string(*window_edge_ - edge) + " bytes"));
    window_edge_ = window_edge_ ? wire::seq_max(*window_edge_, edge) : edge;
}

// ---- invariants -----------------------------------------------------------

void session::check() {
    s_.check_invariants();
    if (!tracking()) return;
    const tcp::tcb& c = *conn_;
    // Sending: acknowledged data left the queue, and only data that was written.
    const std::int64_t una = stack_offset(c.snd_una());
    if (una > static_cast<std::int64_t>(written_) + 1)
        fail(at_state(c, "snd_una at offset " + std::to_string(una) + " past the " + std::to_string(written_) +
                             " bytes written and a FIN"));
    const auto acked =
        static_cast<std::uint64_t>(std::clamp<std::int64_t>(una, 0, static_cast<std::int64_t>(written_)));
    if (written_ - c.send_queue() != acked)
        fail(at_state(c, "send queue " + std::to_string(c.send_queue()) + " but " + std::to_string(written_) +
                             " written and " + std::to_string(acked) + " acknowledged"));
    // The scoreboard: what it counts SACKed or lost lies within what it
    // holds, in no more runs than its bound.
    const tcp::scoreboard& b = c.board();
    if (b.sacked_bytes() > b.outstanding() || b.lost_bytes() > b.outstanding() || b.runs().size() > max_runs)
        fail(at_state(c, "scoreboard: " + std::to_string(b.sacked_bytes()) + " SACKed and " +
                             std::to_string(b.lost_bytes()) + " lost of " + std::to_string(b.outstanding()) +
                             " held in " + std::to_string(b.runs().size()) + " runs"));
    // Receiving: rcv_nxt covers only what the peer sent; what it covers was read or is queued.
    const std::int64_t rcv = peer_offset(c.rcv_nxt());
    if (rcv > peer_end_)
        fail(at_state(
            c, "rcv_nxt at offset " + std::to_string(rcv) + " but the peer sent up to " + std::to_string(peer_end_)));
    if (c.peer_finished() && std::find(peer_fins_.begin(), peer_fins_.end(), rcv - 1) == peer_fins_.end())
        fail(at_state(c, "a FIN taken at offset " + std::to_string(rcv - 1) + " where the peer sent none"));
    const auto covered = static_cast<std::int64_t>(read_ + c.receive_queue()) + (c.peer_finished() ? 1 : 0);
    if (!app_gone_ && covered != rcv)
        fail(at_state(c, "rcv_nxt at offset " + std::to_string(rcv) + " but " + std::to_string(read_) +
                             " bytes read and " + std::to_string(c.receive_queue()) + " queued"));
}

// ---- actions --------------------------------------------------------------

// For CORONET_FUZZ_TRACE.
constexpr std::array<const char*, op::count> op_names{"segment", "ack_all",  "data",  "wait",  "next_timer", "write",
                                                      "read",    "shutdown", "close", "abort", "icmp"};

void session::act(byte_reader& in) {
    const std::uint8_t code = in.u8() % op::count;
    if (tracing()) {
        const auto cc = conn_->congestion_now();
        std::fprintf(stderr,
                     "-- %s in %s: snd_una %u snd_nxt %u rcv_nxt %u, %zu sent %zu queued; %u SACKed %u lost, %llu "
                     "resent, %llu recoveries, %llu DSACKs; %s cwnd %u ssthresh %u\n",
                     op_names[code], std::string(tcp::to_string(conn_->current())).c_str(), conn_->snd_una().value,
                     conn_->snd_nxt().value, conn_->rcv_nxt().value, conn_->send_queue(), conn_->receive_queue(),
                     conn_->board().sacked_bytes(), conn_->board().lost_bytes(),
                     static_cast<unsigned long long>(conn_->stats().retransmits),
                     static_cast<unsigned long long>(conn_->stats().recoveries),
                     static_cast<unsigned long long>(conn_->stats().dsacks_received), cc.name, cc.cwnd, cc.ssthresh);
    }
    switch (code) {
        case op::segment:
            fuzzed_segment(in);
            break;
        case op::ack_all:
            send(ack, conn_->rcv_nxt(), stack_end_, in.u16(), 0, 0);
            break;
        case op::data: {
            const std::size_t len = in.u16() % (max_payload + 1);
            const bool with_fin = in.u8() & 1;
            send(ack | (len > 0 ? psh : 0) | (with_fin ? fin : 0), conn_->rcv_nxt(), stack_end_, 65535, len, 0);
            break;
        }
        case op::wait:
            advance(waits[in.u8() % waits.size()]);
            break;
        case op::next_timer:
            if (const runtime::timer_node* t = s_.sim.timers().top()) advance(t->deadline - s_.sim.now());
            break;
        case op::write:
            if (!shut_) app_write(in.u16());
            break;
        case op::read:
            app_read(in.u16());
            break;
        case op::shutdown:
            shut_ = true;
            conn_->app_shutdown_write();
            break;
        case op::close:
            shut_ = app_gone_ = true;
            conn_->app_close();
            break;
        case op::abort:
            app_gone_ = true;
            conn_->app_abort();
            break;
        case op::icmp: {
            const auto& [type, code] = icmp_kinds[in.u8() % icmp_kinds.size()];
            const auto seq = conn_->snd_una() + static_cast<std::uint32_t>(static_cast<std::int16_t>(in.u16()));
            const std::uint16_t mtu = in.u16();
            s_.dev.inject(icmp_error_frame(type, code, {local_port_, peer_port_, seq, 1500}, mtu));
            break;
        }
    }
    s_.sim.run_for(runtime::duration::zero());
    drain();
    check();
}

}  // namespace
}  // namespace coronet::fuzz

using namespace coronet::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    byte_reader in{input_bytes(data, size)};
    session s{setup_fields::read(in)};
    if (!s.ready()) fail("the opening handshake did not complete");
    while (!in.empty()) s.act(in);
    return 0;
}
