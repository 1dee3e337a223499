#include "support/segment.hpp"

#include <algorithm>
#include <span>

namespace coronet::test {

using namespace wire::tcp_flag;

segment& segment::data(std::string_view text) {
    const auto bytes = std::as_bytes(std::span{text.data(), text.size()});
    payload_.assign(bytes.begin(), bytes.end());
    return *this;
}

std::uint32_t segment::len() const noexcept {
    return static_cast<std::uint32_t>(payload_.size()) + ((h_.flags & wire::tcp_flag::syn) ? 1 : 0) +
           ((h_.flags & wire::tcp_flag::fin) ? 1 : 0);
}

segment reply_to(const wire::tcp_repr& to, std::size_t len) {
    const std::uint32_t used =
        static_cast<std::uint32_t>(len) + ((to.flags & syn) ? 1 : 0) + ((to.flags & fin) ? 1 : 0);
    return segment{to.dst_port, to.src_port}.ack(to.seq + used);
}

std::string describe(const wire::tcp_repr& h, std::size_t len) {
    static constexpr std::pair<std::uint8_t, const char*> names[] = {
        {syn, "SYN"}, {fin, "FIN"}, {rst, "RST"}, {psh, "PSH"}, {ack, "ACK"}};
    std::string s;
    for (const auto& [flag, name] : names)
        if (h.flags & flag) s.append(s.empty() ? "" : "|").append(name);
    if (s.empty()) s = "no flags";
    s.append(" seq=").append(std::to_string(h.seq.value));
    if (h.flags & ack) s.append(" ack=").append(std::to_string(h.ack.value));
    return s.append(" len=").append(std::to_string(len));
}

std::string describe(const segment& s) { return describe(s.header(), s.payload().size()); }
std::string describe(const received_segment& s) { return describe(s.h, s.payload.size()); }

std::optional<std::string> mismatch(const received_segment& got, const segment& want) {
    const wire::tcp_repr& w = want.header();
    // PSH is the sender's hint to deliver, not part of the answer.
    const auto flags = [](std::uint8_t f) { return f & ~psh; };
    const bool same = flags(got.h.flags) == flags(w.flags) && got.h.seq == w.seq &&
                      (!(w.flags & ack) || got.h.ack == w.ack) && std::ranges::equal(got.payload, want.payload());
    if (same) return std::nullopt;
    return "sent " + describe(got) + ", expected " + describe(want);
}

}  // namespace coronet::test
