// byte_ring: head_ and size_ describe the readable bytes; everything after
// them, up to the capacity, is free space that write_at may fill early.
#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <coronet/tcp/byte_ring.hpp>
#include <cstring>
#include <stdexcept>

namespace coronet::tcp {

// Huge pages (transparent ones are "madvise" on Debian's kernels) for
// storage of 2 MiB and more: each 4 KiB page of fresh storage costs a fault
// where it is first written, and on this VM a fault is dear (a 4 MiB copy
// into fresh storage took 15-20 ms in 4 KiB pages and 0.5 ms in huge pages;
// a sender growing to 4 MiB spent 6 ms in one ACK's handling).
constexpr std::size_t huge_page = std::size_t{2} << 20;

// Storage for n bytes: the cache's (standard-sized rings), or new; whole
// huge pages from 2 MiB on (growth_capacity sizes grown rings in whole huge
// pages from 1 MiB asked).
std::byte* byte_ring::allocate(std::size_t n) const {
    if (cache_) return cache_->take(n).release();
    return allocate_uncached(n);
}

std::byte* byte_ring::allocate_uncached(std::size_t n) {
    if (n < huge_page) return new std::byte[n];
    auto* p = new (std::align_val_t{huge_page}) std::byte[n];
    const std::size_t whole = n / huge_page * huge_page;
    ::madvise(p, whole, MADV_HUGEPAGE);  // advice: without it, 4 KiB pages
    return p;
}

// buf_ back as allocate(cap_) made it.
void byte_ring::free_storage() noexcept {
    if (!buf_) return;
    if (cache_)
        cache_->give(std::unique_ptr<std::byte[]>(buf_), cap_);
    else if (cap_ >= huge_page)
        ::operator delete[](buf_, std::align_val_t{huge_page});
    else
        delete[] buf_;
    buf_ = nullptr;
}

namespace {
std::uint32_t capacity_of(std::size_t asked) noexcept {
    return static_cast<std::uint32_t>(std::min(asked, byte_ring::max_capacity));
}
}  // namespace

byte_ring::byte_ring(std::size_t capacity, std::shared_ptr<buffer_cache> cache)
    : cache_(std::move(cache)), cap_(capacity_of(capacity)) {}

// Copies data into the ring starting at physical position pos, in at most two
// pieces; the storage is allocated by the first byte that needs it.
void byte_ring::copy_in(std::size_t pos, wire::bytes data) {
    if (data.empty()) return;
    if (!buf_) buf_ = allocate(cap_);
    pos = wrap(pos);
    const std::size_t first = std::min(data.size(), cap_ - pos);
    std::memcpy(buf_ + pos, data.data(), first);
    if (first < data.size()) std::memcpy(buf_, data.data() + first, data.size() - first);
}

// Copies out.size() bytes from physical position pos, in at most two pieces.
void byte_ring::copy_out(std::size_t pos, wire::mut_bytes out) const noexcept {
    if (out.empty()) return;
    pos = wrap(pos);
    const std::size_t first = std::min(out.size(), cap_ - pos);
    std::memcpy(out.data(), buf_ + pos, first);
    if (first < out.size()) std::memcpy(out.data() + first, buf_, out.size() - first);
}

std::size_t byte_ring::write(wire::bytes data) {
    const std::size_t n = std::min(data.size(), free());
    copy_in(head_ + size_, data.first(n));
    size_ += static_cast<std::uint32_t>(n);
    return n;
}

void byte_ring::write_at(std::size_t offset, wire::bytes data) {
    assert(offset <= free() && data.size() <= free() - offset);
    copy_in(head_ + size_ + offset, data);
}

void byte_ring::commit(std::size_t n) {
    assert(n <= free());
    size_ += static_cast<std::uint32_t>(n);
}

std::size_t byte_ring::read(wire::mut_bytes out) {
    const std::size_t n = peek(0, out);
    consume(n);
    return n;
}

std::size_t byte_ring::peek(std::size_t offset, wire::mut_bytes out) const {
    if (offset >= size_) return 0;
    const std::size_t n = std::min(out.size(), size_ - offset);
    copy_out(head_ + offset, out.first(n));
    return n;
}

void byte_ring::consume(std::size_t n) {
    assert(n <= size_);
    size_ -= static_cast<std::uint32_t>(n);
    // head_ stays put even when the ring empties: bytes placed by write_at
    // are addressed from the tail and must keep their place.
    head_ = static_cast<std::uint32_t>(wrap(head_ + n));
}

void byte_ring::resize(std::size_t capacity) {
    if (!empty()) throw std::logic_error("byte_ring::resize on a ring holding data");
    if (capacity_of(capacity) != cap_) {
        release();
        cap_ = capacity_of(capacity);
    }
    head_ = 0;
}

std::size_t byte_ring::growth_capacity(std::size_t wanted, std::size_t limit) noexcept {
    constexpr std::size_t page = 4096;
    const std::size_t unit = wanted >= huge_page / 2 ? huge_page : page;
    return std::min((wanted + unit - 1) / unit * unit, limit);
}

void byte_ring::grow(std::size_t asked, std::size_t keep) {
    const std::uint32_t capacity = capacity_of(asked);
    if (capacity <= cap_) return;
    if (buf_) {
        // What is kept of the old ring, from the head on, so offsets past the
        // tail (where write_at placed out-of-order bytes) stay where they
        // were. Copying the free space too cost a receiver growing to 6 MiB
        // up to 29 ms in one segment's handling (the page faults of the new
        // storage on this VM), while the sender's next window queued.
        std::byte* bigger = allocate_uncached(capacity);  // grown storage is never the cache's size
        copy_out(head_, {bigger, std::clamp<std::size_t>(keep, size_, cap_)});
        free_storage();  // the old storage, to the cache if it came from there
        buf_ = bigger;
    }
    cache_.reset();
    cap_ = capacity;
    head_ = 0;
}

void byte_ring::release() noexcept {
    free_storage();
    head_ = size_ = 0;
}

}  // namespace coronet::tcp
