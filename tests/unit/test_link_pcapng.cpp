// The pcapng writer: the blocks of one file, and rotation by size (each file
// a capture of its own, the oldest dropped, the total bounded).
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <coronet/link/pcapng.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

using namespace coronet;

namespace {

constexpr std::uint32_t section_header_type = 0x0A0D0D0A, interface_type = 1, packet_type = 6;

struct pcapng_block {
    std::uint32_t type;
    std::string body;
};

// The file's blocks in order; fails the test where a block's two lengths differ or overrun the file.
std::vector<pcapng_block> read_blocks(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), {});
    std::vector<pcapng_block> blocks;
    std::size_t off = 0;
    while (off + 12 <= data.size()) {
        std::uint32_t type, len, len2;
        std::memcpy(&type, &data[off], 4);
        std::memcpy(&len, &data[off + 4], 4);
        BOOST_REQUIRE(len % 4 == 0u);
        BOOST_REQUIRE(off + len <= data.size());
        std::memcpy(&len2, &data[off + len - 4], 4);
        BOOST_TEST(len == len2);
        blocks.push_back({type, data.substr(off + 8, len - 12)});
        off += len;
    }
    BOOST_TEST(off == data.size());
    return blocks;
}

// A directory of its own for one test's files, removed at the end.
struct scratch_dir {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("coronet-unit-pcapng-" + std::to_string(::getpid()));
    scratch_dir() { std::filesystem::create_directories(dir); }
    ~scratch_dir() { std::filesystem::remove_all(dir); }
    std::string file(const std::string& name) const { return (dir / name).string(); }
};

// A 1000-byte frame whose first byte is n (which frame it was).
std::vector<std::byte> numbered_frame(int n) {
    std::vector<std::byte> frame(1000, std::byte{0xab});
    frame[0] = static_cast<std::byte>(n);
    return frame;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pcapng_tests)

BOOST_AUTO_TEST_CASE(pcapng_file_has_header_blocks_and_one_block_per_frame) {
    scratch_dir tmp;
    const std::string path = tmp.file("one.pcapng");
    {
        link::pcapng_writer w{path, "test0"};
        std::vector<std::byte> frame(60, std::byte{0xab});
        w.write(frame, std::chrono::system_clock::now());
        w.write(frame, std::chrono::system_clock::now(), "SYN_SENT -> ESTABLISHED");
        BOOST_TEST(w.frames() == 2u);
        BOOST_TEST(w.rotations() == 0u);
    }
    const auto blocks = read_blocks(path);
    BOOST_REQUIRE(blocks.size() == 4u);
    BOOST_TEST(blocks[0].type == section_header_type);
    BOOST_TEST(blocks[1].type == interface_type);
    BOOST_TEST(blocks[2].type == packet_type);
    BOOST_TEST(blocks[3].type == packet_type);
    BOOST_TEST(blocks[3].body.find("SYN_SENT -> ESTABLISHED") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rotated_names_count_up_from_the_path) {
    BOOST_TEST(link::rotated_name("cap.pcapng", 0) == "cap.pcapng");
    BOOST_TEST(link::rotated_name("cap.pcapng", 1) == "cap.pcapng.1");
    BOOST_TEST(link::rotated_name("cap.pcapng", 12) == "cap.pcapng.12");
}

// 30 frames of ~1 KiB into files of at most 4000 bytes, 3 kept: each file
// starts with its own headers, stays under the bound, and the newest
// frames are the ones kept (the oldest files were dropped).
BOOST_AUTO_TEST_CASE(rotation_keeps_files_each_whole_and_under_the_bound) {
    scratch_dir tmp;
    const std::string path = tmp.file("cap.pcapng");
    const std::uint64_t max_bytes = 4000;
    {
        link::pcapng_writer w{path, "test0", {.max_bytes = max_bytes, .files = 3}};
        for (int i = 0; i < 30; ++i) w.write(numbered_frame(i), std::chrono::system_clock::now());
        BOOST_TEST(w.frames() == 30u);
        BOOST_TEST(w.rotations() > 2u);
    }
    std::vector<int> kept;  // frame numbers, oldest file first
    for (unsigned i = 3; i-- > 0;) {
        const std::string name = link::rotated_name(path, i);
        BOOST_TEST_CONTEXT(name) {
            BOOST_REQUIRE(std::filesystem::exists(name));
            BOOST_TEST(std::filesystem::file_size(name) <= max_bytes);
            const auto blocks = read_blocks(name);
            BOOST_REQUIRE(blocks.size() >= 3u);
            BOOST_TEST(blocks[0].type == section_header_type);
            BOOST_TEST(blocks[1].type == interface_type);
            for (std::size_t b = 2; b < blocks.size(); ++b) {
                BOOST_TEST(blocks[b].type == packet_type);
                kept.push_back(static_cast<unsigned char>(blocks[b].body[20]));  // after the EPB's 20-byte header
            }
        }
    }
    BOOST_TEST(!std::filesystem::exists(link::rotated_name(path, 3)));
    BOOST_REQUIRE(!kept.empty());
    BOOST_TEST(kept.back() == 29);  // the newest frame is in path itself
    for (std::size_t i = 1; i < kept.size(); ++i) BOOST_TEST(kept[i] == kept[i - 1] + 1);  // none lost in between
}

// A frame larger than max_bytes is not dropped: it gets a file of its own.
BOOST_AUTO_TEST_CASE(a_frame_larger_than_the_bound_gets_a_file_of_its_own) {
    scratch_dir tmp;
    const std::string path = tmp.file("big.pcapng");
    {
        link::pcapng_writer w{path, "test0", {.max_bytes = 2000, .files = 2}};
        w.write(numbered_frame(1), std::chrono::system_clock::now());
        w.write(std::vector<std::byte>(5000, std::byte{0x11}), std::chrono::system_clock::now());
        BOOST_TEST(w.frames() == 2u);
        BOOST_TEST(w.rotations() == 1u);
    }
    BOOST_TEST(read_blocks(path).size() == 3u);
    BOOST_TEST(std::filesystem::file_size(path) > 5000u);
    BOOST_TEST(read_blocks(link::rotated_name(path, 1)).size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
