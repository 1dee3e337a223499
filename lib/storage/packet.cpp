#include <coronet/storage/packet.hpp>
#include <utility>

namespace coronet::storage {

packet& packet::operator=(packet&& other) noexcept {
    if (this != &other) {
        release();
        pool_ = std::exchange(other.pool_, nullptr);
        buf_ = std::exchange(other.buf_, nullptr);
        cap_ = other.cap_;
        head_ = other.head_;
        len_ = other.len_;
        offload = other.offload;
    }
    return *this;
}

mut_bytes packet::push(std::size_t n) noexcept {
    head_ -= static_cast<std::uint32_t>(n);
    len_ += static_cast<std::uint32_t>(n);
    return {buf_ + head_, n};
}

mut_bytes packet::put(std::size_t n) noexcept {
    std::byte* tail = buf_ + head_ + len_;
    len_ += static_cast<std::uint32_t>(n);
    return {tail, n};
}

void packet::pull(std::size_t n) noexcept {
    head_ += static_cast<std::uint32_t>(n);
    len_ -= static_cast<std::uint32_t>(n);
}

void packet::release() noexcept {
    if (buf_ && pool_) pool_->free_.push_back(buf_);
    buf_ = nullptr;
    pool_ = nullptr;
}

packet_pool::packet_pool(std::size_t count, std::size_t buffer_size, std::size_t headroom)
    : count_(count), size_(buffer_size), headroom_(headroom), storage_(new std::byte[count * buffer_size]) {
    free_.reserve(count);
    for (std::size_t i = count; i-- > 0;) free_.push_back(storage_.get() + i * buffer_size);
}

std::optional<packet> packet_pool::get() noexcept {
    if (free_.empty()) return std::nullopt;
    packet p;
    p.pool_ = this;
    p.buf_ = free_.back();
    free_.pop_back();
    p.cap_ = static_cast<std::uint32_t>(size_);
    p.head_ = static_cast<std::uint32_t>(headroom_);
    p.len_ = 0;
    return p;
}

}  // namespace coronet::storage
