#include <sys/mman.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <coronet/tcp/byte_ring.hpp>
#include <cstdint>
#include <deque>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using coronet::tcp::buffer_cache;
using coronet::tcp::byte_ring;
using coronet::wire::to_bytes;

namespace {

// Reads up to n bytes from the ring as a string.
std::string read_string(byte_ring& ring, std::size_t n) {
    std::string out(n, '\0');
    const std::size_t got = ring.read(std::as_writable_bytes(std::span{out}));
    out.resize(got);
    return out;
}

// Peeks up to n bytes at offset as a string.
std::string peek_string(const byte_ring& ring, std::size_t offset, std::size_t n) {
    std::string out(n, '\0');
    const std::size_t got = ring.peek(offset, std::as_writable_bytes(std::span{out}));
    out.resize(got);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_byte_ring)

BOOST_AUTO_TEST_CASE(new_ring_is_empty_with_all_space_free) {
    byte_ring ring(7);
    BOOST_TEST(ring.capacity() == 7u);
    BOOST_TEST(ring.size() == 0u);
    BOOST_TEST(ring.free() == 7u);
    BOOST_TEST(ring.empty());
    BOOST_TEST(read_string(ring, 4) == "");
}

BOOST_AUTO_TEST_CASE(write_returns_partial_count_when_full) {
    byte_ring ring(5);
    BOOST_TEST(ring.write(to_bytes("abc")) == 3u);
    BOOST_TEST(ring.write(to_bytes("defg")) == 2u);
    BOOST_TEST(ring.free() == 0u);
    BOOST_TEST(ring.write(to_bytes("x")) == 0u);
    BOOST_TEST(read_string(ring, 10) == "abcde");
    BOOST_TEST(ring.empty());
}

BOOST_AUTO_TEST_CASE(reads_and_writes_wrap_around_with_odd_sizes) {
    byte_ring ring(7);
    std::string expected;
    std::string got;
    int counter = 0;
    // Writes of 3 and reads of 2 walk the head and tail round the 7-byte ring many times.
    for (int round = 0; round < 50; ++round) {
        std::string chunk;
        for (int i = 0; i < 3; ++i) chunk += static_cast<char>('a' + counter++ % 26);
        const std::size_t n = ring.write(to_bytes(chunk));
        expected += chunk.substr(0, n);
        got += read_string(ring, 2);
        BOOST_TEST(ring.size() + ring.free() == ring.capacity());
    }
    got += read_string(ring, 100);
    BOOST_TEST(got == expected);
}

BOOST_AUTO_TEST_CASE(write_at_and_commit_fill_holes_out_of_order) {
    byte_ring ring(10);
    BOOST_TEST(ring.write(to_bytes("0123456")) == 7u);
    BOOST_TEST(read_string(ring, 6) == "012345");  // head is now at 6: later data wraps
    // Bytes 1..2 and 4..6 past the tail arrive before 0 and 3.
    ring.write_at(4, to_bytes("EFG"));
    ring.write_at(1, to_bytes("BC"));
    BOOST_TEST(ring.size() == 1u);  // placed bytes are not readable
    ring.write_at(3, to_bytes("D"));
    ring.write_at(0, to_bytes("A"));
    ring.commit(7);
    BOOST_TEST(ring.size() == 8u);
    BOOST_TEST(read_string(ring, 100) == "6ABCDEFG");
}

BOOST_AUTO_TEST_CASE(placed_bytes_survive_the_readable_bytes_being_drained) {
    byte_ring ring(8);
    ring.write(to_bytes("abc"));
    ring.write_at(2, to_bytes("xy"));  // a hole of 2 bytes after "abc"
    BOOST_TEST(read_string(ring, 3) == "abc");
    BOOST_TEST(ring.empty());
    BOOST_TEST(ring.write(to_bytes("de")) == 2u);  // the hole is filled in order
    ring.commit(2);
    BOOST_TEST(read_string(ring, 10) == "dexy");
}

BOOST_AUTO_TEST_CASE(peek_reads_across_the_wrap_without_consuming) {
    byte_ring ring(6);
    ring.write(to_bytes("....."));
    ring.consume(4);
    ring.write(to_bytes("abcde"));  // ".abcde": the head is at index 4, so "bcde" wraps
    BOOST_TEST(ring.size() == 6u);
    BOOST_TEST(peek_string(ring, 0, 6) == ".abcde");
    BOOST_TEST(peek_string(ring, 2, 3) == "bcd");
    BOOST_TEST(peek_string(ring, 4, 10) == "de");
    BOOST_TEST(peek_string(ring, 6, 1) == "");
    BOOST_TEST(peek_string(ring, 100, 1) == "");
    BOOST_TEST(ring.size() == 6u);
}

// front() lends the readable bytes in place up to the storage's end; after
// consuming them the rest follows from the start.
BOOST_AUTO_TEST_CASE(front_lends_the_first_piece_in_place) {
    byte_ring empty(8);
    BOOST_TEST(empty.front().empty());
    byte_ring ring(6);
    ring.write(to_bytes("....."));
    ring.consume(4);
    ring.write(to_bytes("abcde"));  // ".abcde" from index 4: ".a" at the end, "bcde" at the start
    auto as_string = [](coronet::wire::bytes b) {
        return std::string(reinterpret_cast<const char*>(b.data()), b.size());
    };
    BOOST_TEST(as_string(ring.front()) == ".a");
    ring.consume(ring.front().size());
    BOOST_TEST(as_string(ring.front()) == "bcde");
    ring.consume(1);
    BOOST_TEST(as_string(ring.front()) == "cde");
    ring.consume(3);
    BOOST_TEST(ring.front().empty());
}

BOOST_AUTO_TEST_CASE(consume_drops_from_the_front) {
    byte_ring ring(4);
    ring.write(to_bytes("wxyz"));
    ring.consume(3);
    BOOST_TEST(ring.size() == 1u);
    ring.write(to_bytes("123"));
    ring.consume(0);
    BOOST_TEST(read_string(ring, 10) == "z123");
}

BOOST_AUTO_TEST_CASE(clear_and_resize) {
    byte_ring ring(4);
    ring.write(to_bytes("abc"));
    BOOST_CHECK_THROW(ring.resize(16), std::logic_error);
    ring.clear();
    BOOST_TEST(ring.empty());
    ring.resize(16);
    BOOST_TEST(ring.capacity() == 16u);
    BOOST_TEST(ring.write(to_bytes("0123456789abcdefXYZ")) == 16u);
    BOOST_TEST(read_string(ring, 100) == "0123456789abcdef");
}

BOOST_AUTO_TEST_CASE(grow_keeps_readable_bytes_that_wrap) {
    byte_ring ring(8);
    ring.write(to_bytes("......"));
    ring.consume(5);
    BOOST_TEST(ring.write(to_bytes("abcdefg")) == 7u);  // ".abcdefg" from index 5: "cdefg" wraps to the front
    ring.grow(16);
    BOOST_TEST(ring.capacity() == 16u);
    BOOST_TEST(ring.size() == 8u);
    BOOST_TEST(ring.free() == 8u);
    BOOST_TEST(ring.write(to_bytes("0123456789")) == 8u);
    BOOST_TEST(read_string(ring, 100) == ".abcdefg01234567");
}

BOOST_AUTO_TEST_CASE(grow_keeps_bytes_placed_past_the_tail_at_their_offsets) {
    byte_ring ring(10);
    ring.write(to_bytes("0123456"));
    BOOST_TEST(read_string(ring, 6) == "012345");  // head at 6, tail at 7: placed bytes wrap
    ring.write_at(1, to_bytes("BC"));
    ring.write_at(4, to_bytes("EFGHI"));  // offsets 4..8 lie at indexes 1..5 after the wrap
    ring.grow(24);
    BOOST_TEST(ring.size() == 1u);
    ring.write_at(0, to_bytes("A"));
    ring.write_at(3, to_bytes("D"));
    ring.write_at(9, to_bytes("JKLMNOPQRSTUVW"));  // past the old capacity's free space
    ring.commit(23);
    BOOST_TEST(ring.free() == 0u);
    BOOST_TEST(read_string(ring, 100) == "6ABCDEFGHIJKLMNOPQRSTUVW");
}

BOOST_AUTO_TEST_CASE(grow_keeps_what_it_is_told_to_and_never_less_than_the_readable_bytes) {
    byte_ring ring(10);
    ring.write(to_bytes("0123456"));
    BOOST_TEST(read_string(ring, 6) == "012345");  // head at 6: "6" readable
    ring.write_at(1, to_bytes("BC"));              // placed up to offset 3 past the tail: keep 1 + 3
    ring.write_at(6, to_bytes("zz"));              // beyond what the caller says holds data: not kept
    ring.grow(24, 4);
    ring.write_at(0, to_bytes("A"));
    ring.write_at(3, to_bytes("D"));
    ring.commit(4);
    BOOST_TEST(read_string(ring, 100) == "6ABCD");

    byte_ring small(8);
    small.write(to_bytes("abcdef"));
    small.grow(32, 2);  // less than the 6 readable bytes: the readable bytes are kept all the same
    BOOST_TEST(read_string(small, 100) == "abcdef");
}

BOOST_AUTO_TEST_CASE(grow_into_huge_page_storage_keeps_the_bytes_and_frees_it_rightly) {
    auto cache = std::make_shared<buffer_cache>(1 << 20);
    byte_ring ring(64 * 1024, cache);
    std::vector<std::byte> data(3 << 20);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7 % 251);
    BOOST_TEST(ring.write(std::span(data).first(40 * 1024)) == 40u * 1024);
    std::vector<std::byte> out(data.size());
    BOOST_TEST(ring.read(std::span(out).first(30 * 1024)) == 30u * 1024);
    BOOST_TEST(ring.write(std::span(data).subspan(40 * 1024, 50 * 1024)) == 50u * 1024);  // wraps
    ring.grow(4 << 20, ring.size());           // aligned huge-page storage (ASan checks the matching delete)
    BOOST_TEST(cache->bytes() == 64u * 1024);  // the standard-sized storage went back
    BOOST_TEST(ring.write(std::span(data).subspan(90 * 1024)) == data.size() - 90 * 1024);
    ring.grow(6 << 20);  // from huge-page storage to more of it
    const std::size_t n = ring.read(std::span(out).subspan(30 * 1024));
    BOOST_TEST(n == data.size() - 30 * 1024);
    BOOST_TEST((out == data));
}

BOOST_AUTO_TEST_CASE(growth_takes_whole_pages_and_whole_huge_pages_from_one_mebibyte) {
    constexpr std::size_t kib = 1024, mib = 1024 * kib, limit = 6 * mib;
    BOOST_TEST(byte_ring::growth_capacity(300 * kib + 1, limit) == 300 * kib + 4 * kib);  // 4 KiB pages
    BOOST_TEST(byte_ring::growth_capacity(mib - 1, limit) == mib);
    // From 1 MiB on, whole huge pages: 2 MiB for what would be 1 MiB of 4 KiB pages
    BOOST_TEST(byte_ring::growth_capacity(mib, limit) == 2 * mib);
    BOOST_TEST(byte_ring::growth_capacity(mib + 32 * kib, limit) == 2 * mib);
    BOOST_TEST(byte_ring::growth_capacity(2 * mib + 1, limit) == 4 * mib);
    // never past the limit, whatever the rounding
    BOOST_TEST(byte_ring::growth_capacity(mib + 1, mib + 512 * kib) == mib + 512 * kib);
    BOOST_TEST(byte_ring::growth_capacity(9 * mib, limit) == limit);
    // A ring grown to it keeps its bytes in huge-page storage (ASan checks the matching delete).
    byte_ring ring(256 * kib);
    std::vector<std::byte> data(200 * kib);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i % 253);
    BOOST_TEST(ring.write(data) == data.size());
    ring.grow(byte_ring::growth_capacity(mib, limit), ring.size());
    BOOST_TEST(ring.capacity() == 2 * mib);
    std::vector<std::byte> out(data.size());
    BOOST_TEST(ring.read(out) == data.size());
    BOOST_TEST((out == data));
}

// Grown storage is a mapping of its own, 2 MiB-aligned from 2 MiB on, and
// release() unmaps it: the memory goes back to the system at once, where
// malloc's heap kept it (mincore fails with ENOMEM on an unmapped range).
BOOST_AUTO_TEST_CASE(grown_storage_goes_back_to_the_system_when_released) {
    constexpr std::size_t kib = 1024, mib = 1024 * kib;
    int error = 0;  // mincore's errno, taken at once
    auto mapped = [&error](const std::byte* p, std::size_t len) {
        std::vector<unsigned char> pages((len + 4095) / 4096);
        const bool ok = ::mincore(const_cast<std::byte*>(p), len, pages.data()) == 0;
        error = ok ? 0 : errno;
        return ok;
    };
    for (const std::size_t to : {512 * kib, 4 * mib}) {
        BOOST_TEST_CONTEXT("grown to " << to) {
            byte_ring ring(256 * kib);
            const std::vector<std::byte> data(1000, std::byte{7});
            BOOST_TEST(ring.write(data) == data.size());
            ring.grow(to, ring.size());
            const std::byte* storage = ring.front().data();
            if (to >= 2 * mib) BOOST_TEST(reinterpret_cast<std::uintptr_t>(storage) % (2 * mib) == 0u);
            BOOST_TEST(mapped(storage, to));
            ring.release();
            BOOST_TEST(!mapped(storage, to));
            BOOST_TEST(error == ENOMEM);
        }
    }
}

BOOST_AUTO_TEST_CASE(grow_of_unallocated_ring_only_moves_the_capacity) {
    byte_ring ring(4);
    ring.grow(2);  // never shrinks
    BOOST_TEST(ring.capacity() == 4u);
    ring.grow(9);
    BOOST_TEST(ring.capacity() == 9u);
    BOOST_TEST(!ring.allocated());
    BOOST_TEST(ring.write(to_bytes("abcdefghijk")) == 9u);
    BOOST_TEST(read_string(ring, 100) == "abcdefghi");
}

BOOST_AUTO_TEST_CASE(grown_storage_is_not_cached_but_the_old_one_is) {
    auto cache = std::make_shared<buffer_cache>(1 << 20);
    {
        byte_ring ring(64, cache);
        ring.write(to_bytes("abc"));
        ring.grow(100);
        BOOST_TEST(cache->bytes() == 64u);  // the standard-sized storage, for the next connection
        BOOST_TEST(read_string(ring, 10) == "abc");
    }
    BOOST_TEST(cache->bytes() == 64u);  // the 100-byte one was freed
}

BOOST_AUTO_TEST_CASE(zero_capacity_ring_stores_nothing) {
    byte_ring ring(0);
    BOOST_TEST(ring.write(to_bytes("abc")) == 0u);
    BOOST_TEST(ring.free() == 0u);
    BOOST_TEST(read_string(ring, 3) == "");
    ring.consume(0);
    ring.commit(0);
}

// A byte_ring driven by random operations next to a model of it: a deque of
// the readable bytes and a deque of the bytes placed past the tail but not
// yet committed. Each operation checks the ring against the model.
namespace {

struct ring_vs_model {
    std::size_t cap = 97;  // grows now and then, up to a few hundred
    std::mt19937 rng{20240607};
    byte_ring ring{cap};
    std::deque<std::uint8_t> readable, placed;
    std::vector<std::byte> buf = std::vector<std::byte>(200);

    std::size_t pick(std::size_t max) { return std::uniform_int_distribution<std::size_t>(0, max)(rng); }
    std::span<const std::byte> random_bytes(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) buf[i] = std::byte(static_cast<std::uint8_t>(rng()));
        return std::span{buf}.first(n);
    }
    static void move_front(std::deque<std::uint8_t>& from, std::deque<std::uint8_t>* to, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            if (to) to->push_back(from.front());
            from.pop_front();
        }
    }

    // write lands on the tail, over the first placed bytes.
    void write() {
        const auto data = random_bytes(pick(60));
        const std::size_t n = ring.write(data);
        BOOST_REQUIRE_EQUAL(n, std::min(data.size(), cap - readable.size()));
        for (std::size_t i = 0; i < n; ++i) readable.push_back(std::to_integer<std::uint8_t>(data[i]));
        move_front(placed, nullptr, std::min(n, placed.size()));
    }
    // Places more bytes after those already placed, the back half first.
    void place() {
        const std::size_t at = placed.size();
        const std::size_t len = pick(std::min<std::size_t>(ring.free() - at, 60));
        const std::size_t split = pick(len);
        const auto data = random_bytes(len);
        ring.write_at(at + split, data.subspan(split));
        ring.write_at(at, data.first(split));
        for (auto b : data) placed.push_back(std::to_integer<std::uint8_t>(b));
    }
    void commit() {
        const std::size_t n = pick(placed.size());
        ring.commit(n);
        move_front(placed, &readable, n);
    }
    void read() {
        std::vector<std::byte> out(pick(60));
        const std::size_t n = ring.read(out);
        BOOST_REQUIRE_EQUAL(n, std::min(out.size(), readable.size()));
        for (std::size_t i = 0; i < n; ++i) BOOST_REQUIRE_EQUAL(std::to_integer<int>(out[i]), int{readable[i]});
        move_front(readable, nullptr, n);
    }
    void peek() {
        const std::size_t offset = pick(100);
        std::vector<std::byte> out(pick(60));
        const std::size_t n = ring.peek(offset, out);
        BOOST_REQUIRE_EQUAL(n, offset >= readable.size() ? 0 : std::min(out.size(), readable.size() - offset));
        for (std::size_t i = 0; i < n; ++i)
            BOOST_REQUIRE_EQUAL(std::to_integer<int>(out[i]), int{readable[offset + i]});
    }
    void consume() {
        const std::size_t n = pick(readable.size());
        ring.consume(n);
        move_front(readable, nullptr, n);
    }
    // Growing keeps both readable and placed bytes where the model has them.
    void maybe_grow() {
        if (pick(100) != 0 || cap > 400) return;
        cap += 1 + pick(40);
        ring.grow(cap);
    }
    void maybe_clear() {
        if (pick(50) != 0) return;
        ring.clear();
        readable.clear();
        placed.clear();
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(random_operations_match_a_deque_model) {
    ring_vs_model t;
    for (int op = 0; op < 100'000; ++op) {
        switch (t.pick(7)) {
            case 0:
                t.write();
                break;
            case 1:
                t.place();
                break;
            case 2:
                t.commit();
                break;
            case 3:
                t.read();
                break;
            case 4:
                t.peek();
                break;
            case 5:
                t.consume();
                break;
            case 6:
                t.maybe_grow();
                break;
            default:
                t.maybe_clear();
        }
        BOOST_REQUIRE_EQUAL(t.ring.size(), t.readable.size());
        BOOST_REQUIRE_EQUAL(t.ring.free(), t.cap - t.readable.size());
    }
}

BOOST_AUTO_TEST_CASE(storage_is_allocated_by_the_first_byte_and_freed_by_release) {
    coronet::tcp::byte_ring ring(4096);
    BOOST_TEST(!ring.allocated());
    std::array<std::byte, 10> out{};
    BOOST_TEST(ring.read(out) == 0u);
    BOOST_TEST(!ring.allocated());
    const std::array<std::byte, 3> in{std::byte{1}, std::byte{2}, std::byte{3}};
    BOOST_TEST(ring.write(in) == 3u);
    BOOST_TEST(ring.allocated());
    ring.release();
    BOOST_TEST(!ring.allocated());
    BOOST_TEST(ring.size() == 0u);
    BOOST_TEST(ring.capacity() == 4096u);
    ring.write_at(5, in);  // placing out of order allocates too
    BOOST_TEST(ring.allocated());
    ring.commit(8);
    BOOST_TEST(ring.read(out) == 8u);
    BOOST_TEST((out[5] == std::byte{1} && out[7] == std::byte{3}));
}

BOOST_AUTO_TEST_CASE(released_storage_is_kept_in_the_cache_for_the_next_ring) {
    auto cache = std::make_shared<coronet::tcp::buffer_cache>(3 * 4096);
    const std::array<std::byte, 3> in{std::byte{1}, std::byte{2}, std::byte{3}};
    std::array<std::byte, 3> out{};
    {
        coronet::tcp::byte_ring ring(4096, cache);
        ring.write(in);
        BOOST_TEST(cache->bytes() == 0u);
        ring.release();  // TIME_WAIT: storage back to the cache
        BOOST_TEST(cache->bytes() == 4096u);
        ring.write(in);  // and taken again
        BOOST_TEST(cache->hits() == 1u);
        ring.read(out);
        BOOST_TEST((out == in));
    }  // destroyed: given back too
    BOOST_TEST(cache->bytes() == 4096u);
    std::byte* const taken = cache->take(4096);
    BOOST_TEST(taken != nullptr);
    coronet::tcp::free_buffer_storage(taken, 4096);
    BOOST_TEST(cache->bytes() == 0u);

    // Other sizes are not handed out for this one, and the cache keeps at most its bound.
    coronet::tcp::byte_ring a(4096, cache), b(8192, cache), c(4096, cache);
    for (auto* r : {&a, &b, &c}) r->write(in);
    a.release();
    b.release();
    c.release();  // 4096 + 8192 held; 4096 more would exceed 12288
    BOOST_TEST(cache->bytes() == 3 * 4096u);
    const auto hits = cache->hits();
    coronet::tcp::byte_ring d(16384, cache);
    d.write(in);
    BOOST_TEST(cache->hits() == hits);  // nothing of that size: freshly allocated
}

BOOST_AUTO_TEST_SUITE_END()
