#include <algorithm>
#include <cerrno>
#include <coronet/link/pcapng.hpp>
#include <coronet/runtime/log.hpp>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>
#include <vector>

namespace coronet::link {

namespace {

constexpr std::uint32_t section_header = 0x0A0D0D0A;
constexpr std::uint32_t interface_description = 0x00000001;
constexpr std::uint32_t enhanced_packet = 0x00000006;
constexpr std::uint16_t opt_end = 0, opt_comment = 1, if_name = 2;
constexpr std::uint16_t linktype_ethernet = 1;

// pcapng is written in host byte order (the section header's magic tells readers which).
template <class T>
void append(std::vector<std::byte>& out, T v) {
    const std::size_t at = out.size();
    out.resize(at + sizeof v);
    std::memcpy(out.data() + at, &v, sizeof v);
}

void append_padded(std::vector<std::byte>& out, bytes data) {
    const std::size_t at = out.size();
    out.resize(at + data.size() + (4 - data.size() % 4) % 4);
    if (!data.empty()) std::memcpy(out.data() + at, data.data(), data.size());
}

void append_option(std::vector<std::byte>& out, std::uint16_t code, std::string_view value) {
    append(out, code);
    append(out, static_cast<std::uint16_t>(value.size()));
    append_padded(out, wire::bytes{reinterpret_cast<const std::byte*>(value.data()), value.size()});
}

}  // namespace

std::string rotated_name(const std::string& path, unsigned i) { return i == 0 ? path : path + "." + std::to_string(i); }

pcapng_writer::pcapng_writer(const std::string& path, std::string_view ifname, pcapng_rotation rotation)
    : path_(path), ifname_(ifname), rotation_(rotation) {
    rotation_.files = std::max(rotation_.files, 1u);
    open_file();
    if (!file_) throw std::system_error(errno, std::generic_category(), "open pcapng file " + path);
}

pcapng_writer::~pcapng_writer() {
    if (file_) std::fclose(file_);
}

// Opens (truncates) path_ and writes the section and interface headers.
void pcapng_writer::open_file() {
    file_ = std::fopen(path_.c_str(), "wb");
    if (!file_) return;
    bytes_ = 0;
    std::vector<std::byte> shb;
    append(shb, std::uint32_t{0x1A2B3C4D});  // byte-order magic
    append(shb, std::uint16_t{1});
    append(shb, std::uint16_t{0});
    append(shb, std::int64_t{-1});  // section length unknown
    block(section_header, shb);
    std::vector<std::byte> idb;
    append(idb, linktype_ethernet);
    append(idb, std::uint16_t{0});
    append(idb, std::uint32_t{0});  // no snap length limit
    append_option(idb, if_name, ifname_);
    append(idb, opt_end);
    append(idb, std::uint16_t{0});
    block(interface_description, idb);
    header_bytes_ = bytes_;
}

// Shifts path -> path.1 -> ... -> path.<files-1> (renaming onto the oldest
// drops it) and starts path afresh.
void pcapng_writer::rotate() {
    std::fclose(file_);
    file_ = nullptr;
    for (unsigned i = rotation_.files - 1; i > 0; --i)
        std::rename(rotated_name(path_, i - 1).c_str(), rotated_name(path_, i).c_str());  // a missing one is fine
    ++rotations_;
    open_file();
    if (!file_)
        runtime::logger().error("pcapng: cannot open {} after rotating: {}; capture stops", path_,
                                std::strerror(errno));
}

void pcapng_writer::block(std::uint32_t type, bytes body) {
    const auto total = static_cast<std::uint32_t>(12 + body.size());
    if (!file_) return;
    std::fwrite(&type, 4, 1, file_);
    std::fwrite(&total, 4, 1, file_);
    std::fwrite(body.data(), 1, body.size(), file_);
    std::fwrite(&total, 4, 1, file_);
    bytes_ += total;
}

void pcapng_writer::write(bytes frame, std::chrono::system_clock::time_point when, std::string_view comment) {
    // Capture is diagnostics, off the fast path: a scratch vector per frame is acceptable.
    std::vector<std::byte> epb;
    epb.reserve(frame.size() + comment.size() + 48);
    const auto us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count());
    append(epb, std::uint32_t{0});  // interface id
    append(epb, static_cast<std::uint32_t>(us >> 32));
    append(epb, static_cast<std::uint32_t>(us));
    append(epb, static_cast<std::uint32_t>(frame.size()));
    append(epb, static_cast<std::uint32_t>(frame.size()));
    append_padded(epb, frame);
    if (!comment.empty()) {
        append_option(epb, opt_comment, comment);
        append(epb, opt_end);
        append(epb, std::uint16_t{0});
    }
    // A file holds at least one frame, so one larger than max_bytes is not lost.
    if (rotation_.max_bytes > 0 && bytes_ > header_bytes_ && bytes_ + 12 + epb.size() > rotation_.max_bytes) rotate();
    block(enhanced_packet, epb);
    if (file_) ++frames_;
}

void pcapng_writer::flush() {
    if (file_) std::fflush(file_);
}

pcap_tap::pcap_tap(device& inner, const std::string& path, clock_fn clock, pcapng_rotation rotation)
    : inner_(inner),
      writer_(path, inner.name(), rotation),
      clock_(clock ? std::move(clock) : clock_fn(&std::chrono::system_clock::now)) {}

void pcap_tap::start(frame_sink& sink) {
    sink_ = &sink;
    inner_.start(*this);
}

void pcap_tap::on_frame(bytes frame, const rx_meta& meta) {
    // The frame is written after the stack handled it, so that a comment the
    // stack attached lands on it; replies sent meanwhile are written after it.
    std::string for_next_sent = std::exchange(comment_, {});  // an earlier one waits for the next frame sent
    in_receive_ = true;
    sink_->on_frame(frame, meta);
    in_receive_ = false;
    const auto now = clock_();
    writer_.write(frame, now, comment_);
    comment_ = std::move(for_next_sent);
    for (const auto& reply : replies_) writer_.write(reply, now);
    replies_.clear();
}

void pcap_tap::transmit(packet frame) {
    if (in_receive_) {
        const auto d = frame.data();
        replies_.emplace_back(d.begin(), d.end());
    } else {
        writer_.write(frame.data(), clock_(), comment_);
        comment_.clear();
    }
    inner_.transmit(std::move(frame));
}

}  // namespace coronet::link
