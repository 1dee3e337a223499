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

// Below 256 bytes a class per chunk size of glibc's malloc, which gives a
// request of n bytes a chunk of n + 8 rounded up to 16: the classes 56, 72,
// ..., 248 fill their chunks exactly (a 120-byte frame takes a 128-byte
// chunk, where a 128-byte class took 144; a million idle connections hold
// two frames each). From 256 bytes, each power of two up to 4 KiB and half
// way between (256, 384, 512, ..., 3072, 4096): a frame wastes at most a
// third of its block, and the 512-byte nodes of recycling_allocator's
// deques fit their class exactly.
constexpr std::size_t fine_count = 13;  // 56 ... 248
constexpr std::size_t class_count = fine_count + 9;
constexpr std::size_t no_class = class_count;

constexpr std::size_t class_size(std::size_t k) noexcept {
    if (k < fine_count) return 56 + 16 * k;
    const std::size_t j = k - fine_count;
    return (j % 2 == 0 ? std::size_t{256} : std::size_t{384}) << (j / 2);
}

constexpr std::size_t class_of(std::size_t size) noexcept {
    if (size <= class_size(0)) return 0;
    if (size <= class_size(fine_count - 1)) return (size - class_size(0) + 15) / 16;
    if (size <= class_size(fine_count)) return fine_count;
    if (size > class_size(class_count - 1)) return no_class;
    // 2^(width-1) < size <= 2^width: the class 2^width, or the one at 1.5 * 2^(width-1) below it.
    const auto width = static_cast<std::size_t>(std::bit_width(size - 1));
    const std::size_t power = fine_count + 2 * (width - 8);  // 256 = 2^8 is class fine_count
    return size <= class_size(power - 1) ? power - 1 : power;
}
static_assert(class_of(1) == 0 && class_of(56) == 0 && class_of(57) == 1 && class_of(72) == 1 && class_of(96) == 3 &&
              class_size(3) == 104 && class_of(120) == 4 && class_size(4) == 120 && class_of(121) == 5 &&
              class_of(248) == 12 && class_size(12) == 248 && class_of(249) == 13 && class_of(256) == 13 &&
              class_of(257) == 14 && class_size(14) == 384 && class_of(385) == 15 && class_of(512) == 15 &&
              class_size(15) == 512 && class_of(4096) == 21 && class_size(21) == 4096 && class_of(4097) == no_class &&
              class_size(20) == 3072);

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
