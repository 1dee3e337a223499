// Writes the seed corpus: coronet-fuzz-seeds DIR makes DIR/<harness>/<seed>
// for every harness (DIR is normally tests/fuzz/corpus). The seeds are
// readable builders, not hex: valid packets of each protocol for the parser
// harnesses, and for the stack harnesses event sequences that walk the
// connection through its states (transfer, loss, reordering, zero window,
// resets, every way of closing), which the fuzzer then mutates.
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/icmp.hpp>
#include <coronet/wire/ipv4.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "byte_io.hpp"
#include "input_path_format.hpp"
#include "stateful_format.hpp"
#include "support/stack_under_test.hpp"

namespace fs = std::filesystem;
namespace wire = coronet::wire;
using namespace coronet::fuzz;
using namespace coronet::test;
using namespace wire::tcp_flag;
using wire::seq32;

namespace {

fs::path root;

void write_seed(const std::string& harness, const std::string& name, wire::bytes data) {
    const fs::path dir = root / harness;
    fs::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

std::vector<std::byte> text(std::string_view s) {
    const wire::bytes b = wire::to_bytes(s);
    return {b.begin(), b.end()};
}

// ---- packets --------------------------------------------------------------

wire::tcp_options linux_syn_options() {
    wire::tcp_options o;
    o.mss = 1460;
    o.sack_permitted = true;
    o.timestamp = {{0x01020304, 0}};
    o.window_scale = 7;
    return o;
}

wire::tcp_options data_options_with_sack() {
    wire::tcp_options o;
    o.timestamp = {{0x01020304, 0x0a0b0c0d}};
    o.sack_count = 3;
    o.sack[0] = {seq32{0xfffffff0}, seq32{0x00000100}};
    o.sack[1] = {seq32{0x200}, seq32{0x400}};
    o.sack[2] = {seq32{0x800}, seq32{0x900}};
    return o;
}

std::vector<std::byte> tcp_segment(const wire::tcp_repr& h, std::size_t payload_len) {
    std::vector<std::byte> seg(h.header_len() + payload_len);
    for (std::size_t i = 0; i < payload_len; ++i)
        seg[h.header_len() + i] = std::byte(static_cast<std::uint8_t>('a' + i % 26));
    h.emit(seg, peer_ip, stack_ip);
    return seg;
}

std::vector<std::byte> ipv4_datagram(std::uint8_t protocol, wire::bytes payload) {
    wire::ipv4_repr ip{};
    ip.src = peer_ip;
    ip.dst = stack_ip;
    ip.protocol = protocol;
    ip.ident = 0x1234;
    ip.payload_len = static_cast<std::uint16_t>(payload.size());
    std::vector<std::byte> d(ip.total_len());
    ip.emit(d);
    std::copy(payload.begin(), payload.end(), d.begin() + wire::ipv4_repr::header_len);
    return d;
}

std::vector<std::byte> echo_request(std::uint16_t seq_no, std::size_t len) {
    std::vector<std::byte> msg(wire::icmp_repr::header_len + len, std::byte{0x42});
    wire::icmp_repr{.type = wire::icmp_type::echo_request, .code = 0, .ident = 7, .seq_no = seq_no}.emit(msg);
    return msg;
}

std::vector<std::byte> ethernet_frame(std::uint16_t type, wire::bytes payload) {
    std::vector<std::byte> f(wire::ethernet_repr::header_len + payload.size());
    wire::ethernet_repr{.dst = stack_mac, .src = peer_mac, .type = type}.emit(f);
    std::copy(payload.begin(), payload.end(), f.begin() + wire::ethernet_repr::header_len);
    return f;
}

std::vector<std::byte> concat(std::initializer_list<wire::bytes> parts) {
    std::vector<std::byte> out;
    for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

std::vector<std::byte> mode_and(std::uint8_t mode, wire::bytes rest) {
    std::vector<std::byte> out{std::byte{mode}};
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
}

void wire_seeds() {
    const auto arp_request = peer_arp_frame(wire::arp_op::request);
    const auto arp_reply = peer_arp_frame(wire::arp_op::reply);
    const wire::bytes arp_body = wire::bytes(arp_request).subspan(wire::ethernet_repr::header_len);
    write_seed("wire_ethernet", "arp-request-frame", arp_request);
    write_seed("wire_ethernet", "mac-text-lower", text("02:00:00:00:00:0a"));
    write_seed("wire_ethernet", "mac-text-mixed-case", text("AA:bb:CC:dd:EE:ff"));

    write_seed("wire_arp", "request", arp_body);
    write_seed("wire_arp", "reply", wire::bytes(arp_reply).subspan(wire::ethernet_repr::header_len));
    std::vector<std::byte> padded(arp_body.begin(), arp_body.end());
    padded.resize(46);  // Ethernet's minimum payload
    write_seed("wire_arp", "request-with-padding", padded);

    wire::tcp_repr syn_h{.src_port = 40000,
                         .dst_port = 80,
                         .seq = seq32{0xfffffff0},
                         .flags = syn,
                         .window = 64240,
                         .options = linux_syn_options()};
    wire::tcp_repr data_h{.src_port = 40000,
                          .dst_port = 80,
                          .seq = seq32{0xffffff00},
                          .ack = seq32{0x100},
                          .flags = ack | psh,
                          .window = 502,
                          .options = data_options_with_sack()};
    const auto syn_seg = tcp_segment(syn_h, 0);
    const auto data_seg = tcp_segment(data_h, 100);
    const auto tcp_datagram = ipv4_datagram(wire::ip_proto::tcp, data_seg);
    write_seed("wire_ipv4", "tcp-datagram", mode_and(0, tcp_datagram));
    std::vector<std::byte> with_options = ipv4_datagram(wire::ip_proto::icmp, echo_request(1, 8));
    with_options.insert(with_options.begin() + 20, {std::byte{1}, std::byte{1}, std::byte{1}, std::byte{0}});
    wire::store_u8(with_options, 0, 0x46);  // IHL 6: four option bytes (NOP NOP NOP EOL)
    wire::store_u16(with_options, 2, static_cast<std::uint16_t>(with_options.size()));
    write_seed("wire_ipv4", "header-options-fix-checksum", mode_and(1, with_options));
    std::vector<std::byte> fragment = tcp_datagram;
    wire::store_u16(fragment, 6, 0x2000 | 185);  // MF, offset 1480
    write_seed("wire_ipv4", "fragment-fix-checksum", mode_and(1, fragment));

    write_seed("wire_icmp", "echo-request", mode_and(0, echo_request(1, 56)));
    write_seed("wire_icmp", "echo-odd-length-fix-checksum", mode_and(1, echo_request(2, 7)));

    const auto addresses = byte_writer{}.u32(peer_ip.to_uint()).u32(stack_ip.to_uint()).bytes();
    write_seed("wire_tcp", "linux-syn", concat({mode_and(0, addresses), syn_seg}));
    write_seed("wire_tcp", "data-timestamps-sack", concat({mode_and(0, addresses), data_seg}));
    write_seed("wire_tcp", "data-unverified", concat({mode_and(2, addresses), data_seg}));

    std::vector<std::byte> syn_options(linux_syn_options().encoded_len());
    linux_syn_options().emit(syn_options);
    std::vector<std::byte> sack_options(data_options_with_sack().encoded_len());
    data_options_with_sack().emit(sack_options);
    write_seed("wire_tcp_options", "linux-syn", syn_options);
    write_seed("wire_tcp_options", "timestamps-3-sack-blocks", sack_options);
    write_seed("wire_tcp_options", "unknown-kind-then-eol",
               byte_writer{}.u8(30).u8(4).u16(0xabcd).u8(0).u8(2).u8(4).bytes());

    write_seed("wire_checksum", "ipv4-header", concat({byte_writer{}.u16(3).u16(0x4000).bytes(), tcp_datagram}));
    write_seed("wire_checksum", "odd-length", concat({byte_writer{}.u16(77).u16(0xffff).bytes(), echo_request(3, 5)}));
}

// ---- input path -------------------------------------------------------------

namespace ip = input_path;

constexpr std::uint8_t fixed = ip::control::fix_ipv4 | ip::control::fix_l4 | ip::control::rebase_ack;

// A segment from the peer; ack is an offset from the stack's ISN (rebased by the harness).
std::vector<std::byte> segment_frame(std::uint16_t src, std::uint16_t dst, seq32 seq, std::uint32_t ack_offset,
                                     std::uint8_t flags, std::size_t len, bool timestamps, std::uint32_t ts = 2000) {
    wire::tcp_repr h{
        .src_port = src, .dst_port = dst, .seq = seq, .ack = seq32{ack_offset}, .flags = flags, .window = 1024};
    if (timestamps) h.options.timestamp = {{ts, 0}};
    std::vector<std::byte> payload(len, std::byte{'x'});
    return peer_tcp_frame(h, payload);
}

// To the connection the stack accepted: the peer negotiated timestamps, and window scale 7.
std::vector<std::byte> to_passive(std::uint32_t offset, std::uint32_t ack_offset, std::uint8_t flags, std::size_t len,
                                  std::uint32_t ts = 2000) {
    return segment_frame(ip::passive_peer_port, ip::listen_port, seq32{ip::passive_peer_iss} + 1 + offset, ack_offset,
                         flags, len, true, ts);
}

// To the connection the stack opened: no options.
std::vector<std::byte> to_active(std::uint32_t offset, std::uint32_t ack_offset, std::uint8_t flags, std::size_t len) {
    return segment_frame(ip::active_peer_port, ip::active_local_port, seq32{ip::active_peer_iss} + 1 + offset,
                         ack_offset, flags, len, false);
}

struct frames {
    byte_writer w;
    frames& add(const std::vector<std::byte>& f, std::uint8_t control = fixed, unsigned wait = 0) {
        ip::encode(w, static_cast<std::uint8_t>(control | wait << ip::control::wait_shift), f);
        return *this;
    }
};

void input_path_seeds() {
    const std::string h = "input_path";
    // The passive connection: its 3000 bytes acknowledged, 100 bytes and a FIN from the peer.
    write_seed(h, "passive-transfer-and-fin",
               frames{}
                   .add(to_passive(0, 1 + 3000, ack, 0))
                   .add(to_passive(0, 1 + 3000, ack | psh, 100))
                   .add(to_passive(100, 1 + 3000, ack | fin, 0), fixed, 3)
                   .add(to_passive(101, 1 + 3001, ack, 0), fixed, 5)
                   .w.bytes());
    write_seed(h, "passive-out-of-order-then-fill",
               frames{}
                   .add(to_passive(500, 1, ack, 300))
                   .add(to_passive(0, 1, ack, 500))
                   .add(to_passive(800, 1, ack, 10))
                   .w.bytes());
    write_seed(h, "passive-dup-acks-fast-retransmit",
               frames{}
                   .add(to_passive(0, 1, ack, 0))
                   .add(to_passive(0, 1, ack, 0))
                   .add(to_passive(0, 1, ack, 0))
                   .add(to_passive(0, 1, ack, 0))
                   .add(to_passive(0, 1 + 3000, ack, 0), fixed, 2)
                   .w.bytes());
    write_seed(h, "passive-paws-old-timestamp", frames{}.add(to_passive(0, 1, ack | psh, 10, 5)).w.bytes());
    write_seed(h, "passive-rst-in-window-then-exact",
               frames{}.add(to_passive(10, 1, rst, 0)).add(to_passive(0, 1, rst, 0)).w.bytes());
    write_seed(h, "passive-syn-in-established", frames{}.add(to_passive(0, 0, syn, 0)).w.bytes());
    write_seed(h, "active-data-fin-and-ack",
               frames{}
                   .add(to_active(0, 1 + 1000, ack | psh | fin, 200))
                   .add(to_active(201, 1 + 1000, ack, 0), fixed, 4)
                   .w.bytes());
    write_seed(h, "active-zero-window",
               frames{}.add(to_active(0, 1, ack, 0)).add(to_active(0, 1, ack, 0), fixed, 6).w.bytes());
    // The opened connection (no SACK) in duplicate-ACK recovery, once under
    // each controller the input's length picks (ip::active_control): a
    // window update, three duplicates (the third retransmits), then the ACK
    // of all. A last frame of an EtherType nobody serves (a counted drop)
    // makes the length's remainder.
    for (std::size_t pick = 0; pick < ip::active_controls.size(); ++pick) {
        frames f;
        for (int i = 0; i < 4; ++i) f.add(to_active(0, 1, ack, 0));
        f.add(to_active(0, 1 + 1000, ack, 0), fixed, 2);
        constexpr std::size_t record_overhead = 3;  // control byte and length
        const std::size_t bare = f.w.bytes().size() + record_overhead + wire::ethernet_repr::header_len;
        const std::size_t pad = (pick + 3 - bare % 3) % 3;
        f.add(ethernet_frame(0x88b5, std::vector<std::byte>(pad)), 0);
        const auto bytes = f.w.bytes();
        write_seed(h, std::string("active-dup-acks-") + ip::active_control(bytes.size()), bytes);
    }
    // A new connection to the listener, completed, then reset.
    wire::tcp_repr syn_h{.src_port = 41000,
                         .dst_port = ip::listen_port,
                         .seq = seq32{100},
                         .flags = syn,
                         .window = 65535,
                         .options = linux_syn_options()};
    write_seed(h, "listener-new-connection",
               frames{}
                   .add(peer_tcp_frame(syn_h, {}), ip::control::fix_ipv4 | ip::control::fix_l4)
                   .add(segment_frame(41000, ip::listen_port, seq32{101}, 0, ack, 0, false), fixed)
                   .add(segment_frame(41000, ip::listen_port, seq32{101}, 0, rst, 0, false), fixed, 2)
                   .w.bytes());
    write_seed(h, "closed-port-draws-reset",
               frames{}.add(segment_frame(1, 9999, seq32{5}, 0, syn, 0, false)).w.bytes());
    // Link and network layers: ARP, ICMP echo, a bad checksum, an unverified one.
    const auto echo = ethernet_frame(wire::ethertype::ipv4, ipv4_datagram(wire::ip_proto::icmp, echo_request(1, 32)));
    write_seed(h, "arp-and-echo",
               frames{}
                   .add(peer_arp_frame(wire::arp_op::request), 0)
                   .add(echo, ip::control::fix_ipv4 | ip::control::fix_l4)
                   .w.bytes());
    auto damaged = to_passive(0, 1, ack | psh, 50);
    damaged.back() ^= std::byte{0xff};
    write_seed(h, "bad-then-unverified-checksum",
               frames{}
                   .add(damaged, ip::control::fix_ipv4 | ip::control::rebase_ack)
                   .add(damaged, ip::control::fix_ipv4 | ip::control::rebase_ack | 1)
                   .w.bytes());
}

// ---- stateful -------------------------------------------------------------

namespace sf = stateful;

// An event sequence in the stateful harness's format.
struct events {
    byte_writer w;
    // shape: the peer's window shift, the stack's congestion control and pacing (sf::setup::shape).
    events(std::uint8_t options, std::uint8_t shape, std::uint16_t mss, std::uint32_t peer_iss) {
        w.u8(options).u8(shape).u16(mss).u32(peer_iss);
    }
    events& segment(std::uint8_t flags, std::int16_t seq, std::int16_t ack_delta, std::uint16_t window,
                    std::uint16_t len, std::uint8_t extra = 0) {
        w.u8(sf::op::segment).u8(flags).u16(static_cast<std::uint16_t>(seq)).u16(static_cast<std::uint16_t>(ack_delta));
        w.u16(window).u16(len).u8(extra);
        for (unsigned i = 0; i < ((extra >> sf::extra::sack_shift) & 3u); ++i)
            w.u16(static_cast<std::uint16_t>(1000 * (i + 1))).u16(500);
        return *this;
    }
    // A bare ACK at snd_una + ack_delta with up to three SACK blocks, each
    // {offset from snd_una, length}.
    events& sack(std::int16_t ack_delta, std::initializer_list<std::pair<std::uint16_t, std::uint16_t>> blocks,
                 std::uint16_t window = 65535) {
        const auto count = static_cast<std::uint8_t>(blocks.size() << sf::extra::sack_shift);
        w.u8(sf::op::segment).u8(wire::tcp_flag::ack).u16(0).u16(static_cast<std::uint16_t>(ack_delta));
        w.u16(window).u16(0).u8(count);
        for (const auto& [offset, len] : blocks) w.u16(offset).u16(len);
        return *this;
    }
    events& ack_all(std::uint16_t window = 65535) { return op(sf::op::ack_all).u16(window), *this; }
    events& data(std::uint16_t len, bool fin = false) { return op(sf::op::data).u16(len).u8(fin), *this; }
    events& wait(std::uint8_t index) { return op(sf::op::wait).u8(index), *this; }
    events& next_timer() { return op(sf::op::next_timer), *this; }
    events& write(std::uint16_t len) { return op(sf::op::write).u16(len), *this; }
    events& read(std::uint16_t len) { return op(sf::op::read).u16(len), *this; }
    events& shutdown() { return op(sf::op::shutdown), *this; }
    events& close() { return op(sf::op::close), *this; }
    events& abort() { return op(sf::op::abort), *this; }
    // An ICMP error of icmp_kinds[kind] quoting snd_una + seq.
    events& icmp(std::uint8_t kind, std::int16_t seq, std::uint16_t mtu = 0) {
        return op(sf::op::icmp).u8(kind).u16(static_cast<std::uint16_t>(seq)).u16(mtu), *this;
    }

private:
    byte_writer& op(std::uint8_t code) { return w.u8(code); }
};

constexpr std::uint8_t linux_peer = sf::setup::timestamps | sf::setup::window_scale | sf::setup::mss;
constexpr std::uint8_t buffers(unsigned i) { return static_cast<std::uint8_t>(i << sf::setup::buffers_shift); }

void stateful_seeds() {
    const std::string h = "tcp_stateful";
    // Both directions, then the peer closes first: CLOSE_WAIT, LAST_ACK.
    write_seed(h, "passive-transfer-peer-closes-first",
               events(linux_peer | buffers(1), 7, 1460, 0xffffff00)
                   .write(5000)
                   .ack_all()
                   .data(1000)
                   .read(2000)
                   .data(3000, true)
                   .read(4000)
                   .shutdown()
                   .ack_all()
                   .wait(3)
                   .w.bytes());
    // We close first: FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT, 2MSL.
    write_seed(h, "active-close-first-time-wait",
               events(sf::setup::active | linux_peer | buffers(2), 2, 1400, 0x7fffff00)
                   .write(3000)
                   .ack_all()
                   .shutdown()
                   .ack_all()
                   .data(10, true)
                   .read(100)
                   .wait(12)
                   .wait(13)
                   .w.bytes());
    // Simultaneous close: CLOSING.
    write_seed(h, "simultaneous-close",
               events(buffers(1), 0, 0, 1).write(100).shutdown().data(0, true).ack_all().wait(14).w.bytes());
    // Losses: the RTO fires and backs off, then the ACK comes.
    write_seed(h, "retransmission-timeout",
               events(sf::setup::active | buffers(2), 0, 0, 0x12345678)
                   .write(8000)
                   .wait(7)
                   .wait(8)
                   .next_timer()
                   .ack_all()
                   .w.bytes());
    // Four ACKs at snd_una without SACK blocks, then a partial and a full
    // ACK. With SACK on they are no duplicates (an ACK counts as one only if
    // it SACKs something): no recovery.
    write_seed(h, "acks-without-sack-blocks",
               events(linux_peer | buffers(2) | sf::setup::no_delay, 7, 1460, 0xfffffff0)
                   .write(20000)
                   .segment(ack, 0, 0, 1000, 0)
                   .segment(ack, 0, 0, 1000, 0)
                   .segment(ack, 0, 0, 1000, 0)
                   .segment(ack, 0, 0, 1000, 0)
                   .segment(ack, 0, 1448, 1000, 0)
                   .ack_all()
                   .w.bytes());
    // Zero window: persist probes with back-off, then the window opens.
    write_seed(
        h, "zero-window-probes",
        events(buffers(1), 0, 0, 77).write(4000).ack_all(0).wait(7).wait(9).next_timer().ack_all(8192).w.bytes());
    // Out of order: a hole, SACK blocks, then the hole filled.
    write_seed(h, "out-of-order-and-sack",
               events(linux_peer | buffers(1), 7, 1460, 0xfffff000)
                   .segment(ack, 1000, 0, 1000, 500, 2 << sf::extra::sack_shift)
                   .segment(ack, 3000, 0, 1000, 200)
                   .data(1000)
                   .read(5000)
                   .data(500)
                   .read(5000)
                   .w.bytes());
    // SACK recovery: the peer reports holes in what the stack sent (1448-byte
    // segments with timestamps), RACK finds them lost, the scoreboard resends
    // them, a DSACK reports one resend twice, then everything is acknowledged.
    const auto sack_recovery = [](std::uint8_t shape) {
        return events(linux_peer | buffers(2) | sf::setup::no_delay, shape, 1460, 0xfffff800)
            .write(20000)
            .sack(0, {{1448, 2896}, {5792, 1448}})
            .wait(1)
            .sack(0, {{1448, 2896}, {5792, 1448}, {8688, 4344}})
            .sack(1448, {{0, 1448}, {1448, 2896}})
            .next_timer()
            .ack_all();
    };
    write_seed(h, "sack-recovery-and-dsack", sack_recovery(7).w.bytes());
    // With NewReno never paced.
    write_seed(h, "sack-recovery-newreno-unpaced", sack_recovery(sf::setup::shape(7, 1, 3)).w.bytes());
    // A peer without SACK: three duplicate ACKs start NewReno's fast
    // retransmit, a partial ACK keeps the recovery going, then all of it.
    write_seed(h, "dup-ack-recovery-without-sack",
               events(linux_peer | buffers(2) | sf::setup::no_delay, sf::setup::shape(7, 3), 1460, 0xfffff800)
                   .write(20000)
                   .segment(ack, 0, 0, 65535, 0)
                   .segment(ack, 0, 0, 65535, 0)
                   .segment(ack, 0, 0, 65535, 0)
                   .segment(ack, 0, 1448, 65535, 0)
                   .next_timer()
                   .ack_all()
                   .w.bytes());
    // The same with CUBIC and pacing `all` (HyStart++'s rounds, CUBIC's
    // reduction, the ACK that ends the recovery), then more. On this
    // virtual path's short round trips few frames last long enough to be
    // paced; the fuzzer's waits make longer ones.
    write_seed(h, "sack-recovery-cubic-paced",
               sack_recovery(sf::setup::shape(7, 2, 1)).write(30000).next_timer().ack_all().w.bytes());
    // Hostile SACK blocks: past SND.NXT, empty, a DSACK for data never sent,
    // and overlapping; the transfer then completes.
    write_seed(h, "sack-blocks-hostile",
               events(sf::setup::active | buffers(2) | sf::setup::no_delay, 0, 0, 0x7ffffff0)
                   .write(8000)
                   .sack(0, {{60000, 1000}, {2000, 0}, {536, 65535}})
                   .sack(0, {{3000, 100}, {60000, 5000}})
                   .sack(0, {{536, 2000}, {1000, 2000}, {536, 2000}})
                   .wait(2)
                   .ack_all()
                   .write(3000)
                   .ack_all()
                   .w.bytes());
    // RFC 5961: an in-window RST draws a challenge ACK; the exact one resets.
    write_seed(h, "rst-challenge-then-reset",
               events(linux_peer | buffers(1), 7, 1460, 5)
                   .write(100)
                   .segment(rst, 10, 0, 0, 0)
                   .segment(rst, 0, 0, 0, 0)
                   .read(10)
                   .w.bytes());
    // A SYN in ESTABLISHED, an old timestamp (PAWS), a bad and an unverified checksum.
    write_seed(h, "syn-paws-and-checksums",
               events(linux_peer | buffers(0), 7, 1460, 99)
                   .segment(syn, -1, 0, 1000, 0, sf::extra::syn_options)
                   .segment(ack, 0, 0, 1000, 100, sf::extra::old_timestamp)
                   .segment(ack, 0, 0, 1000, 100, sf::extra::bad_checksum)
                   .segment(ack, 0, 0, 1000, 100, sf::extra::bad_checksum | sf::extra::unverified)
                   .read(500)
                   .w.bytes());
    // A small receive buffer filled, the window reopened by reads.
    write_seed(h, "receive-buffer-full",
               events(sf::setup::active | buffers(0) | sf::setup::small_pool, 0, 0, 0xffffffff)
                   .data(1500)
                   .data(1500)
                   .data(1500)
                   .read(1000)
                   .read(3000)
                   .data(1500)
                   .read(3000)
                   .w.bytes());
    // The application closes with unread data, and one aborts.
    write_seed(h, "close-orphaned-fin-wait-2-timeout",
               events(linux_peer | buffers(1), 7, 1460, 1000).data(100).close().ack_all().wait(12).wait(12).w.bytes());
    write_seed(h, "abort", events(sf::setup::active | buffers(1), 0, 0, 0).write(500).abort().ack_all().w.bytes());
    // ICMP errors about data in flight: the path MTU goes down twice (the
    // flight is resent smaller), forged ones miss the flight, then an
    // unreachable (a soft error) and the rest of the kinds.
    write_seed(h, "icmp-path-mtu-and-errors",
               events(sf::setup::active | linux_peer | buffers(2), 7, 1460, 5000)
                   .write(20000)
                   .icmp(0, 0, 1400)
                   .icmp(0, 1500, 576)
                   .icmp(0, -3000, 300)
                   .icmp(0, 30000, 1000)
                   .ack_all()
                   .write(8000)
                   .icmp(2, 100)
                   .icmp(6, 0)
                   .icmp(7, 10)
                   .icmp(8, 0)
                   .icmp(9, 0)
                   .ack_all()
                   .wait(12)
                   .w.bytes());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: coronet-fuzz-seeds DIR   (writes DIR/<harness>/<seed>)\n";
        return 2;
    }
    root = argv[1];
    wire_seeds();
    input_path_seeds();
    stateful_seeds();
    return 0;
}
