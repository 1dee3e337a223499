# Sourced by check.sh and demo.sh: installs the Debian packages coronet needs
# (only those missing; apt-get update runs once, only if something is missing).
coronet_packages=(
    build-essential cmake ninja-build pkg-config
    liburing-dev libboost1.81-dev libboost-test1.81-dev libboost-program-options1.81-dev
    libspdlog-dev nlohmann-json3-dev libbenchmark-dev libssl-dev clang clang-format
    iproute2 ethtool iputils-ping nftables curl socat iperf3 python3-scapy tcpdump tshark procps
)

install_deps() {
    local missing=()
    for p in "${coronet_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: packages are missing and this is not root: ${missing[*]}" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Configures and builds one build directory: build_tree DIR [cmake args...]
# Two jobs more than cores, as ninja's default: on a machine busy with other
# work the build keeps its share of the CPU (beside two CPU-bound loops on 2
# cores the check's builds took 16.5 minutes with -j 2).
build_tree() {
    local dir=$1
    shift
    cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
    cmake --build "$dir" -j "$(($(nproc) + 2))"
}
