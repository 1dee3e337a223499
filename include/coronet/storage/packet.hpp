// Frame buffers: a fixed pool of equal-sized buffers, each handed out as a
// move-only `packet` that returns itself to the pool when dropped. Layers
// prepend their headers into the headroom (push) the way an sk_buff works,
// so a frame is built in place with one copy of the payload.
#pragma once

#include <coronet/storage/offload.hpp>
#include <coronet/wire/bytes.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace coronet::storage {

using wire::bytes;
using wire::mut_bytes;

class packet_pool;

class packet {
public:
    packet() noexcept = default;
    packet(packet&& other) noexcept { *this = std::move(other); }
    packet& operator=(packet&& other) noexcept;
    packet(const packet&) = delete;
    packet& operator=(const packet&) = delete;
    ~packet() { release(); }

    explicit operator bool() const noexcept { return buf_ != nullptr; }
    // The bytes from the current head to the tail.
    mut_bytes data() noexcept { return {buf_ + head_, len_}; }
    bytes data() const noexcept { return {buf_ + head_, len_}; }
    std::size_t size() const noexcept { return len_; }
    std::size_t headroom() const noexcept { return head_; }
    std::size_t tailroom() const noexcept { return cap_ - head_ - len_; }
    // Prepends n bytes (a header) and returns them; the caller checks headroom().
    mut_bytes push(std::size_t n) noexcept;
    // Appends n bytes and returns them; the caller checks tailroom().
    mut_bytes put(std::size_t n) noexcept;
    // Removes n bytes from the front.
    void pull(std::size_t n) noexcept;

    tx_offload offload;

private:
    friend class packet_pool;
    void release() noexcept;
    packet_pool* pool_ = nullptr;
    std::byte* buf_ = nullptr;
    std::uint32_t cap_ = 0;
    std::uint32_t head_ = 0;
    std::uint32_t len_ = 0;
};

class packet_pool {
public:
    // count buffers of buffer_size bytes; new packets start empty with
    // `headroom` bytes free in front.
    packet_pool(std::size_t count, std::size_t buffer_size, std::size_t headroom);
    packet_pool(const packet_pool&) = delete;
    packet_pool& operator=(const packet_pool&) = delete;

    // An empty packet, or nullopt when every buffer is in use.
    std::optional<packet> get() noexcept;
    std::size_t available() const noexcept { return free_.size(); }
    std::size_t capacity() const noexcept { return count_; }
    std::size_t buffer_size() const noexcept { return size_; }

private:
    friend class packet;
    std::size_t count_, size_, headroom_;
    std::unique_ptr<std::byte[]> storage_;
    std::vector<std::byte*> free_;
};

}  // namespace coronet::storage
