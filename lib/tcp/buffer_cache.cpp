#include <sys/mman.h>

#include <coronet/tcp/buffer_cache.hpp>
#include <cstdint>
#include <iterator>
#include <new>

namespace coronet::tcp {

namespace {
// Entries reserved up front, so that give() never allocates.
constexpr std::size_t max_entries = 64;
constexpr std::size_t own_mapping = std::size_t{128} << 10;

std::size_t mapping_len(std::size_t n) noexcept {
    return n < huge_page_size ? n : (n + huge_page_size - 1) / huge_page_size * huge_page_size;
}
}  // namespace

std::byte* allocate_buffer_storage(std::size_t n) {
    if (n < own_mapping) return new std::byte[n];
    // Huge pages need a 2 MiB-aligned range: map 2 MiB more and unmap the ends.
    const std::size_t len = mapping_len(n), slack = n < huge_page_size ? 0 : huge_page_size;
    void* m = ::mmap(nullptr, len + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    auto* const base = static_cast<std::byte*>(m);
    if (slack == 0) return base;
    const std::size_t lead =
        (huge_page_size - reinterpret_cast<std::uintptr_t>(base) % huge_page_size) % huge_page_size;
    if (lead > 0) ::munmap(base, lead);
    if (slack > lead) ::munmap(base + lead + len, slack - lead);
    ::madvise(base + lead, len, MADV_HUGEPAGE);  // advice: without it, 4 KiB pages
    return base + lead;
}

void free_buffer_storage(std::byte* p, std::size_t n) noexcept {
    if (!p) return;
    if (n < own_mapping)
        delete[] p;
    else
        ::munmap(p, mapping_len(n));
}

buffer_cache::buffer_cache(std::size_t max_bytes) : max_(max_bytes) { kept_.reserve(max_entries); }

buffer_cache::~buffer_cache() {
    for (const entry& e : kept_) free_buffer_storage(e.buf, e.size);
}

std::byte* buffer_cache::take(std::size_t size) {
    for (auto it = kept_.rbegin(); it != kept_.rend(); ++it) {
        if (it->size != size) continue;
        std::byte* const buf = it->buf;
        kept_.erase(std::next(it).base());
        held_ -= size;
        ++hits_;
        return buf;
    }
    return allocate_buffer_storage(size);
}

void buffer_cache::give(std::byte* buf, std::size_t size) noexcept {
    if (!buf) return;
    if (held_ + size > max_ || kept_.size() == max_entries) {
        free_buffer_storage(buf, size);
        return;
    }
    kept_.push_back({size, buf});
    held_ += size;
}

}  // namespace coronet::tcp
