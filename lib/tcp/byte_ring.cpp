// byte_ring: head_ and size_ describe the readable bytes; everything after
// them, up to the capacity, is free space that write_at may fill early.
#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <coronet/tcp/byte_ring.hpp>
#include <cstring>
#include <stdexcept>

namespace coronet::tcp {

namespace {
// Storage for a grown ring. From 2 MiB on its whole huge pages are asked for
// (MADV_HUGEPAGE; transparent huge pages are "madvise" on Debian's kernels):
// the copy into new storage faults a page per 4 KiB otherwise, and on a VM
// each fault is dear (a sender growing to 4 MiB took 4 ms in one ACK's
// handling).
std::unique_ptr<std::byte[]> grown_storage(std::size_t n) {
    auto p = std::make_unique_for_overwrite<std::byte[]>(n);
    constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
    const auto at = reinterpret_cast<std::uintptr_t>(p.get());
    const std::uintptr_t begin = (at + huge - 1) & ~(huge - 1), end = (at + n) & ~(huge - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // advice: may fail
    return p;
}
}  // namespace

byte_ring::byte_ring(std::size_t capacity, std::shared_ptr<buffer_cache> cache)
    : cache_(std::move(cache)), cap_(capacity) {}

// Copies data into the ring starting at physical position pos, in at most two
// pieces; the storage is allocated by the first byte that needs it.
void byte_ring::copy_in(std::size_t pos, wire::bytes data) {
    if (data.empty()) return;
    if (!buf_) buf_ = cache_ ? cache_->take(cap_) : std::make_unique_for_overwrite<std::byte[]>(cap_);
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
        auto bigger = grown_storage(capacity);
        copy_out(head_, {bigger.get(), std::clamp(keep, size_, cap_)});
        if (cache_) cache_->give(std::move(buf_), cap_);
        buf_ = std::move(bigger);
    }
    cache_.reset();
    cap_ = capacity;
    head_ = 0;
}

void byte_ring::release() noexcept {
    if (cache_) cache_->give(std::move(buf_), cap_);
    buf_.reset();
    head_ = size_ = 0;
}

}  // namespace coronet::tcp
