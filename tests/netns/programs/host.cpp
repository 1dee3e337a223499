// coronet-test-host: the stack on an interface doing nothing but answering
// ARP and ping, for the netns tier. Prints "ready" once started and, on
// SIGTERM/SIGINT, its counters as one JSON object; exits 0.
#include "../../../apps/common/options.hpp"

#include <coronet/api/stack.hpp>

#include <cstdio>

using namespace coronet;

int main(int argc, char** argv) {
    apps::common_options common;
    apps::command_line cl;
    cl.usage = "coronet-test-host --iface IF --ip A.B.C.D/N [options]";
    cl.summary = "Runs the stack until SIGTERM, then prints its counters as JSON (test helper).";
    cl.options.add(apps::common_description(common));
    apps::parse_or_exit(argc, argv, cl, common);
    try {
        runtime::loop loop;
        stack st{loop, common.iface};
        runtime::signal_set signals{loop, {SIGINT, SIGTERM}};
        auto on_signal = [&]() -> runtime::task<void> {
            co_await signals.wait();
            loop.stop();
        };
        loop.spawn(on_signal(), "signals");
        std::printf("ready\n");
        std::fflush(stdout);
        loop.run();
        const auto& h = st.host().counters();
        const auto& d = st.device().counters();
        std::printf(
            "{\"rx_frames\":%lu,\"rx_dropped\":%lu,\"rx_bad_ethernet\":%lu,\"rx_other_mac\":%lu,"
            "\"rx_unknown_ethertype\":%lu,\"rx_bad_arp\":%lu,\"rx_bad_ipv4\":%lu,\"rx_other_ip\":%lu,"
            "\"rx_fragments\":%lu,\"rx_ttl_zero\":%lu,\"rx_unknown_protocol\":%lu,\"rx_bad_icmp\":%lu,"
            "\"icmp_echo_requests\":%lu,\"arp_requests_answered\":%lu,\"dev_rx_frames\":%lu,"
            "\"dev_rx_kernel_drops\":%lu,\"dev_rx_no_buffers\":%lu,\"dev_tx_frames\":%lu,\"dev_tx_dropped\":%lu}\n",
            h.rx_frames, h.rx_dropped(), h.rx_bad_ethernet, h.rx_other_mac, h.rx_unknown_ethertype, h.rx_bad_arp,
            h.rx_bad_ipv4, h.rx_other_ip, h.rx_fragments, h.rx_ttl_zero, h.rx_unknown_protocol, h.rx_bad_icmp,
            h.icmp_echo_requests, h.arp_requests_answered, d.rx_frames, d.rx_kernel_drops, d.rx_no_buffers,
            d.tx_frames, d.tx_dropped);
        return 0;
    } catch (const std::exception& e) {
        apps::die("coronet-test-host", e.what(), 2);
    }
}
