// Where coroutine frames come from: size-class free lists (56 B to 4 KiB:
// malloc's own chunk sizes below 256 B, then powers of two and the sizes
// half way between), one set per thread, so that a loop (one per thread) reuses
// the frames of its read / write / connect / accept calls instead of asking
// malloc for each. Larger frames go straight to ::operator new. Each class
// keeps at most frame_cache_limit() bytes; the rest goes back to ::operator
// delete.
// A frame freed on another thread than the one that made it joins the
// freeing thread's lists: blocks all come from ::operator new, so they may
// move between threads, and each thread touches only its own lists (no
// locks). A thread's cache is freed when the thread ends.
// recycling_allocator<T> puts the same lists under a container whose nodes
// come and go on the data path (a std::deque used as a queue frees a node
// and takes a new one every few elements).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

namespace coronet::runtime {

// This thread's frame allocator counters since the thread started.
struct frame_allocator_stats {
    std::uint64_t hits = 0;      // frames served from a free list
    std::uint64_t misses = 0;    // frames from ::operator new: list empty, or larger than a class
    std::uint64_t releases = 0;  // frames given back to ::operator delete: class full, too large, thread ending
    std::size_t cached_bytes = 0;
};

// A block of at least `size` bytes for a coroutine frame; throws std::bad_alloc.
void* allocate_frame(std::size_t size);
// Returns a block from allocate_frame(size), on any thread.
void deallocate_frame(void* p, std::size_t size) noexcept;
// The calling thread's counters.
frame_allocator_stats frame_stats() noexcept;
// Gives this thread's cached blocks back to ::operator delete.
void trim_frame_cache() noexcept;
// Bytes each size class keeps cached on this thread: 256 KiB unless set.
// A bulk sender's scoreboard, whose deque holds a run per paced send, takes
// and frees hundreds of 512-byte nodes as its flight rises and falls.
std::size_t frame_cache_limit() noexcept;
// Sets this thread's limit; what a class holds beyond it is freed now.
void set_frame_cache_limit(std::size_t bytes) noexcept;

// A standard allocator over allocate_frame / deallocate_frame (stateless:
// every instance shares the thread's lists).
template <class T>
struct recycling_allocator {
    using value_type = T;
    recycling_allocator() noexcept = default;
    template <class U>
    recycling_allocator(const recycling_allocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
        if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
        return static_cast<T*>(allocate_frame(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept { deallocate_frame(p, n * sizeof(T)); }
    template <class U>
    friend bool operator==(const recycling_allocator&, const recycling_allocator<U>&) noexcept {
        return true;
    }
};

}  // namespace coronet::runtime
