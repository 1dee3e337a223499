# Sourced by demo.sh and bench.sh: the network namespaces of one run, named
# uniquely (cn<tag><pid>...) and deleted, with whatever still runs in them,
# when the script exits: normally, on failure (set -e) or on ^C / SIGTERM.
#
#   netns_init TAG                   netns_id=cn<TAG><pid>; sets the EXIT, INT and TERM traps
#   netns_add NS...                  namespaces, each with lo up
#   netns_veth IF_A NS_A IF_B NS_B   a veth pair between two namespaces, both ends up
#   netns_bridge NS PORT...          br0 in NS (a namespace of its own), PORT... (veth ends in NS) on it
#   netns_at_exit+=(COMMAND)         more to do at exit (once its processes are gone), e.g. rm -rf "$work"
#
# The shapes are those of tests/netns/netns.cpp's topology, built by the same
# steps (keep the two in step): a veth pair between two namespaces
# (middle::none), or endpoint namespaces joined by veth pairs to a bridge in
# a namespace of its own (middle::bridge). The endpoints carry the addresses;
# the bridge's namespace carries none.

netns_init() {
    netns_id="cn$1$$"
    netns_names=()
    netns_at_exit=()
    trap netns_cleanup EXIT
    trap 'exit 130' INT TERM
}

netns_add() {
    local ns
    for ns in "$@"; do
        ip netns add "$ns"
        netns_names+=("$ns")
        ip -n "$ns" link set lo up
    done
}

netns_veth() {
    ip link add "$1" netns "$2" type veth peer name "$3" netns "$4"
    ip -n "$2" link set "$1" up
    ip -n "$4" link set "$3" up
}

netns_bridge() {
    local ns=$1 port
    shift
    ip -n "$ns" link add br0 type bridge
    for port in "$@"; do ip -n "$ns" link set "$port" master br0; done
    ip -n "$ns" link set br0 up
}

# The EXIT trap: every process still in the namespaces (SIGTERM, SIGKILL
# after 2 s) and the script's other background jobs, then the script's own
# clean-up (netns_at_exit), then the namespaces. Keeps the exit status.
netns_cleanup() {
    local rc=$? cmd ns pid left
    trap - EXIT INT TERM
    for ns in "${netns_names[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    done
    for _ in $(seq 20); do
        left=0
        for ns in "${netns_names[@]}"; do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] || left=1; done
        [ $left -eq 1 ] || break
        sleep 0.1
    done
    for ns in "${netns_names[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    done
    for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for cmd in "${netns_at_exit[@]}"; do eval "$cmd" || true; done
    for ns in "${netns_names[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    exit "$rc"
}
