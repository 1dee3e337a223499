#include <algorithm>
#include <bit>
#include <coronet/runtime/frame_allocator.hpp>
#include <new>

// Under AddressSanitizer a cached block is poisoned, so that a coroutine
// touching a frame after its end is still reported (as use-after-poison), and
// the unused tail of a handed-out block is poisoned too.
#if defined(__SANITIZE_ADDRESS__)
#define CORONET_FRAME_POISON 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORONET_FRAME_POISON 1
#endif
#endif
#ifdef CORONET_FRAME_POISON
#include <sanitizer/asan_interface.h>
#endif

namespace coronet::runtime {

// Named: the library's unity build merges anonymous namespaces across files.
namespace frame_pool {

// Classes at each power of two from 64 bytes to 4 KiB and half way between
// (64, 96, 128, 192, ..., 3072, 4096): a frame wastes at most a third of its
// block, not half (a million idle connections hold three frames each).
constexpr unsigned smallest_shift = 6;  // 64 bytes
constexpr std::size_t class_count = 13;
constexpr std::size_t no_class = class_count;

constexpr std::size_t class_size(std::size_t k) noexcept {
    return (k % 2 == 0 ? std::size_t{64} : std::size_t{96}) << (k / 2);
}

constexpr std::size_t class_of(std::size_t size) noexcept {
    if (size > class_size(class_count - 1)) return no_class;
    if (size <= class_size(0)) return 0;
    // 2^(width-1) < size <= 2^width: the class 2^width, or the one at 1.5 * 2^(width-1) below it.
    const auto width = static_cast<std::size_t>(std::bit_width(size - 1));
    const std::size_t power = 2 * (width - smallest_shift);
    return size <= class_size(power - 1) ? power - 1 : power;
}
static_assert(class_of(1) == 0 && class_of(64) == 0 && class_of(65) == 1 && class_of(96) == 1 && class_of(97) == 2 &&
              class_of(128) == 2 && class_of(129) == 3 && class_of(192) == 3 && class_of(193) == 4 &&
              class_of(4096) == 12 && class_of(4097) == no_class && class_size(12) == 4096 && class_size(11) == 3072);

void poison([[maybe_unused]] void* p, [[maybe_unused]] std::size_t n) noexcept {
#ifdef CORONET_FRAME_POISON
    ASAN_POISON_MEMORY_REGION(p, n);
#endif
}

void unpoison([[maybe_unused]] void* p, [[maybe_unused]] std::size_t n) noexcept {
#ifdef CORONET_FRAME_POISON
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
}

// ::operator delete with the block's size where the compiler has sized
// deallocation (GCC; clang only with -fsized-deallocation).
void release_block(void* p, [[maybe_unused]] std::size_t n) noexcept {
#ifdef __cpp_sized_deallocation
    ::operator delete(p, n);
#else
    ::operator delete(p);
#endif
}

struct free_block {
    free_block* next;
};

// Trivially destructible, so readable at any point of the thread's life:
// whether the cache below is gone (thread exit), and the counters.
thread_local constinit bool cache_gone = false;
thread_local constinit frame_allocator_stats stats{};
thread_local constinit std::size_t limit = 256 * 1024;

struct frame_cache {
    free_block* head[class_count] = {};
    std::size_t bytes[class_count] = {};

    frame_cache() = default;
    frame_cache(const frame_cache&) = delete;
    frame_cache& operator=(const frame_cache&) = delete;
    ~frame_cache() {
        release_all();
        cache_gone = true;  // frames freed later (other thread_locals' destructors) go to ::operator delete
    }

    void release_all() noexcept { release_above(0); }

    // Frees cached blocks until each class holds at most `keep` bytes.
    void release_above(std::size_t keep) noexcept {
        for (std::size_t k = 0; k < class_count; ++k) {
            while (bytes[k] > keep) {
                free_block* b = head[k];
                unpoison(b, class_size(k));
                head[k] = b->next;
                release_block(b, class_size(k));
                bytes[k] -= class_size(k);
                stats.cached_bytes -= class_size(k);
                ++stats.releases;
            }
        }
    }
};

// This thread's cache, made on first use; nullptr once the thread is ending.
frame_cache* this_thread_cache() noexcept {
    if (cache_gone) return nullptr;
    thread_local frame_cache cache;
    return &cache;
}

}  // namespace frame_pool

void* allocate_frame(std::size_t size) {
    const std::size_t k = frame_pool::class_of(size);
    if (k == frame_pool::no_class) {
        ++frame_pool::stats.misses;
        return ::operator new(size);
    }
    const std::size_t n = frame_pool::class_size(k);
    frame_pool::frame_cache* c = frame_pool::this_thread_cache();
    if (c == nullptr || c->head[k] == nullptr) {
        ++frame_pool::stats.misses;
        void* p = ::operator new(n);
        frame_pool::poison(static_cast<std::byte*>(p) + size, n - size);
        return p;
    }
    frame_pool::free_block* b = c->head[k];
    frame_pool::unpoison(b, n);
    c->head[k] = b->next;
    c->bytes[k] -= n;
    frame_pool::stats.cached_bytes -= n;
    ++frame_pool::stats.hits;
    frame_pool::poison(reinterpret_cast<std::byte*>(b) + size, n - size);
    return b;
}

void deallocate_frame(void* p, std::size_t size) noexcept {
    if (p == nullptr) return;
    const std::size_t k = frame_pool::class_of(size);
    if (k == frame_pool::no_class) {
        ++frame_pool::stats.releases;
        frame_pool::release_block(p, size);
        return;
    }
    const std::size_t n = frame_pool::class_size(k);
    frame_pool::unpoison(p, n);
    frame_pool::frame_cache* c = frame_pool::this_thread_cache();
    if (c == nullptr || c->bytes[k] + n > frame_pool::limit) {
        ++frame_pool::stats.releases;
        frame_pool::release_block(p, n);
        return;
    }
    auto* b = ::new (p) frame_pool::free_block{c->head[k]};
    c->head[k] = b;
    c->bytes[k] += n;
    frame_pool::stats.cached_bytes += n;
    frame_pool::poison(b, n);
}

frame_allocator_stats frame_stats() noexcept { return frame_pool::stats; }

void trim_frame_cache() noexcept {
    if (frame_pool::frame_cache* c = frame_pool::this_thread_cache()) c->release_all();
}

std::size_t frame_cache_limit() noexcept { return frame_pool::limit; }

void set_frame_cache_limit(std::size_t bytes) noexcept {
    frame_pool::limit = bytes;
    if (frame_pool::frame_cache* c = frame_pool::this_thread_cache()) c->release_above(bytes);
}

}  // namespace coronet::runtime
