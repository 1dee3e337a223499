// The recycling frame allocator: size classes, reuse, the per-class cap,
// frames larger than a class, frees on another thread, and that task frames
// come from it.
#include <boost/test/unit_test.hpp>
#include <coronet/runtime/frame_allocator.hpp>
#include <coronet/runtime/task.hpp>
#include <deque>
#include <thread>
#include <vector>

namespace frame_allocator_tests {

using namespace coronet::runtime;

task<int> forty_two() { co_return 42; }

// Runs t to its end (it never suspends) and returns its value.
int run(task<int> t) {
    t.raw().resume();
    return t.result();
}

}  // namespace frame_allocator_tests

BOOST_AUTO_TEST_SUITE(frame_allocator)

using namespace frame_allocator_tests;

BOOST_AUTO_TEST_CASE(a_freed_frame_is_handed_out_again_for_any_size_of_its_class) {
    trim_frame_cache();
    void* a = allocate_frame(380);  // class 384
    deallocate_frame(a, 380);
    const auto before = frame_stats();
    BOOST_TEST(before.cached_bytes == 384u);
    void* b = allocate_frame(257);
    BOOST_TEST(b == a);
    BOOST_TEST(frame_stats().hits == before.hits + 1);
    BOOST_TEST(frame_stats().cached_bytes == 0u);
    void* c = allocate_frame(250);  // class 256 (below 384 and half way to it): another list, empty
    BOOST_TEST(frame_stats().misses == before.misses + 1);
    deallocate_frame(b, 257);
    deallocate_frame(c, 250);
    trim_frame_cache();
    BOOST_TEST(frame_stats().cached_bytes == 0u);
}

BOOST_AUTO_TEST_CASE(below_256_bytes_the_classes_are_malloc_chunk_sizes) {
    trim_frame_cache();
    void* a = allocate_frame(120);  // class 120: a 128-byte malloc chunk, full
    deallocate_frame(a, 120);
    const auto before = frame_stats();
    BOOST_TEST(before.cached_bytes == 120u);
    void* b = allocate_frame(105);  // the same class (105 ... 120)
    BOOST_TEST(b == a);
    void* c = allocate_frame(121);  // class 136: another list, empty
    BOOST_TEST(frame_stats().misses == before.misses + 1);
    deallocate_frame(b, 105);
    deallocate_frame(c, 121);
    trim_frame_cache();
    BOOST_TEST(frame_stats().cached_bytes == 0u);
}

BOOST_AUTO_TEST_CASE(a_class_keeps_at_most_its_limit_and_returns_the_rest) {
    trim_frame_cache();
    const std::size_t old_limit = frame_cache_limit();
    set_frame_cache_limit(16 * 1024);
    constexpr std::size_t size = 4096;
    std::vector<void*> blocks(4 + 3);
    for (auto& b : blocks) b = allocate_frame(size);
    const auto before = frame_stats();
    for (void* b : blocks) deallocate_frame(b, size);
    BOOST_TEST(frame_stats().cached_bytes == 16 * 1024u);
    BOOST_TEST(frame_stats().releases == before.releases + 3);
    set_frame_cache_limit(8 * 1024);  // lowering it frees the excess at once
    BOOST_TEST(frame_stats().cached_bytes == 8 * 1024u);
    BOOST_TEST(frame_stats().releases == before.releases + 5);
    set_frame_cache_limit(old_limit);
    trim_frame_cache();
}

BOOST_AUTO_TEST_CASE(frames_larger_than_a_class_are_not_kept) {
    trim_frame_cache();
    const auto before = frame_stats();
    void* big = allocate_frame(5000);
    deallocate_frame(big, 5000);
    BOOST_TEST(frame_stats().misses == before.misses + 1);
    BOOST_TEST(frame_stats().releases == before.releases + 1);
    BOOST_TEST(frame_stats().cached_bytes == 0u);
}

BOOST_AUTO_TEST_CASE(a_frame_freed_on_another_thread_joins_that_threads_cache) {
    trim_frame_cache();
    void* p = allocate_frame(72);
    std::size_t cached_there = 0;
    std::thread other([&] {
        deallocate_frame(p, 72);
        cached_there = frame_stats().cached_bytes;
    });  // its cache is freed as it ends (LeakSanitizer would see a leak otherwise)
    other.join();
    BOOST_TEST(cached_there == 72u);
    BOOST_TEST(frame_stats().cached_bytes == 0u);  // this thread's lists are untouched
}

BOOST_AUTO_TEST_CASE(task_frames_come_from_the_thread_cache) {
    BOOST_TEST(run(forty_two()) == 42);  // primes the class
    const auto before = frame_stats();
    BOOST_TEST(run(forty_two()) == 42);
    BOOST_TEST(frame_stats().hits == before.hits + 1);
    BOOST_TEST(frame_stats().misses == before.misses);
}

BOOST_AUTO_TEST_CASE(a_deque_on_the_recycling_allocator_reuses_its_nodes) {
    std::deque<int, recycling_allocator<int>> q;
    for (int i = 0; i < 10000; ++i) q.push_back(i);  // warm: nodes and map
    for (int i = 0; i < 10000; ++i) q.pop_front();
    const auto before = frame_stats();
    for (int i = 0; i < 100000; ++i) {
        q.push_back(i);
        if (q.size() > 1000) q.pop_front();
    }
    BOOST_TEST(frame_stats().misses == before.misses);
    BOOST_TEST(frame_stats().hits > before.hits);
}

BOOST_AUTO_TEST_SUITE_END()
