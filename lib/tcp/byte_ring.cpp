// byte_ring: head_ and size_ describe the readable bytes; everything after
// them, up to the capacity, is free space that write_at may fill early.
#include <algorithm>
#include <cassert>
#include <coronet/tcp/byte_ring.hpp>
#include <cstring>
#include <stdexcept>

namespace coronet::tcp {

// Storage for n bytes: the cache's (standard-sized rings), or its own
// (allocate_buffer_storage: grown rings are sized in whole huge pages from
// 1 MiB asked, growth_capacity).
std::byte* byte_ring::allocate(std::size_t n) const { return cache_ ? cache_->take(n) : allocate_buffer_storage(n); }

// buf_ back as allocate(cap_) made it.
void byte_ring::free_storage() noexcept {
    if (cache_)
        cache_->give(buf_, cap_);
    else
        free_buffer_storage(buf_, cap_);
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
    const std::size_t unit = wanted >= huge_page_size / 2 ? huge_page_size : page;
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
        std::byte* bigger = allocate_buffer_storage(capacity);  // grown storage is never the cache's size
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
