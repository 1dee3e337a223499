#include <coronet/tcp/interval_set.hpp>

#include <algorithm>

namespace coronet::tcp {

using wire::seq32;

bool interval_set::add(seq32 left, seq32 right) {
    if (!(left < right)) return true;
    // First range that ends at or after left (could merge), and first that starts after right.
    auto first = std::find_if(ranges_.begin(), ranges_.end(), [&](const seq_range& r) { return left <= r.right; });
    auto last = std::find_if(first, ranges_.end(), [&](const seq_range& r) { return right < r.left; });
    if (first == last) {  // touches nothing: a new range
        if (ranges_.size() >= max_) return false;
        ranges_.insert(first, seq_range{left, right});
        last_left_ = left;
        return true;
    }
    const seq32 l = wire::seq_min(left, first->left);
    const seq32 r = wire::seq_max(right, (last - 1)->right);
    *first = seq_range{l, r};
    ranges_.erase(first + 1, last);
    last_left_ = l;
    return true;
}

std::uint32_t interval_set::take_contiguous(seq32 rcv_nxt) {
    discard_below(rcv_nxt);
    if (ranges_.empty() || rcv_nxt < ranges_.front().left) return 0;
    const auto n = static_cast<std::uint32_t>(ranges_.front().right - rcv_nxt);
    ranges_.erase(ranges_.begin());
    return n;
}

void interval_set::discard_below(seq32 seq) {
    auto keep = std::find_if(ranges_.begin(), ranges_.end(), [&](const seq_range& r) { return seq < r.right; });
    ranges_.erase(ranges_.begin(), keep);
    if (!ranges_.empty() && ranges_.front().left < seq) ranges_.front().left = seq;
}

std::size_t interval_set::sack_blocks(std::span<seq_range> out) const {
    std::size_t n = 0;
    auto latest = std::find_if(ranges_.begin(), ranges_.end(),
                               [&](const seq_range& r) { return r.left <= last_left_ && last_left_ < r.right; });
    if (latest != ranges_.end() && n < out.size()) out[n++] = *latest;
    for (auto it = ranges_.rbegin(); it != ranges_.rend() && n < out.size(); ++it)
        if (latest == ranges_.end() || &*it != &*latest) out[n++] = *it;
    return n;
}

std::uint64_t interval_set::bytes() const noexcept {
    std::uint64_t total = 0;
    for (const auto& r : ranges_) total += static_cast<std::uint32_t>(r.right - r.left);
    return total;
}

}  // namespace coronet::tcp
