#!/usr/bin/env bash
# The benchmark: builds Release, then measures coronet's TCP against the
# kernel's with coronet-bench on veth between two network namespaces it
# creates (and always deletes). Each mode (bulk both ways, rr, crr) runs as
#   kernel client -> kernel server    the baseline, on a veth pair with kernel addresses at both ends
#   kernel client -> coronet server   on a second veth pair whose coronet end has no kernel address
#   coronet client -> kernel server   on that second pair too
# and the table gives each figure with its ratio to the baseline of the same
# run: rr and crr also with busy polling at both ends (--busy-poll 50), bulk
# also with coronet's segmentation offload off (--no-offload). Then:
#   loops   crr and bulk over 8 connections with coronet on one loop and on
#           two (--loops, PACKET_FANOUT), with the scaling factor
#   link    frame rates (Mpps) of 64- and 1514-byte frames through a plain
#           AF_PACKET socket (raw) and through coronet's device, each way, on
#           the kernel pair: a raw sender in C loads both receivers in S, a raw
#           receiver in C counts for both senders in S; every rate is what the
#           receiver counted, with the sender's own count and the frames lost
#   memory  100,000 idle kernel connections (8 source addresses x 12,500) to
#           coronet-test-sink: the sink's RSS growth and bytes per connection
#   micro   coronet-microbench (Google Benchmark) for parsing, checksums,
#           timers and reassembly
# and the machine and the date. Nothing is asserted: it measures. Needs root.
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
sink=$PWD/$build_dir/tests/netns/coronet-test-sink
clients=$PWD/$build_dir/tests/netns/coronet-test-clients

# Two namespaces, C (clients' side) and S (servers' side), and two veth pairs between them:
#   k: 10.203.0.1 (C) <-> 10.203.0.2 (S), kernel addresses at both ends
#   u: 10.204.0.1 (C, kernel) <-> S end owned by coronet as 10.204.0.2, no kernel address
id="cnb$$"
ns_c="${id}c" ns_s="${id}s"
work=$(mktemp -d)
server_pid=
background=()  # other programs this script started: link receivers, the sink, its clients
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${background[@]}"; do wait "$pid" 2>/dev/null || true; done
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

# The -busy modes busy-poll (--busy-poll) at both ends, kernel sockets too:
# the same loop code drives both stacks, so both get it.
busy_poll=50
modes=("bulk:--mode bulk" "bulk-reverse:--mode bulk --reverse" "rr:--mode rr" "crr:--mode crr"
    "rr-busy:--mode rr --busy-poll $busy_poll" "crr-busy:--mode crr --busy-poll $busy_poll")
echo "== coronet-bench, $duration s per cell, namespaces $ns_c / $ns_s" >&2
for m in "${modes[@]}"; do
    name=${m%%:*}
    read -r -a args <<<"${m#*:}"
    server_extra=
    [[ $name == *-busy ]] && server_extra=" --busy-poll $busy_poll"
    run_cell "$name/kernel-kernel" "$ns_s" "--stack kernel$server_extra" "$ns_c" --stack kernel --connect 10.203.0.2:$port "${args[@]}"
    run_cell "$name/kernel-coronet" "$ns_s" "${coronet[*]}$server_extra" "$ns_c" --stack kernel --connect 10.204.0.2:$port "${args[@]}"
    run_cell "$name/coronet-kernel" "$ns_c" "--stack kernel$server_extra" "$ns_s" "${coronet[@]}" --connect 10.204.0.1:$port "${args[@]}"
done
# Two loops (--loops, PACKET_FANOUT): 8 connections at once, coronet with one
# loop and with two, and kernel -> kernel with 8 connections for reference.
for m in "crr8:--mode crr" "bulk8:--mode bulk"; do
    name=${m%%:*}
    read -r -a args <<<"${m#*:}"
    run_cell "$name/kernel-kernel" "$ns_s" "--stack kernel" "$ns_c" --stack kernel --connect 10.203.0.2:$port \
        --connections 8 "${args[@]}"
    for loops in 1 2; do
        run_cell "$name/kernel-coronet/loops$loops" "$ns_s" "${coronet[*]} --loops $loops" "$ns_c" --stack kernel \
            --connect 10.204.0.2:$port --connections 8 "${args[@]}"
        run_cell "$name/coronet-kernel/loops$loops" "$ns_c" "--stack kernel" "$ns_s" "${coronet[@]}" --loops "$loops" \
            --connect 10.204.0.1:$port --connections 8 "${args[@]}"
    done
done
# What segmentation offload is worth: coronet sending MTU-sized frames it checksums itself.
run_cell "bulk-no-offload/coronet-kernel" "$ns_c" "--stack kernel" "$ns_s" "${coronet[@]}" --no-offload \
    --connect 10.204.0.1:$port --mode bulk
run_cell "bulk-reverse-no-offload/kernel-coronet" "$ns_s" "${coronet[*]} --no-offload" "$ns_c" --stack kernel \
    --connect 10.204.0.2:$port --mode bulk --reverse

# Waits (up to 10 s) until file has a line matching pattern; false if pid exits first.
wait_for_line() {
    local file=$1 pattern=$2 pid=$3
    for _ in $(seq 200); do
        grep -q "$pattern" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# One link cell: a receiver started first (it outlives the sender by 2 s),
# then the sender for $duration; both JSON lines go to the results as
# "link/DIRECTION/SIZE/PATH<TAB>receiver<TAB>sender".
# args: direction (of the path under test), frame size, path,
#       receiver namespace, interface, path, sender namespace, interface, path
run_link_cell() {
    local cell=link/$1/$2/$3 size=$2
    local rx_ns=$4 rx_if=$5 rx_path=$6 tx_ns=$7 tx_if=$8 tx_path=$9
    local receiver=null sender=null
    ip netns exec "$rx_ns" "$bench" link --iface "$rx_if" --path "$rx_path" --direction receive --frame-size "$size" \
        --duration "$(awk "BEGIN { print $duration + 2 }")" >"$work/rx.out" 2>"$work/rx.err" &
    local rx_pid=$!
    background+=("$rx_pid")
    if wait_for_line "$work/rx.err" receiving "$rx_pid"; then
        if ! sender=$(timeout --foreground $((${duration%.*} + 30)) ip netns exec "$tx_ns" "$bench" link \
            --iface "$tx_if" --path "$tx_path" --direction send --frame-size "$size" --duration "$duration" \
            2>"$work/tx.err"); then
            echo "bench.sh: $cell: the sender failed: $(cat "$work/tx.err")" >&2
            sender=null
            failures=$((failures + 1))
        fi
    else
        echo "bench.sh: $cell: the receiver did not start: $(cat "$work/rx.err")" >&2
        kill "$rx_pid" 2>/dev/null || true
    fi
    if wait "$rx_pid" && [ -s "$work/rx.out" ]; then
        receiver=$(cat "$work/rx.out")
    else
        echo "bench.sh: $cell: the receiver failed: $(cat "$work/rx.err")" >&2
        failures=$((failures + 1))
    fi
    background=()
    printf '%s\t%s\t%s\n' "$cell" "$receiver" "$sender" >>"$work/results"
    echo "   $cell: received $receiver" >&2
}

echo "== coronet-bench link, $duration s per cell, on ${id}ck (C, peer) / ${id}sk (S, under test)" >&2
for size in 64 1514; do
    for path in raw device; do
        run_link_cell receive "$size" "$path" "$ns_s" "${id}sk" "$path" "$ns_c" "${id}ck" raw
        run_link_cell send "$size" "$path" "$ns_c" "${id}ck" raw "$ns_s" "${id}sk" "$path"
    done
done

# The memory cell: coronet-test-sink holds every connection without reading;
# eight coronet-test-clients, each from its own address, open 12,500 each
# (one process needs a descriptor per connection, and the hard RLIMIT_NOFILE
# may be as low as 20,000 without CAP_SYS_RESOURCE to raise it).
# Bounded: each connect has 30 s, the whole cell waits at most 60 s for them.
memory_connections=100000 memory_sources=8
run_memory_cell() {
    local port=5300 per=$((memory_connections / memory_sources)) report=null
    # Room for 12,500 ephemeral ports per source address.
    ip netns exec "$ns_c" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
    # memory_limit caps the buffer capacity connections may grow to (buffers
    # are allocated when first used), not memory in use; past half of it new
    # connections get smaller buffers, and it admits about limit / 200 KiB
    # connections in all (40,097 measured at 8 GiB, so about 10,000 at the
    # default 2 GiB). 64 GiB admits 100,000 with full-sized buffers.
    ip netns exec "$ns_s" "$sink" "${coronet[@]}" --listen "$port" --mode hold --backlog 4096 \
        --memory-limit $((64 << 30)) >"$work/sink.out" 2>"$work/sink.err" &
    local sink_pid=$!
    background+=("$sink_pid")
    # Sends SIGUSR1 and prints the sink's report line it draws.
    sink_report() {
        local before
        before=$(grep -c '"report":"usr1"' "$work/sink.out" || true)
        kill -USR1 "$sink_pid"
        for _ in $(seq 100); do
            [ "$(grep -c '"report":"usr1"' "$work/sink.out" || true)" -gt "$before" ] && break
            sleep 0.05
        done
        grep '"report":"usr1"' "$work/sink.out" | tail -1
    }
    if ! wait_for_line "$work/sink.out" listening "$sink_pid"; then
        echo "bench.sh: memory: the sink did not start: $(cat "$work/sink.err")" >&2
        failures=$((failures + 1))
        printf 'memory\tnull\tnull\n' >>"$work/results"
        return
    fi
    local base
    base=$(sink_report)
    local begin=$SECONDS i
    for i in $(seq "$memory_sources"); do
        ip -n "$ns_c" addr add "10.204.0.$((10 + i))/24" dev "${id}cu"
        ip netns exec "$ns_c" "$clients" --connect "10.204.0.2:$port" --sources "10.204.0.$((10 + i))" \
            --count "$per" --parallel 256 --timeout 30 --hold >"$work/clients$i.out" 2>"$work/clients$i.err" &
        background+=("$!")
    done
    while [ $((SECONDS - begin)) -lt 60 ] &&
        [ "$(cat "$work"/clients*.out 2>/dev/null | grep -c '"report":"connected"')" -lt "$memory_sources" ]; do
        sleep 0.5
    done
    local connect_s=$((SECONDS - begin))
    # The sink may still be accepting the last ones: a few more seconds.
    for _ in $(seq 20); do
        report=$(sink_report)
        [ "$(echo "$report" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["accepted"])')" \
            -ge "$memory_connections" ] && break
        sleep 0.5
    done
    # The clients' reports, summed: {"connected":N,"refused":N,...,"first_error":"..."}.
    local clients_json
    clients_json=$(cat "$work"/clients*.out | grep '"report":"connected"' | /usr/bin/python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin]
total = {k: sum(l[k] for l in lines) for k in ("connected", "refused", "timed_out", "reset", "other_errors")}
total["reports"] = len(lines)
total["first_error"] = next((l["first_error"] for l in lines if l["first_error"]), "")
print(json.dumps(total))')
    printf 'memory\t{"base":%s,"held":%s,"clients":%s,"connect_s":%s}\tnull\n' \
        "${base:-null}" "${report:-null}" "${clients_json:-null}" "$connect_s" >>"$work/results"
    echo "   memory: clients $clients_json in ${connect_s} s; sink: $report" | cut -c1-400 >&2
    # Release the clients (they close everything), then stop the sink.
    for pid in "${background[@]:1}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${background[@]:1}"; do wait "$pid" 2>/dev/null || true; done
    kill -TERM "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
    background=()
}
echo "== memory: $memory_connections idle connections to coronet-test-sink" >&2
run_memory_cell

/usr/bin/python3 - "$work/results" "$duration" "$busy_poll" <<'EOF'
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
    ("rr busy-poll transactions/s", "rr-busy", "transactions_per_s"),
    ("rr busy-poll p50 us", "rr-busy", "p50_us"),
    ("rr busy-poll p99 us", "rr-busy", "p99_us"),
    ("crr busy-poll connections/s", "crr-busy", "connections_per_s"),
    ("bulk c->s no offload Gbit/s", "bulk-no-offload", "gbit_per_s"),
    ("bulk s->c no offload Gbit/s", "bulk-reverse-no-offload", "gbit_per_s"),
]
# The no-offload cells exist for coronet's sending side only; their ratios are to the offloaded kernel baseline.
baseline_mode = {"bulk-no-offload": "bulk", "bulk-reverse-no-offload": "bulk-reverse"}
pairs = [("kernel-kernel", "kernel -> kernel"), ("kernel-coronet", "kernel -> coronet"),
         ("coronet-kernel", "coronet -> kernel")]

def figure(mode, pair, field):
    client = cells.get(f"{mode}/{pair}", (None, None))[0]
    return client.get(field) if client else None

def show(v, mode, pair):
    if v is None:
        return "failed" if f"{mode}/{pair}" in cells else "-"
    return f"{v:.2f}" if v < 100 else f"{v:.0f}"

print(f"coronet-bench, {sys.argv[2]} s per cell; client -> server; (xR) = ratio to kernel -> kernel "
      "(for latencies, above 1 is slower)")
print(f"{'':28}" + "".join(f"{title:>22}" for _, title in pairs))
for label, mode, field in rows:
    base = figure(baseline_mode.get(mode, mode), "kernel-kernel", field)
    out = f"{label:28}"
    for pair, _ in pairs:
        v = figure(mode, pair, field)
        ratio = f" (x{v / base:.2f})" if pair != "kernel-kernel" and v is not None and base else ""
        out += f"{show(v, mode, pair) + ratio:>22}"
    print(out)
print(f"(busy-poll: --busy-poll {sys.argv[3]} us at both ends, kernel sockets included; no offload: coronet with --no-offload)")
print("retransmits, client/server side:")
for mode in ("bulk", "bulk-reverse", "rr", "crr"):
    out = f"  {mode:26}"
    for pair, _ in pairs:
        client, server = cells.get(f"{mode}/{pair}", (None, None))
        both = f"{client['retransmits']}/{server['retransmits']}" if client and server else "-"
        out += f"{both:>22}"
    print(out)
print()
print("two loops (--loops, PACKET_FANOUT), 8 connections at once; (xR) = ratio to kernel -> kernel, [xS] = loops 2 / loops 1")
print(f"{'':38}{'kernel -> kernel':>18}{'loops 1':>18}{'loops 2':>18}{'scaling':>10}")
for label, mode, field in (("crr connections/s", "crr8", "connections_per_s"), ("bulk Gbit/s", "bulk8", "gbit_per_s")):
    base = figure(mode, "kernel-kernel", field)
    for pair, title in (("kernel-coronet", "kernel -> coronet"), ("coronet-kernel", "coronet -> kernel")):
        one, two = figure(mode, f"{pair}/loops1", field), figure(mode, f"{pair}/loops2", field)
        out = f"{label + ', ' + title:38}{show(base, mode, 'kernel-kernel'):>18}"
        for v, loops in ((one, 1), (two, 2)):
            ratio = f" (x{v / base:.2f})" if v is not None and base else ""
            out += f"{show(v, mode, pair + '/loops' + str(loops)) + ratio:>18}"
        out += f"{f'[x{two / one:.2f}]' if one and two else '-':>10}"
        print(out)

print()
print("link: frames per second through a plain AF_PACKET socket (raw) and coronet's device (device);")
print("Mpps as the receiver counted it; (xR) = device / raw. The peer is a raw socket both ways.")
print(f"{'':28}{'raw':>22}{'device':>22}")
def link_rate(direction, size, path):
    receiver = cells.get(f"link/{direction}/{size}/{path}", (None, None))[0]
    return receiver.get("mpps") if receiver else None
for direction in ("receive", "send"):
    for size in (64, 1514):
        raw = link_rate(direction, size, "raw")
        out = f"{direction + ' ' + str(size) + '-byte Mpps':28}{'failed' if raw is None else f'{raw:.3f}':>22}"
        dev = link_rate(direction, size, "device")
        ratio = f" (x{dev / raw:.2f})" if dev is not None and raw else ""
        out += f"{('failed' if dev is None else f'{dev:.3f}') + ratio:>22}"
        print(out)
print("sender's own Mpps / frames lost (sent - received) / of those, dropped at the receiver's socket:")
print(f"{'':28}{'raw':>28}{'device':>28}")
for direction in ("receive", "send"):
    for size in (64, 1514):
        out = f"  {direction + ' ' + str(size) + '-byte':26}"
        for path in ("raw", "device"):
            receiver, sender = cells.get(f"link/{direction}/{size}/{path}", (None, None))
            both = (f"{sender['mpps']:.3f} / {sender['frames'] - receiver['frames']} / {receiver['kernel_drops']}"
                    if receiver and sender else "-")
            out += f"{both:>28}"
        print(out)

print()
memory = cells.get("memory", (None, None))[0]
if memory and memory.get("base") and memory.get("held"):
    base, held = memory["base"], memory["held"]
    accepted = held["accepted"]
    growth = (held["vm_rss_kib"] - base["vm_rss_kib"]) * 1024
    per = f"{growth / accepted:.0f} bytes per connection" if accepted else "no connection"
    clients = memory.get("clients") or {}
    print(f"memory: {accepted} idle connections held by coronet-test-sink "
          f"({held.get('states', {}).get('ESTABLISHED', 0)} ESTABLISHED): RSS {base['vm_rss_kib'] / 1024:.0f} -> "
          f"{held['vm_rss_kib'] / 1024:.0f} MiB (+{growth / 2**20:.0f} MiB; goal <= 1024 MiB for 100,000), {per}")
    print(f"  clients: {clients.get('connected')} connected in {memory['connect_s']} s, {clients.get('refused')} refused, "
          f"{clients.get('timed_out')} timed out, {clients.get('reset', 0) + clients.get('other_errors', 0)} other "
          f"errors{' (first: ' + clients['first_error'] + ')' if clients.get('first_error') else ''}")
else:
    print("memory: failed")
EOF
echo
echo "microbenchmarks (coronet-microbench, CPU time per operation of the sans-I/O hot paths):"
"$PWD/$build_dir/tests/micro/coronet-microbench" --benchmark_format=console --benchmark_min_time=0.1 \
    --benchmark_filter='^internet_checksum/|tcp_parse_verify|receive_path|tcp_repr_emit_verify|/100000|reassemble_shuffled/44' \
    2>/dev/null || { echo "bench.sh: coronet-microbench failed" >&2; failures=$((failures + 1)); }
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), Linux $(uname -r)"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
[ "$failures" -eq 0 ] || { echo "bench.sh: $failures cell(s) failed" >&2; exit 1; }
