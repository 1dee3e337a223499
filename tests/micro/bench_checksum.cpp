// The RFC 1071 Internet checksum over buffers from a small header to a
// 64 KiB GSO-sized segment, at an aligned and an odd start, in bytes/s.
#include <benchmark/benchmark.h>

#include <coronet/wire/checksum.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wire = coronet::wire;

namespace {

// Deterministic, non-trivial bytes: a sum of zeros would flatter nothing, but
// all-same data could hide a carry bug in a benchmark someone reads as a test.
std::vector<std::byte> pattern(std::size_t n) {
    std::vector<std::byte> out(n);
    std::uint32_t x = 0x9e3779b9;
    for (auto& b : out) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<std::byte>(x >> 24);
    }
    return out;
}

// state.range(0) bytes starting `offset` bytes into the buffer.
void checksum_at(benchmark::State& state, std::size_t offset) {
    const auto len = static_cast<std::size_t>(state.range(0));
    const auto buffer = pattern(len + offset);
    const wire::bytes data = wire::bytes(buffer).subspan(offset, len);
    for (auto _ : state) {
        benchmark::DoNotOptimize(data.data());
        std::uint16_t sum = wire::internet_checksum(data);
        benchmark::DoNotOptimize(sum);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void internet_checksum(benchmark::State& state) { checksum_at(state, 0); }
void internet_checksum_odd_start(benchmark::State& state) { checksum_at(state, 1); }

// A TCP segment as the stack checks it: pseudo header, then the segment.
void checksum_acc_pseudo_header_and_segment(benchmark::State& state) {
    const auto len = static_cast<std::size_t>(state.range(0));
    const auto segment = pattern(len);
    const wire::address_v4 src{0x0a000001}, dst{0x0a000002};
    for (auto _ : state) {
        benchmark::DoNotOptimize(segment.data());
        wire::checksum_acc acc;
        wire::add_pseudo_header(acc, src, dst, 6, static_cast<std::uint16_t>(len));
        acc.add(segment);
        std::uint16_t sum = acc.fold();
        benchmark::DoNotOptimize(sum);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void checksum_update(benchmark::State& state) {
    std::uint16_t sum = 0x1c46, field = 0x4000;
    for (auto _ : state) {
        benchmark::DoNotOptimize(field);
        sum = wire::checksum_update(sum, field, static_cast<std::uint16_t>(field + 1));
        benchmark::DoNotOptimize(sum);
    }
}

}  // namespace

BENCHMARK(internet_checksum)->Arg(64)->Arg(1460)->Arg(9000)->Arg(65536);
BENCHMARK(internet_checksum_odd_start)->Arg(64)->Arg(1460)->Arg(9000)->Arg(65536);
BENCHMARK(checksum_acc_pseudo_header_and_segment)->Arg(1480);
BENCHMARK(checksum_update);
