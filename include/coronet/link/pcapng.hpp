// A pcapng writer (one Ethernet interface, microsecond timestamps, optional
// per-frame comments, optional rotation by size) and a device wrapper that
// tees every frame sent and received into it. `tshark -r FILE` reads the
// result; with rotation, each file on its own.
#pragma once

#include <chrono>
#include <coronet/link/device.hpp>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace coronet::link {

// Rotation by size: when the next frame would take the file past max_bytes,
// path becomes path.1 (path.1 becomes path.2, ...; path.<files-1> is the
// oldest and is dropped) and a new path begins with its own section and
// interface headers. At most files files of max_bytes each, unless a single
// frame is larger than max_bytes (it then has a file of its own).
struct pcapng_rotation {
    std::uint64_t max_bytes = 0;  // 0: one file, unbounded
    unsigned files = 5;           // how many are kept, path included (at least 1)
};

// The name of the i-th file of a rotation: path itself for 0, else "path.i".
std::string rotated_name(const std::string& path, unsigned i);

class pcapng_writer {
public:
    // Creates (truncates) path and writes the section and interface headers;
    // throws std::system_error when the file cannot be opened. When a
    // rotation cannot open the new file, capture stops with an error logged.
    explicit pcapng_writer(const std::string& path, std::string_view ifname = "coronet", pcapng_rotation rotation = {});
    ~pcapng_writer();
    pcapng_writer(const pcapng_writer&) = delete;
    pcapng_writer& operator=(const pcapng_writer&) = delete;

    // Appends one frame captured at `when`, with an optional comment.
    void write(bytes frame, std::chrono::system_clock::time_point when, std::string_view comment = {});
    void flush();
    std::uint64_t frames() const noexcept { return frames_; }
    std::uint64_t rotations() const noexcept { return rotations_; }

private:
    void open_file();
    void rotate();
    void block(std::uint32_t type, bytes body);
    std::string path_, ifname_;
    pcapng_rotation rotation_;
    std::FILE* file_ = nullptr;
    std::uint64_t bytes_ = 0, header_bytes_ = 0;  // in the current file
    std::uint64_t frames_ = 0, rotations_ = 0;
};

// Wraps a device: frames pass through unchanged and are also written to the
// pcapng file. annotate() attaches a comment to the frame being handled.
class pcap_tap final : public device, private frame_sink {
public:
    // The time each frame is stamped with: the wall clock, or a simulator's virtual time.
    using clock_fn = std::function<std::chrono::system_clock::time_point()>;
    pcap_tap(device& inner, const std::string& path, clock_fn clock = {}, pcapng_rotation rotation = {});

    wire::mac_address mac() const override { return inner_.mac(); }
    std::uint16_t mtu() const override { return inner_.mtu(); }
    std::string name() const override { return inner_.name(); }
    bool supports_offload() const override { return inner_.supports_offload(); }
    void start(frame_sink& sink) override;
    using device::allocate;
    std::optional<packet> allocate(std::size_t wanted) override { return inner_.allocate(wanted); }
    void transmit(packet frame) override;
    std::size_t tx_room() const override { return inner_.tx_room(); }
    const device_counters& counters() const override { return inner_.counters(); }

    // Comment for the frame now being received (written after the stack has
    // handled it) or the next frame transmitted; several are joined by "; ".
    void annotate(const std::string& comment) {
        if (!comment_.empty()) comment_ += "; ";
        comment_ += comment;
    }
    pcapng_writer& writer() noexcept { return writer_; }

private:
    void on_frame(bytes frame, const rx_meta& meta) override;
    device& inner_;
    frame_sink* sink_ = nullptr;
    bool in_receive_ = false;
    std::vector<std::vector<std::byte>> replies_;  // sent while a received frame is handled
    pcapng_writer writer_;
    clock_fn clock_;
    std::string comment_;
};

}  // namespace coronet::link
