#!/usr/bin/env bash
# The benchmark: builds Release, then measures coronet's TCP against the
# kernel's with coronet-bench on veth between two network namespaces it
# creates (and always deletes). Each mode (bulk both ways, rr, crr) runs as
#   kernel client -> kernel server    the baseline, on a veth pair with kernel addresses at both ends
#   kernel client -> coronet server   on a second veth pair whose coronet end has no kernel address
#   coronet client -> kernel server   on that second pair too
# and the table gives each figure with its ratio to the baseline of the same
# run, then the machine and the date. Nothing is asserted: it measures.
# Needs root.
#
# Usage: cmake/bench.sh [-d|--duration SECONDS]   (default 5 per cell, or $CORONET_BENCH_DURATION)
# The build directory is build/release unless $CORONET_BENCH_BUILD_DIR names another.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${CORONET_BENCH_DURATION:-5}
while [ $# -gt 0 ]; do
    case $1 in
    -d | --duration) duration=${2:?--duration needs SECONDS}; shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
[[ $duration =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "bench.sh: --duration wants seconds, got '$duration'" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
    echo "bench.sh: needs root (it creates network namespaces)" >&2
    exit 1
fi

# shellcheck source=cmake/deps.sh
source cmake/deps.sh
install_deps
build_dir=${CORONET_BENCH_BUILD_DIR:-build/release}
build_tree "$build_dir" -DCMAKE_BUILD_TYPE=Release
bench=$PWD/$build_dir/apps/coronet-bench

# Two namespaces, C (clients' side) and S (servers' side), and two veth pairs between them:
#   k: 10.203.0.1 (C) <-> 10.203.0.2 (S), kernel addresses at both ends
#   u: 10.204.0.1 (C, kernel) <-> S end owned by coronet as 10.204.0.2, no kernel address
id="cnb$$"
ns_c="${id}c" ns_s="${id}s"
work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    ip netns del "$ns_c" 2>/dev/null || true
    ip netns del "$ns_s" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns_c"
ip netns add "$ns_s"
ip link add "${id}ck" netns "$ns_c" type veth peer name "${id}sk" netns "$ns_s"
ip link add "${id}cu" netns "$ns_c" type veth peer name "${id}su" netns "$ns_s"
for ns in "$ns_c" "$ns_s"; do ip -n "$ns" link set lo up; done
for end in ck:"$ns_c" sk:"$ns_s" cu:"$ns_c" su:"$ns_s"; do ip -n "${end#*:}" link set "${id}${end%%:*}" up; done
ip -n "$ns_c" addr add 10.203.0.1/24 dev "${id}ck"
ip -n "$ns_s" addr add 10.203.0.2/24 dev "${id}sk"
ip -n "$ns_c" addr add 10.204.0.1/24 dev "${id}cu"
coronet=(--iface "${id}su" --ip 10.204.0.2/24)
port=5201

# Starts a server (args: namespace, coronet-bench server arguments...) and waits until it listens.
start_server() {
    local ns=$1
    shift
    ip netns exec "$ns" "$bench" server --listen "$port" "$@" >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    for _ in $(seq 100); do
        grep -q listening "$work/server.err" 2>/dev/null && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "bench.sh: the server did not start: $(cat "$work/server.err")" >&2
    return 1
}

# Stops the server (it then writes its totals to server.out). Not to be run
# in a subshell: only this shell can wait for the server.
stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# One cell: a fresh server, one client run, both JSON lines appended to the results.
# args: cell name, server namespace, server args (one string), client namespace, client args...
failures=0
run_cell() {
    local cell=$1 server_ns=$2 server_args=$3 client_ns=$4
    shift 4
    local client=null server=null
    # shellcheck disable=SC2086  # server_args is a list of words on purpose
    if start_server "$server_ns" $server_args; then
        # --foreground: the client stays in the terminal's process group, so ^C reaches it
        if ! client=$(timeout --foreground $((${duration%.*} + 30)) ip netns exec "$client_ns" "$bench" client \
            --duration "$duration" "$@" 2>"$work/client.err"); then
            echo "bench.sh: $cell failed: $(cat "$work/client.err")" >&2
            client=null
            failures=$((failures + 1))
        fi
        stop_server
        server=$(grep '"role":"server"' "$work/server.out" || echo null)
    else
        failures=$((failures + 1))
    fi
    printf '%s\t%s\t%s\n' "$cell" "$client" "$server" >>"$work/results"
    echo "   $cell: $client" >&2
}

modes=("bulk:--mode bulk" "bulk-reverse:--mode bulk --reverse" "rr:--mode rr" "crr:--mode crr")
echo "== coronet-bench, $duration s per cell, namespaces $ns_c / $ns_s" >&2
for m in "${modes[@]}"; do
    name=${m%%:*}
    read -r -a args <<<"${m#*:}"
    run_cell "$name/kernel-kernel" "$ns_s" "--stack kernel" "$ns_c" --stack kernel --connect 10.203.0.2:$port "${args[@]}"
    run_cell "$name/kernel-coronet" "$ns_s" "${coronet[*]}" "$ns_c" --stack kernel --connect 10.204.0.2:$port "${args[@]}"
    run_cell "$name/coronet-kernel" "$ns_c" "--stack kernel" "$ns_s" "${coronet[@]}" --connect 10.204.0.1:$port "${args[@]}"
done

/usr/bin/python3 - "$work/results" "$duration" <<'EOF'
import json, sys

cells = {}
for line in open(sys.argv[1]):
    name, client, server = line.rstrip("\n").split("\t")
    cells[name] = (json.loads(client), json.loads(server))

rows = [  # label, cell mode, JSON field
    ("bulk client->server Gbit/s", "bulk", "gbit_per_s"),
    ("bulk server->client Gbit/s", "bulk-reverse", "gbit_per_s"),
    ("rr 1-byte transactions/s", "rr", "transactions_per_s"),
    ("rr p50 latency us", "rr", "p50_us"),
    ("rr p99 latency us", "rr", "p99_us"),
    ("crr connections/s", "crr", "connections_per_s"),
    ("crr p50 latency us", "crr", "p50_us"),
    ("crr p99 latency us", "crr", "p99_us"),
]
pairs = [("kernel-kernel", "kernel -> kernel"), ("kernel-coronet", "kernel -> coronet"),
         ("coronet-kernel", "coronet -> kernel")]

def figure(mode, pair, field):
    client = cells.get(f"{mode}/{pair}", (None, None))[0]
    return client.get(field) if client else None

def show(v):
    return "failed" if v is None else f"{v:.2f}" if v < 100 else f"{v:.0f}"

print(f"coronet-bench, {sys.argv[2]} s per cell; client -> server; (xR) = ratio to kernel -> kernel "
      "(for latencies, above 1 is slower)")
print(f"{'':28}" + "".join(f"{title:>22}" for _, title in pairs))
for label, mode, field in rows:
    base = figure(mode, "kernel-kernel", field)
    out = f"{label:28}"
    for pair, _ in pairs:
        v = figure(mode, pair, field)
        ratio = f" (x{v / base:.2f})" if pair != "kernel-kernel" and v is not None and base else ""
        out += f"{show(v) + ratio:>22}"
    print(out)
print("retransmits, client/server side:")
for mode in ("bulk", "bulk-reverse", "rr", "crr"):
    out = f"  {mode:26}"
    for pair, _ in pairs:
        client, server = cells.get(f"{mode}/{pair}", (None, None))
        both = f"{client['retransmits']}/{server['retransmits']}" if client and server else "-"
        out += f"{both:>22}"
    print(out)
EOF
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), Linux $(uname -r)"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
[ "$failures" -eq 0 ] || { echo "bench.sh: $failures cell(s) failed" >&2; exit 1; }
