// Storage the TCP buffers (byte_ring) give back when a connection frees it,
// kept for the next connection: a short-lived connection then costs no
// allocation, and above all no mmap/munmap and page faults (a 256 KiB buffer
// is past malloc's mmap threshold). Bounded: what would exceed max_bytes is
// freed at once. Shared (std::shared_ptr) by the TCP layer and its buffers,
// as a connection the application still holds may outlive the layer.
#pragma once

#include <cstddef>
#include <vector>

namespace coronet::tcp {

// The size of a transparent huge page on x86-64 and arm64 (4 KiB base pages).
inline constexpr std::size_t huge_page_size = std::size_t{2} << 20;

// Storage for the TCP buffers, n bytes (uninitialised): new[] below 128 KiB,
// from there a mapping of its own, unmapped when freed, so that the memory
// goes back to the system at once. From malloc, glibc's dynamic mmap
// threshold rises to the size of the first large block freed, the next ones
// come from its heap and stay resident after free: the soak's proxy ended
// at 58 MiB of RSS where it started at 13. From 2 MiB on the mapping is
// whole huge pages, 2 MiB-aligned and advised as such (transparent huge
// pages are "madvise" on Debian's kernels): on this VM a fresh 4 KiB page
// costs a fault of ~5-20 us where first written (a 4 MiB copy into fresh
// storage took 15-20 ms in 4 KiB pages, 0.5 ms in huge pages).
std::byte* allocate_buffer_storage(std::size_t n);
// Frees what allocate_buffer_storage(n) returned, with the same n.
void free_buffer_storage(std::byte* p, std::size_t n) noexcept;

class buffer_cache {
public:
    explicit buffer_cache(std::size_t max_bytes);
    ~buffer_cache();
    buffer_cache(const buffer_cache&) = delete;
    buffer_cache& operator=(const buffer_cache&) = delete;

    // Storage of exactly size bytes: a kept one, or allocate_buffer_storage's.
    // The caller gives it back (give) or frees it (free_buffer_storage).
    std::byte* take(std::size_t size);
    // Keeps buf (size bytes) for a later take, or frees it when the cache is full.
    void give(std::byte* buf, std::size_t size) noexcept;

    std::size_t bytes() const noexcept { return held_; }
    std::size_t hits() const noexcept { return hits_; }

private:
    struct entry {
        std::size_t size;
        std::byte* buf;
    };
    std::vector<entry> kept_;  // most recently given last
    std::size_t max_, held_ = 0, hits_ = 0;
};

}  // namespace coronet::tcp
