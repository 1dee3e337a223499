// Parsing and emitting one full-sized data segment as a bulk transfer sees it:
// Ethernet + IPv4 + TCP with timestamps (RFC 7323) + 1448 payload bytes, a
// 1514-byte frame. Each layer alone, the whole receive path, and the builders.
#include <benchmark/benchmark.h>

#include <coronet/wire/ethernet.hpp>
#include <coronet/wire/ipv4.hpp>
#include <coronet/wire/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

namespace wire = coronet::wire;
using wire::seq32;

namespace {

constexpr std::size_t payload_len = 1448;  // MSS 1460 minus the 12 timestamp option bytes

const wire::address_v4 ip_a{0x0a000001};  // 10.0.0.1
const wire::address_v4 ip_b{0x0a000002};  // 10.0.0.2

wire::ethernet_repr ethernet_header() {
    return {.dst = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}},
            .src = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}},
            .type = wire::ethertype::ipv4};
}

// An established connection's data segment, sequence numbers near the 2^32 wrap.
wire::tcp_repr data_segment() {
    wire::tcp_repr r;
    r.src_port = 40000;
    r.dst_port = 5201;
    r.seq = seq32{0xfffff000};
    r.ack = seq32{0x00001000};
    r.flags = wire::tcp_flag::ack | wire::tcp_flag::psh;
    r.window = 502;
    r.options.timestamp = std::pair{0x01020304u, 0x05060708u};
    return r;
}

wire::ipv4_repr ipv4_header(std::size_t tcp_len) {
    return {.src = ip_a,
            .dst = ip_b,
            .protocol = wire::ip_proto::tcp,
            .ident = 0x1c46,
            .payload_len = static_cast<std::uint16_t>(tcp_len)};
}

// The whole frame, built with the builders under test, payload a byte pattern.
std::vector<std::byte> data_frame() {
    const wire::tcp_repr tcp = data_segment();
    const std::size_t tcp_len = tcp.header_len() + payload_len;
    const wire::ipv4_repr ip = ipv4_header(tcp_len);
    std::vector<std::byte> frame(wire::ethernet_repr::header_len + ip.total_len());
    const wire::mut_bytes ip_bytes = wire::mut_bytes(frame).subspan(wire::ethernet_repr::header_len);
    const wire::mut_bytes tcp_bytes = ip_bytes.subspan(wire::ipv4_repr::header_len);
    for (std::size_t i = 0; i < payload_len; ++i) {
        tcp_bytes[tcp.header_len() + i] = static_cast<std::byte>(i * 7);
    }
    ethernet_header().emit(frame);
    ip.emit(ip_bytes);
    tcp.emit(tcp_bytes, ip_a, ip_b);
    return frame;
}

// Views never fail on the frame above; a benchmark that measured an error path by accident would lie.
template <class T>
const T& expect(const wire::result<T>& r) {
    if (!r) throw std::logic_error("microbench: fixture frame failed to parse");
    return *r;
}

void ethernet_parse(benchmark::State& state) {
    const auto frame = data_frame();
    expect(wire::ethernet_view::parse(frame));
    for (auto _ : state) {
        benchmark::DoNotOptimize(frame.data());
        auto eth = wire::ethernet_view::parse(frame);
        std::uint16_t type = eth->type();
        wire::bytes payload = eth->payload();
        benchmark::DoNotOptimize(type);
        benchmark::DoNotOptimize(payload);
    }
}

// Header checks and the 20-byte header checksum.
void ipv4_parse(benchmark::State& state) {
    const auto frame = data_frame();
    const wire::bytes packet = wire::bytes(frame).subspan(wire::ethernet_repr::header_len);
    expect(wire::ipv4_view::parse(packet));
    for (auto _ : state) {
        benchmark::DoNotOptimize(packet.data());
        auto ip = wire::ipv4_view::parse(packet);
        wire::bytes payload = ip->payload();
        benchmark::DoNotOptimize(payload);
    }
}

// mode verify includes the checksum over all 1480 bytes; skip is header and options only.
void tcp_parse(benchmark::State& state, wire::checksum_mode mode) {
    const auto frame = data_frame();
    const wire::bytes segment =
        wire::bytes(frame).subspan(wire::ethernet_repr::header_len + wire::ipv4_repr::header_len);
    expect(wire::tcp_view::parse(segment, ip_a, ip_b, mode));
    for (auto _ : state) {
        benchmark::DoNotOptimize(segment.data());
        auto tcp = wire::tcp_view::parse(segment, ip_a, ip_b, mode);
        seq32 seq = tcp->seq();
        bool has_ts = tcp->options().timestamp.has_value();
        benchmark::DoNotOptimize(seq);
        benchmark::DoNotOptimize(has_ts);
    }
    if (mode == wire::checksum_mode::verify) {  // only then is every byte read
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * segment.size()));
    }
}

void tcp_parse_verify(benchmark::State& state) { tcp_parse(state, wire::checksum_mode::verify); }
void tcp_parse_skip_checksum(benchmark::State& state) { tcp_parse(state, wire::checksum_mode::skip); }

// The option block alone: NOP NOP TS (data segment), or a SYN's MSS, SACK-permitted, TS, NOP, WS.
void tcp_options_parse(benchmark::State& state, const wire::tcp_options& options) {
    std::vector<std::byte> block(options.encoded_len());
    options.emit(block);
    expect(wire::tcp_options::parse(block));
    for (auto _ : state) {
        benchmark::DoNotOptimize(block.data());
        auto parsed = wire::tcp_options::parse(block);
        benchmark::DoNotOptimize(parsed);
    }
}

void tcp_options_parse_timestamp(benchmark::State& state) { tcp_options_parse(state, data_segment().options); }

void tcp_options_parse_syn(benchmark::State& state) {
    wire::tcp_options options;
    options.mss = 1460;
    options.sack_permitted = true;
    options.timestamp = std::pair{0x01020304u, 0u};
    options.window_scale = 7;
    tcp_options_parse(state, options);
}

// Timestamps plus three SACK blocks: the fullest option block a data segment carries under loss.
void tcp_options_parse_sack(benchmark::State& state) {
    wire::tcp_options options = data_segment().options;
    options.sack = {{{seq32{0xfffff5a8}, seq32{0xfffffb50}},
                     {seq32{0x00000010}, seq32{0x000005b8}},
                     {seq32{0x00000b60}, seq32{0x00001108}}}};
    options.sack_count = 3;
    tcp_options_parse(state, options);
}

// What the receive path does per frame: Ethernet, IPv4, TCP (checksum verified), repr.
void receive_path_parse(benchmark::State& state) {
    const auto frame = data_frame();
    const wire::ipv4_view ip = expect(wire::ipv4_view::parse(expect(wire::ethernet_view::parse(frame)).payload()));
    expect(wire::tcp_view::parse(ip.payload(), ip.src(), ip.dst()));
    for (auto _ : state) {
        benchmark::DoNotOptimize(frame.data());
        auto eth = wire::ethernet_view::parse(frame);
        auto ip = wire::ipv4_view::parse(eth->payload());
        auto tcp = wire::tcp_view::parse(ip->payload(), ip->src(), ip->dst());
        wire::tcp_repr repr = wire::tcp_repr::from(*tcp);
        benchmark::DoNotOptimize(repr);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
}

// The TCP header and options in front of 1448 payload bytes already in place.
void tcp_emit(benchmark::State& state, wire::checksum_mode mode) {
    auto frame = data_frame();
    const wire::mut_bytes segment =
        wire::mut_bytes(frame).subspan(wire::ethernet_repr::header_len + wire::ipv4_repr::header_len);
    wire::tcp_repr repr = data_segment();
    for (auto _ : state) {
        benchmark::DoNotOptimize(repr);
        repr.emit(segment, ip_a, ip_b, mode);
        repr.seq += payload_len;
        benchmark::ClobberMemory();
    }
    if (mode == wire::checksum_mode::verify) {  // only then is every byte read
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * segment.size()));
    }
}

void tcp_repr_emit_verify(benchmark::State& state) { tcp_emit(state, wire::checksum_mode::verify); }
void tcp_repr_emit_skip_checksum(benchmark::State& state) { tcp_emit(state, wire::checksum_mode::skip); }

// Ethernet and IPv4 headers (with the IPv4 header checksum) in front of a segment.
void ethernet_ipv4_emit(benchmark::State& state) {
    auto frame = data_frame();
    const wire::ethernet_repr eth = ethernet_header();
    wire::ipv4_repr ip = ipv4_header(data_segment().header_len() + payload_len);
    const wire::mut_bytes ip_bytes = wire::mut_bytes(frame).subspan(wire::ethernet_repr::header_len);
    for (auto _ : state) {
        benchmark::DoNotOptimize(ip);
        eth.emit(frame);
        ip.emit(ip_bytes);
        ++ip.ident;
        benchmark::ClobberMemory();
    }
}

}  // namespace

BENCHMARK(ethernet_parse);
BENCHMARK(ipv4_parse);
BENCHMARK(tcp_parse_verify);
BENCHMARK(tcp_parse_skip_checksum);
BENCHMARK(tcp_options_parse_timestamp);
BENCHMARK(tcp_options_parse_syn);
BENCHMARK(tcp_options_parse_sack);
BENCHMARK(receive_path_parse);
BENCHMARK(tcp_repr_emit_verify);
BENCHMARK(tcp_repr_emit_skip_checksum);
BENCHMARK(ethernet_ipv4_emit);
