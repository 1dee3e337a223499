// TCP options: tcp_options::parse on any option list (longer than the 40
// bytes a header holds, too), its bounds, and the emit/parse round trip.
#include "tcp_options_roundtrip.hpp"

namespace wire = coronet::wire;
using coronet::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto o = wire::tcp_options::parse(coronet::fuzz::input_bytes(data, size));
    if (!o) return 0;
    require(o->sack_count <= o->sack.size(), "tcp_options: more SACK blocks than the array holds");
    coronet::fuzz::require_options_roundtrip(*o, "tcp_options: emit/parse round trip");
    return 0;
}
