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

void ring_storage_delete::operator()(std::byte* p) const noexcept {
    if (alignment)
        ::operator delete[](p, std::align_val_t{alignment});
    else
        delete[] p;
}

// Storage for n bytes: the cache's (standard-sized rings), or new; whole
// huge pages from 2 MiB on (grown rings are sized in whole huge pages then).
byte_ring::storage byte_ring::allocate(std::size_t n) const {
    if (cache_) return storage{cache_->take(n).release()};
    if (n < huge_page) return storage{new std::byte[n]};
    auto* p = new (std::align_val_t{huge_page}) std::byte[n];
    const std::size_t whole = n / huge_page * huge_page;
    ::madvise(p, whole, MADV_HUGEPAGE);  // advice: without it, 4 KiB pages
    return storage{p, ring_storage_delete{huge_page}};
}

byte_ring::byte_ring(std::size_t capacity, std::shared_ptr<buffer_cache> cache)
    : cache_(std::move(cache)), cap_(capacity) {}

// Copies data into the ring starting at physical position pos, in at most two
// pieces; the storage is allocated by the first byte that needs it.
void byte_ring::copy_in(std::size_t pos, wire::bytes data) {
    if (data.empty()) return;
    if (!buf_) buf_ = allocate(cap_);
    pos = wrap(pos);
    const std::size_t first = std::min(data.size(), cap_ - pos);
    std::memcpy(buf_.get() + pos, data.data(), first);
    if (first < data.size()) std::memcpy(buf_.get(), data.data() + first, data.size() - first);
}

// Copies out.size() bytes from physical position pos, in at most two pieces.
void byte_ring::copy_out(std::size_t pos, wire::mut_bytes out) const noexcept {
    if (out.empty()) return;
    pos = wrap(pos);
    const std::size_t first = std::min(out.size(), cap_ - pos);
    std::memcpy(out.data(), buf_.get() + pos, first);
    if (first < out.size()) std::memcpy(out.data() + first, buf_.get(), out.size() - first);
}

std::size_t byte_ring::write(wire::bytes data) {
    const std::size_t n = std::min(data.size(), free());
    copy_in(head_ + size_, data.first(n));
    size_ += n;
    return n;
}

void byte_ring::write_at(std::size_t offset, wire::bytes data) {
    assert(offset <= free() && data.size() <= free() - offset);
    copy_in(head_ + size_ + offset, data);
}

void byte_ring::commit(std::size_t n) {
    assert(n <= free());
    size_ += n;
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
    size_ -= n;
    // head_ stays put even when the ring empties: bytes placed by write_at
    // are addressed from the tail and must keep their place.
    head_ = wrap(head_ + n);
}

void byte_ring::resize(std::size_t capacity) {
    if (!empty()) throw std::logic_error("byte_ring::resize on a ring holding data");
    if (capacity != cap_) {
        release();
        cap_ = capacity;
    }
    head_ = 0;
}

void byte_ring::grow(std::size_t capacity, std::size_t keep) {
    if (capacity <= cap_) return;
    if (buf_) {
        // What is kept of the old ring, from the head on, so offsets past the
        // tail (where write_at placed out-of-order bytes) stay where they
        // were. Copying the free space too cost a receiver growing to 6 MiB
        // up to 29 ms in one segment's handling (the page faults of the new
        // storage on this VM), while the sender's next window queued.
        const std::shared_ptr<buffer_cache> cache = std::move(cache_);  // grown storage is never the cache's size
        storage bigger = allocate(capacity);
        copy_out(head_, {bigger.get(), std::clamp(keep, size_, cap_)});
        if (cache) cache->give(std::unique_ptr<std::byte[]>(buf_.release()), cap_);
        buf_ = std::move(bigger);
    }
    cache_.reset();
    cap_ = capacity;
    head_ = 0;
}

void byte_ring::release() noexcept {
    if (cache_) cache_->give(std::unique_ptr<std::byte[]>(buf_.release()), cap_);
    buf_.reset();
    head_ = size_ = 0;
}

}  // namespace coronet::tcp
