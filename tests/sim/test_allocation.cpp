// Zero allocation on the data path (DESIGN.md "No allocation per packet"):
// once a connection is warm (buffers tuned, free lists primed), a bulk
// transfer and request/response transactions between two stacks on sim_link
// make no global allocation at all: not the stacks (tcb, connection,
// packets, devices, timers), not the coroutine frames of read and write
// (recycled by runtime/frame_allocator), not the simulated wire.
//
// The count: this file replaces the global operator new (every form) for the
// sim test binary with one that counts while a window is open. Under
// AddressSanitizer, which brings its own operator new, a malloc hook of the
// sanitizer's allocator counts instead (it sees malloc too).
// CORONET_ALLOC_TRACE=1 prints a backtrace of every allocation counted.
#include <execinfo.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <coronet/runtime/frame_allocator.hpp>
#include <cstdlib>
#include <new>

#include "sim_pair.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define CORONET_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORONET_TEST_ASAN 1
#endif
#endif
#ifdef CORONET_TEST_ASAN
#include <sanitizer/allocator_interface.h>
#endif

namespace coronet::test::allocation_count {

std::atomic<bool> counting{false};
std::atomic<std::uint64_t> allocations{0};
// Heap bytes in use, counting always: each block's usable size and malloc's
// 8-byte chunk header (glibc), as much as the block takes from the heap.
std::atomic<std::int64_t> live_bytes{0};
// Allocations by requested size (the last slot: larger) while counting.
constexpr std::size_t size_slots = 4097;
std::atomic<std::uint32_t> by_size[size_slots];
// Blocks in use by usable size (the last slot: larger), counting always.
std::atomic<std::int32_t> live_by_usable[size_slots];
void note_size(std::size_t n) noexcept {
    if (counting.load(std::memory_order_relaxed)) by_size[std::min(n, size_slots - 1)].fetch_add(1);
}
bool trace = false;
thread_local bool tracing = false;

void note() noexcept {
    if (!counting.load(std::memory_order_relaxed)) return;
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (!trace || tracing) return;
    tracing = true;  // backtrace() itself may allocate
    void* frames[32];
    const int n = backtrace(frames, 32);
    const char line[] = "-- allocation on the data path:\n";
    [[maybe_unused]] auto w = ::write(2, line, sizeof line - 1);
    backtrace_symbols_fd(frames, n, 2);
    tracing = false;
}

#ifdef CORONET_TEST_ASAN
void on_malloc(const volatile void*, std::size_t) { note(); }
void on_free(const volatile void*) {}
[[maybe_unused]] const int hooks_installed = __sanitizer_install_malloc_and_free_hooks(&on_malloc, &on_free);
#endif

}  // namespace coronet::test::allocation_count

#ifndef CORONET_TEST_ASAN
namespace coronet::test::allocation_count {
constexpr std::int64_t chunk_header = 8;
void* live(void* p) noexcept {
    if (p) live_by_usable[std::min(malloc_usable_size(p), size_slots - 1)].fetch_add(1, std::memory_order_relaxed);
    if (p)
        live_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)) + chunk_header,
                             std::memory_order_relaxed);
    return p;
}
void free_live(void* p) noexcept {
    if (p) live_by_usable[std::min(malloc_usable_size(p), size_slots - 1)].fetch_sub(1, std::memory_order_relaxed);
    if (p)
        live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)) + chunk_header,
                             std::memory_order_relaxed);
    std::free(p);
}
void* counted(std::size_t n) {
    note();
    note_size(n);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return live(p);
    throw std::bad_alloc();
}
void* counted(std::size_t n, std::align_val_t a) {
    note();
    note_size(n);
    const auto align = static_cast<std::size_t>(a);
    if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return live(p);
    throw std::bad_alloc();
}
}  // namespace coronet::test::allocation_count

namespace count = coronet::test::allocation_count;
// NOLINTBEGIN(misc-new-delete-overloads)
void* operator new(std::size_t n) { return count::counted(n); }
void* operator new[](std::size_t n) { return count::counted(n); }
void* operator new(std::size_t n, std::align_val_t a) { return count::counted(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return count::counted(n, a); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    count::note();
    return count::live(std::malloc(n == 0 ? 1 : n));
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    count::note();
    return count::live(std::malloc(n == 0 ? 1 : n));
}
void operator delete(void* p) noexcept { count::free_live(p); }
void operator delete[](void* p) noexcept { count::free_live(p); }
void operator delete(void* p, std::size_t) noexcept { count::free_live(p); }
void operator delete[](void* p, std::size_t) noexcept { count::free_live(p); }
void operator delete(void* p, std::align_val_t) noexcept { count::free_live(p); }
void operator delete[](void* p, std::align_val_t) noexcept { count::free_live(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { count::free_live(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { count::free_live(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { count::free_live(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { count::free_live(p); }
// NOLINTEND(misc-new-delete-overloads)
#endif

namespace coronet::test {

namespace zero_allocation_tests {

// Counts global allocations between open() and close() (on this thread
// and any other), and the frames the frame allocator served meanwhile.
struct window {
    std::uint64_t allocations = 0;
    runtime::frame_allocator_stats before{}, frames{};
    bool opened = false, closed = false;
    std::uint64_t retransmits = 0;  // by a, while the window was open (bulk)
    void open() {
        allocation_count::trace = std::getenv("CORONET_ALLOC_TRACE") != nullptr;
        before = runtime::frame_stats();
        allocation_count::allocations = 0;
        allocation_count::counting = true;
        opened = true;
    }
    void close() {
        allocation_count::counting = false;
        allocations = allocation_count::allocations;
        const auto after = runtime::frame_stats();
        frames.hits = after.hits - before.hits;
        frames.misses = after.misses - before.misses;
        closed = true;
    }
};

constexpr std::size_t mib = 1024 * 1024;

// a writes to b in 64 KiB writes, b reads in 64 KiB reads; the window is
// open while b receives the `measured` bytes after the first `warm_up`.
window count_bulk(sim_pair& p, std::size_t warm_up, std::size_t measured) {
    window w;
    listener l = listen_on_b(p);
    connection ca, cb;
    bool stop = false;
    auto client = [&]() -> task<void> {
        auto c = co_await connect(p.a.tcp, p.b_at(80));
        if (!c) co_return;
        ca = std::move(*c);
        const std::vector<std::byte> data = stream_bytes(64 * 1024);
        while (!stop)
            if (!co_await ca.write(data)) co_return;
    };
    auto server = [&]() -> task<void> {
        auto c = co_await l.accept();
        if (!c) co_return;
        cb = std::move(*c);
        std::vector<std::byte> buf(64 * 1024);
        std::size_t got = 0;
        while (got < warm_up + measured) {
            auto r = co_await cb.read(buf);
            if (!r || *r == 0) co_return;
            got += *r;
            if (!w.opened && got >= warm_up) {
                w.open();
                w.retransmits = ca.stats().retransmits;
            }
        }
        w.close();
        w.retransmits = ca.stats().retransmits - w.retransmits;
        stop = true;
    };
    p.sim.spawn(client());
    p.sim.spawn(server());
    p.sim.run_until([&] { return w.closed; }, p.sim.now() + 600s);
    if (w.opened && !w.closed) w.close();
    BOOST_TEST(w.closed, "the transfer did not get through " << (warm_up + measured) / mib << " MiB");
    ca.abort();
    cb.abort();
    p.sim.run_for(10ms);
    return w;
}

// a sends one byte, b answers with one byte, `warm_up` times and then
// `measured` times with the window open.
window count_rr(sim_pair& p, std::size_t warm_up, std::size_t measured) {
    window w;
    listener l = listen_on_b(p);
    connection ca, cb;
    std::size_t done = 0;
    auto client = [&]() -> task<void> {
        auto c = co_await connect(p.a.tcp, p.b_at(80));
        if (!c) co_return;
        ca = std::move(*c);
        std::byte b[1] = {std::byte{1}};
        for (; done < warm_up + measured; ++done) {
            if (done == warm_up) w.open();
            if (!co_await ca.write(b)) co_return;
            if (auto r = co_await ca.read(b); !r || *r != 1) co_return;
        }
        w.close();
    };
    auto server = [&]() -> task<void> {
        auto c = co_await l.accept();
        if (!c) co_return;
        cb = std::move(*c);
        std::byte b[1];
        for (;;) {
            if (auto r = co_await cb.read(b); !r || *r != 1) co_return;
            if (!co_await cb.write(b)) co_return;
        }
    };
    p.sim.spawn(client());
    p.sim.spawn(server());
    p.sim.run_until([&] { return w.closed; }, p.sim.now() + 600s);
    if (w.opened && !w.closed) w.close();
    BOOST_TEST(w.closed, "only " << done << " of " << warm_up + measured << " transactions completed");
    ca.abort();
    cb.abort();
    p.sim.run_for(10ms);
    return w;
}

}  // namespace zero_allocation_tests

BOOST_AUTO_TEST_SUITE(zero_allocation)

using namespace zero_allocation_tests;

// The counter itself, in this build (replaced operator new, or the ASan hook).
BOOST_AUTO_TEST_CASE(the_window_counts_an_allocation) {
    static void* volatile kept = nullptr;
    window w;
    w.open();
    kept = ::operator new(24);  // a call, not a new-expression: the compiler may not elide it
    w.close();
    ::operator delete(kept);
    BOOST_TEST(w.allocations == 1u);
}

// Each congestion controller, on a clean path and at 1 % loss: loss
// recovery is part of the steady state of a real path (SACK scoreboard,
// reassembly out of order, RACK and retransmission timers). With loss, a
// flight larger than any before, or more SACK holes at once than ever,
// takes new scoreboard nodes: the lossy warm-up (64 MiB) is long enough to
// have seen this seed's largest (BBR took 16 nodes more after 16 MiB once
// every segment out of order drew its own ACK; its out-of-order ranges
// grew after 48 MiB once the handshake's RTT no longer counted ARP's wait).
BOOST_AUTO_TEST_CASE(a_warm_bulk_transfer_allocates_nothing) {
    for (const char* cc : {"newreno", "cubic", "bbr"}) {
        BOOST_TEST_CONTEXT("congestion control " << cc) {
            sim_pair p(1, link::impairment{.delay = 1ms}, tcp::tcp_config{.congestion = cc});
            const window w = count_bulk(p, 16 * mib, 32 * mib);
            BOOST_TEST_MESSAGE(cc << ", bulk, 32 MiB: " << w.allocations << " allocations, " << w.frames.hits
                                  << " frames recycled");
            BOOST_TEST(w.allocations == 0u);
            BOOST_TEST(w.frames.hits > 0u);  // read and write frames were recycled
            BOOST_TEST(w.frames.misses == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_warm_bulk_transfer_recovering_from_loss_allocates_nothing) {
    for (const char* cc : {"newreno", "cubic", "bbr"}) {
        BOOST_TEST_CONTEXT("congestion control " << cc) {
            sim_pair p(1, link::impairment{.loss = 0.01, .delay = 1ms}, tcp::tcp_config{.congestion = cc});
            const window w = count_bulk(p, 64 * mib, 16 * mib);
            BOOST_TEST_MESSAGE(cc << ", bulk with 1 % loss, 16 MiB: " << w.allocations << " allocations, "
                                  << w.frames.hits << " frames recycled, " << w.retransmits << " retransmissions");
            BOOST_TEST(w.allocations == 0u);
            BOOST_TEST(w.retransmits > 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(warm_request_response_transactions_allocate_nothing) {
    sim_pair p(1, link::impairment{.delay = 1ms});
    const window w = count_rr(p, 200, 2000);
    BOOST_TEST_MESSAGE("rr, 2000 transactions: " << w.allocations << " allocations, " << w.frames.hits
                                                 << " frames recycled");
    BOOST_TEST(w.allocations == 0u);
    BOOST_TEST(w.frames.hits >= 4 * 2000u);  // a read and a write frame per transaction on each side
    BOOST_TEST(w.frames.misses == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace coronet::test
