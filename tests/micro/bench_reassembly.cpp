// TCP reassembly: the out-of-order range set and the byte ring that holds the
// data, fed 1460-byte segments. A window of `range(0)` segments whose first is
// lost arrives either in order behind the hole or shuffled; then the hole is
// filled and the contiguous run drained. Sequence numbers start near the 2^32
// wrap and keep advancing, so the wrap is crossed while measuring.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <coronet/tcp/byte_ring.hpp>
#include <coronet/tcp/interval_set.hpp>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace tcp = coronet::tcp;
namespace wire = coronet::wire;
using wire::seq32;

namespace {

constexpr std::uint32_t mss = 1460;
constexpr std::size_t ring_capacity = 256 * 1024;

// The order segments 1..n-1 of a window arrive in, segment 0 being the lost one.
std::vector<std::uint32_t> arrival_order(std::size_t n, bool shuffled) {
    std::vector<std::uint32_t> order(n - 1);
    std::iota(order.begin(), order.end(), 1u);
    if (shuffled) std::shuffle(order.begin(), order.end(), std::mt19937(2018));
    return order;
}

// Segments 1..n-1 added in `order`, then the hole filled: take_contiguous drains the window.
void interval_set_window(benchmark::State& state, bool shuffled) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto order = arrival_order(n, shuffled);
    tcp::interval_set ooo;
    seq32 rcv_nxt{0xffff0000};
    for (auto _ : state) {
        for (std::uint32_t i : order) {
            const seq32 left = rcv_nxt + i * mss;
            benchmark::DoNotOptimize(ooo.add(left, left + mss));
        }
        rcv_nxt += mss;  // segment 0 arrives in order
        const std::uint32_t drained = ooo.take_contiguous(rcv_nxt);
        if (drained != (n - 1) * mss) {
            state.SkipWithError("interval_set did not drain the whole window");
            break;
        }
        rcv_nxt += drained;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void interval_set_single_hole(benchmark::State& state) { interval_set_window(state, false); }
void interval_set_shuffled(benchmark::State& state) { interval_set_window(state, true); }

// The four SACK blocks an ACK carries, from a set holding range(0) ranges.
void interval_set_sack_blocks(benchmark::State& state) {
    tcp::interval_set ooo;
    const seq32 rcv_nxt{0xffff0000};
    for (std::uint32_t i = 0; i < static_cast<std::uint32_t>(state.range(0)); ++i) {
        const seq32 left = rcv_nxt + (2 * i + 1) * mss;  // every other segment: no merging
        ooo.add(left, left + mss);
    }
    std::array<tcp::seq_range, 4> blocks{};
    for (auto _ : state) {
        benchmark::DoNotOptimize(ooo.sack_blocks(blocks));
        benchmark::ClobberMemory();
    }
}

// Receive path, in order: a segment written at the tail, the application reads it.
void byte_ring_write_read(benchmark::State& state) {
    const std::vector<std::byte> segment(mss, std::byte{0x5a});
    std::vector<std::byte> app(mss);
    tcp::byte_ring ring(ring_capacity);
    for (auto _ : state) {
        benchmark::DoNotOptimize(ring.write(segment));
        benchmark::DoNotOptimize(ring.read(app));
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * mss));
}

// Send path with 64 KiB in flight: the application writes a segment, the
// segment after the flight is peeked to transmit, the oldest one is ACKed.
void byte_ring_write_peek_consume(benchmark::State& state) {
    const std::vector<std::byte> segment(mss, std::byte{0x5a});
    std::vector<std::byte> wire_out(mss);
    tcp::byte_ring ring(ring_capacity);
    constexpr std::size_t in_flight = 44 * mss;
    while (ring.size() < in_flight) ring.write(segment);
    for (auto _ : state) {
        benchmark::DoNotOptimize(ring.write(segment));
        benchmark::DoNotOptimize(ring.peek(in_flight, wire_out));
        ring.consume(mss);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * mss));
}

// Receive reassembly as the TCP core does it: each out-of-order segment placed
// past the tail (write_at) and its range recorded; when the hole is filled the
// contiguous run is committed and the application reads the window.
void reassemble_window(benchmark::State& state, bool shuffled) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto order = arrival_order(n, shuffled);
    const std::vector<std::byte> segment(mss, std::byte{0x5a});
    std::vector<std::byte> app(n * mss);
    tcp::byte_ring ring(ring_capacity);
    tcp::interval_set ooo;
    seq32 rcv_nxt{0xffff0000};
    for (auto _ : state) {
        for (std::uint32_t i : order) {
            const seq32 left = rcv_nxt + i * mss;
            ring.write_at(std::size_t{i} * mss, segment);
            benchmark::DoNotOptimize(ooo.add(left, left + mss));
        }
        ring.write(segment);  // segment 0 arrives in order
        rcv_nxt += mss;
        const std::uint32_t drained = ooo.take_contiguous(rcv_nxt);
        ring.commit(drained);
        rcv_nxt += drained;
        if (ring.read(app) != n * mss) {
            state.SkipWithError("byte_ring did not hold the whole window");
            break;
        }
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * mss));
}

void reassemble_single_hole(benchmark::State& state) { reassemble_window(state, false); }
void reassemble_shuffled(benchmark::State& state) { reassemble_window(state, true); }

}  // namespace

// 8 segments: a small window; 44: 64 KiB.
BENCHMARK(interval_set_single_hole)->Arg(8)->Arg(44);
BENCHMARK(interval_set_shuffled)->Arg(8)->Arg(44);
BENCHMARK(interval_set_sack_blocks)->Arg(4)->Arg(32);
BENCHMARK(byte_ring_write_read);
BENCHMARK(byte_ring_write_peek_consume);
BENCHMARK(reassemble_single_hole)->Arg(8)->Arg(44);
BENCHMARK(reassemble_shuffled)->Arg(8)->Arg(44);
