// A byte FIFO, allocated by the first byte stored in it and freed by
// release(): the TCP send and receive buffers. Out-of-order data can be placed
// in the free space past the tail (write_at) and made readable later (commit),
// so reassembly needs no other memory. Its capacity only changes on request
// (grow: buffer auto-tuning, resize: an empty ring).
#pragma once

#include <algorithm>
#include <coronet/tcp/buffer_cache.hpp>
#include <coronet/wire/bytes.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace coronet::tcp {

class byte_ring {
public:
    // A ring of capacity bytes (0 is allowed: every write then stores nothing;
    // at most max_capacity),
    // its storage taken from and given back to cache when there is one.
    explicit byte_ring(std::size_t capacity, std::shared_ptr<buffer_cache> cache = nullptr);
    ~byte_ring() { release(); }
    byte_ring(const byte_ring&) = delete;
    byte_ring& operator=(const byte_ring&) = delete;

    // The most a ring holds: 2 GiB, twice the largest window TCP can offer
    // (RFC 7323: 2^30); a larger capacity asked for is cut to it.
    static constexpr std::size_t max_capacity = std::size_t{1} << 31;

    // Bytes the ring can hold.
    std::size_t capacity() const noexcept { return cap_; }
    // Readable bytes.
    std::size_t size() const noexcept { return size_; }
    // Room left past the readable bytes.
    std::size_t free() const noexcept { return cap_ - size_; }
    bool empty() const noexcept { return size_ == 0; }

    // Appends up to free() bytes of data; returns how many it took.
    std::size_t write(wire::bytes data);
    // Copies data to [tail + offset, tail + offset + len) without making it
    // readable; precondition (asserted): offset + len <= free().
    void write_at(std::size_t offset, wire::bytes data);
    // Makes the n bytes after the tail readable; precondition (asserted): n <= free().
    void commit(std::size_t n);
    // Pops up to out.size() bytes into out; returns how many.
    std::size_t read(wire::mut_bytes out);
    // Copies readable bytes starting offset bytes past the head into out,
    // without consuming them; returns how many (0 when offset >= size()).
    std::size_t peek(std::size_t offset, wire::mut_bytes out) const;
    // The readable bytes from the head up to the end of the storage or of
    // the readable bytes, whichever comes first: where they lie, without a
    // copy (the rest, if the bytes wrap, follows at the storage's start).
    // Valid until the ring is next changed.
    wire::bytes front() const noexcept { return {buf_ + head_, std::min(size_, cap_ - head_)}; }
    // Drops n readable bytes from the front; precondition (asserted): n <= size().
    void consume(std::size_t n);
    // Forgets every byte, readable or placed.
    void clear() noexcept { head_ = size_ = 0; }
    // Forgets every byte and frees the storage (the capacity stays; the next
    // write allocates again).
    void release() noexcept;
    // Whether the storage is allocated (memory accounting, tests).
    bool allocated() const noexcept { return buf_ != nullptr; }
    // Changes the capacity (for buffer-size options), freeing the storage;
    // throws std::logic_error when the ring is not empty.
    void resize(std::size_t capacity);
    // Raises the capacity to `capacity` (no-op when not larger), keeping the
    // first `keep` bytes from the head (the readable bytes and those placed
    // past the tail, which stay at the same offsets; the rest is free space
    // and not copied): new storage, one copy of what is kept. A grown ring's
    // storage is freed, not cached: its size is one the next connection is
    // unlikely to ask for.
    void grow(std::size_t capacity, std::size_t keep = SIZE_MAX);
    // The capacity to grow to when `wanted` bytes are asked, at most `limit`:
    // whole 4 KiB pages, and whole huge pages (2 MiB) from 1 MiB on, which
    // grow() then allocates as such. On this project's VMs a 4 KiB page of
    // fresh storage costs a fault of ~5-20 us where it is first written, a
    // huge page ~0.2 ms for 512 times the room: a send buffer grown from 256
    // KiB to 1 MiB and filled took 2.7-3.4 ms in a fresh process, to 2 MiB
    // 0.35-0.58 ms, and the writer's fill holds the turn's output back.
    static std::size_t growth_capacity(std::size_t wanted, std::size_t limit) noexcept;

private:
    // pos < 2 * cap_, as every caller's head_ + offset is.
    std::size_t wrap(std::size_t pos) const noexcept { return pos >= cap_ ? pos - cap_ : pos; }
    void copy_in(std::size_t pos, wire::bytes data);
    void copy_out(std::size_t pos, wire::mut_bytes out) const noexcept;

    // Storage of n bytes: the cache's, or allocate_buffer_storage's.
    // free_storage() gives buf_ back the same way, which cache_ and cap_
    // tell: buf_ is a plain pointer rather than a
    // unique_ptr whose deleter would remember it (8 bytes a ring, two rings
    // a connection, a million idle connections).
    std::byte* allocate(std::size_t n) const;
    void free_storage() noexcept;

    std::byte* buf_ = nullptr;  // cap_ bytes from allocate(cap_), or none
    std::shared_ptr<buffer_cache> cache_;
    // 32 bits (a ring of 40 bytes, not 48: two a connection, a million idle
    // connections): the capacity is at most max_capacity, so head_ + size_
    // (< 2 * cap_) fits too.
    std::uint32_t cap_ = 0;
    std::uint32_t head_ = 0;  // index of the first readable byte
    std::uint32_t size_ = 0;  // readable bytes from head_
};

}  // namespace coronet::tcp
