#include <coronet/tcp/buffer_cache.hpp>

namespace coronet::tcp {

namespace {
// Entries reserved up front, so that give() never allocates.
constexpr std::size_t max_entries = 64;
}  // namespace

buffer_cache::buffer_cache(std::size_t max_bytes) : max_(max_bytes) { kept_.reserve(max_entries); }

std::unique_ptr<std::byte[]> buffer_cache::take(std::size_t size) {
    for (auto it = kept_.rbegin(); it != kept_.rend(); ++it) {
        if (it->size != size) continue;
        auto buf = std::move(it->buf);
        kept_.erase(std::next(it).base());
        held_ -= size;
        ++hits_;
        return buf;
    }
    return std::make_unique_for_overwrite<std::byte[]>(size);
}

void buffer_cache::give(std::unique_ptr<std::byte[]> buf, std::size_t size) noexcept {
    if (!buf || held_ + size > max_ || kept_.size() == max_entries) return;  // freed here
    kept_.push_back({size, std::move(buf)});
    held_ += size;
}

}  // namespace coronet::tcp
