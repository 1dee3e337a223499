#include "options.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

namespace coronet::apps {

po::options_description common_description(common_options& out) {
    po::options_description d("Interface options (shared by every coronet program)");
    d.add_options()
        ("iface", po::value(&out.iface.ifname)->value_name("IF"),
         "interface the stack owns (it should carry no kernel IPv4 address in the stack's subnet)")
        ("ip", po::value(&out.iface.address)->value_name("A.B.C.D/N"), "the stack's IPv4 address and prefix")
        ("gateway", po::value<std::string>()->value_name("A.B.C.D")->notifier([&out](const std::string& g) {
             out.iface.gateway = g;
         }), "next hop for destinations outside the prefix")
        ("mac", po::value<std::string>()->value_name("MAC")->notifier([&out](const std::string& m) {
             out.iface.mac = m;
         }), "source MAC to use (default: the interface's)")
        ("mtu", po::value(&out.iface.mtu)->value_name("BYTES"), "IP MTU (default: the interface's)")
        ("log-level", po::value(&out.log_level)->value_name("LEVEL")->default_value("warn"),
         "trace, debug, info, warn, error or off")
        ("pcap", po::value(&out.iface.pcap)->value_name("FILE"), "write every frame sent and received to a pcapng file");
    return d;
}

std::optional<endpoint> parse_endpoint(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address_v4(text.substr(0, colon), ec);
    if (ec) return std::nullopt;
    const std::string port = text.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    const unsigned long p = std::stoul(port);
    if (p == 0 || p > 65535) return std::nullopt;
    return endpoint{address, static_cast<std::uint16_t>(p)};
}

std::string describe(const std::error_code& ec) {
    if (ec == std::errc::connection_refused) return "connection refused";
    if (ec == std::errc::timed_out) return "connection timed out";
    if (ec == std::errc::connection_reset) return "connection reset by peer";
    if (ec == std::errc::connection_aborted) return "connection aborted";
    if (ec == std::errc::host_unreachable) return "no route to host (ARP failed)";
    if (ec == std::errc::network_unreachable) return "no route to host (no gateway)";
    if (ec == std::errc::broken_pipe) return "the peer closed the connection early";
    if (ec == std::errc::address_not_available) return "no free local port (too many connections in TIME_WAIT?)";
    return ec.message();
}

[[noreturn]] void die(const std::string& program, const std::string& message, int code) {
    std::cerr << program << ": " << message << "\n";
    std::exit(code);
}

po::variables_map parse_or_exit(int argc, char** argv, command_line& cl, common_options& common) {
    const std::string program = argc > 0 ? std::string(argv[0]).substr(std::string(argv[0]).rfind('/') + 1) : "coronet";
    cl.options.add_options()("help,h", "show this help and exit");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(cl.options).positional(cl.positional).run(), vm);
        if (vm.count("help")) {
            std::cout << "Usage: " << cl.usage << "\n\n" << cl.summary << "\n\n" << cl.options << "\n";
            std::exit(0);
        }
        po::notify(vm);
    } catch (const po::error& e) {
        die(program, std::string(e.what()) + "\nTry '" + program + " --help'.", 2);
    }
    const auto level = spdlog::level::from_str(common.log_level);
    if (level == spdlog::level::off && common.log_level != "off")
        die(program, "unknown --log-level '" + common.log_level + "'\nTry '" + program + " --help'.", 2);
    // Logs go to stderr: stdout is data (coronet-cat) or a report (bench, tables).
    spdlog::set_default_logger(spdlog::stderr_color_mt("coronet"));
    spdlog::set_level(level);
    if (common.iface.ifname.empty()) die(program, "--iface is required\nTry '" + program + " --help'.", 2);
    if (common.iface.address.empty()) die(program, "--ip is required\nTry '" + program + " --help'.", 2);
    try {
        parse_ipv4_prefix(common.iface.address);
    } catch (const std::invalid_argument& e) {
        die(program, std::string("--ip: ") + e.what(), 2);
    }
    return vm;
}

}  // namespace coronet::apps
