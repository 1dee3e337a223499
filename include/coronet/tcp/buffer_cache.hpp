// Storage the TCP buffers (byte_ring) give back when a connection frees it,
// kept for the next connection: a short-lived connection then costs no
// allocation, and above all no mmap/munmap and page faults (a 256 KiB buffer
// is past malloc's mmap threshold). Bounded: what would exceed max_bytes is
// freed at once. Shared (std::shared_ptr) by the TCP layer and its buffers,
// as a connection the application still holds may outlive the layer.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace coronet::tcp {

class buffer_cache {
public:
    explicit buffer_cache(std::size_t max_bytes);
    buffer_cache(const buffer_cache&) = delete;
    buffer_cache& operator=(const buffer_cache&) = delete;

    // Storage of exactly size bytes: a kept one, or new (uninitialised).
    std::unique_ptr<std::byte[]> take(std::size_t size);
    // Keeps buf (size bytes) for a later take, or frees it when the cache is full.
    void give(std::unique_ptr<std::byte[]> buf, std::size_t size) noexcept;

    std::size_t bytes() const noexcept { return held_; }
    std::size_t hits() const noexcept { return hits_; }

private:
    struct entry {
        std::size_t size;
        std::unique_ptr<std::byte[]> buf;
    };
    std::vector<entry> kept_;  // most recently given last
    std::size_t max_, held_ = 0, hits_ = 0;
};

}  // namespace coronet::tcp
