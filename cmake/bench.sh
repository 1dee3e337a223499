#!/usr/bin/env bash
# The benchmark: builds Release, then measures coronet's TCP against the
# kernel's with coronet-bench on veth between two network namespaces it
# creates (and always deletes). Each mode (bulk both ways, rr, crr) runs as
#   kernel client -> kernel server    the baseline, on a veth pair with kernel addresses at both ends
#   kernel client -> coronet server   on a second veth pair whose coronet end has no kernel address
#   coronet client -> kernel server   on that second pair too
#   coronet client -> coronet server  on a third veth pair with no kernel address at
#                                     either end: two stacks, one loop each
# and the table gives each figure with its ratio to the baseline of the same
# run: rr and crr also with busy polling at both ends (--busy-poll 50), bulk
# also with CUBIC at every end (the all-CUBIC rows: kernel sockets --cc cubic,
# coronet --tcp-cc cubic; not with --kernel-args or --coronet-args) and with
# coronet's segmentation offload off (--no-offload). Then:
#   loops   crr and bulk over 8 connections with coronet on one loop and on
#           two (--loops), with the scaling factor; coronet ->
#           coronet with the same number of loops at both ends
#   link    frame rates (Mpps) of 64- and 1514-byte frames through a plain
#           AF_PACKET socket (raw) and through coronet's device, each way, on
#           the kernel pair: a raw sender in C loads both receivers in S, a raw
#           receiver in C counts for both senders in S; every rate is what the
#           receiver counted, with the sender's own count and the frames lost
#   memory  100,000 idle kernel connections (8 source addresses x 12,500) to
#           coronet-test-sink: the sink's RSS growth and bytes per connection
#   million 1,000,000 idle connections coronet -> coronet (coronet-test-dialer,
#           one address, 16 server ports x 62,500 local ports, to
#           coronet-test-sink holding them): the sink's RSS growth, bytes per
#           connection, and seconds to establish them all
#           ($CORONET_BENCH_MILLION connections instead when set)
#   proxy-memory  2,000 idle sessions through coronet-proxy to a kernel
#           upstream: the proxy's RSS growth and bytes per session
#   beast   one Boost.Beast file server (coronet-beast-files) over kernel
#           sockets (--kernel, on the kernel pair) and over coronet's Asio
#           adapters: curl in C fetches a 32 MiB file 8 times on one
#           keep-alive connection; MB/s of the whole, and coronet / kernel
#   micro   coronet-microbench (Google Benchmark) for parsing, checksums,
#           timers, reassembly and one Asio adapter round against the native API
# and the machine and the date. Nothing is asserted: it measures. Needs root.
#
# Usage: cmake/bench.sh [-d|--duration SECONDS] [--only SECTION] [--coronet-args "ARGS"]
#                       [--kernel-args "ARGS"] [--no-build]
#   --duration      seconds per cell (default 5, or $CORONET_BENCH_DURATION)
#   --only          one section: tcp (the coronet-bench cells and loops), link,
#                   memory, million, proxy-memory, beast or micro
#   --coronet-args  more options for every coronet end of the tcp section,
#                   e.g. "--tcp-cc bbr" (the kernel ends keep their default;
#                   coronet -> coronet has it at both ends)
#   --kernel-args   more options for every kernel end of the tcp section,
#                   e.g. "--cc cubic" (the kernel sockets' congestion control;
#                   kernel -> kernel has it at both ends)
#   --no-build      use the build directory as it is
# The build directory is build/release unless $CORONET_BENCH_BUILD_DIR names
# another (absolute, or relative to the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${CORONET_BENCH_DURATION:-5}
only=
coronet_extra=
kernel_extra=
build=1
while [ $# -gt 0 ]; do
    case $1 in
    -d | --duration) duration=${2:?--duration needs SECONDS}; shift 2 ;;
    --only) only=${2:?--only needs a SECTION}; shift 2 ;;
    --coronet-args) coronet_extra=${2?--coronet-args needs ARGS}; shift 2 ;;
    --kernel-args) kernel_extra=${2?--kernel-args needs ARGS}; shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
[[ $duration =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "bench.sh: --duration wants seconds, got '$duration'" >&2; exit 2; }
[[ -z $only || $only =~ ^(tcp|link|memory|million|proxy-memory|beast|micro)$ ]] ||
    { echo "bench.sh: --only wants tcp, link, memory, million, proxy-memory, beast or micro, got '$only'" >&2; exit 2; }
# Whether section $1 runs (all of them without --only).
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }
if [ "$(id -u)" -ne 0 ]; then
    echo "bench.sh: needs root (it creates network namespaces)" >&2
    exit 1
fi

# shellcheck source=cmake/deps.sh
source cmake/deps.sh
build_dir=${CORONET_BENCH_BUILD_DIR:-build/release}
if [ $build -eq 1 ]; then
    install_deps
    build_tree "$build_dir" -DCMAKE_BUILD_TYPE=Release
fi
[[ $build_dir == /* ]] || build_dir=$PWD/$build_dir  # absolute or relative to the checkout
bench=$build_dir/apps/coronet-bench
sink=$build_dir/tests/netns/coronet-test-sink
clients=$build_dir/tests/netns/coronet-test-clients
dialer=$build_dir/tests/netns/coronet-test-dialer
proxy=$build_dir/apps/coronet-proxy

# Two namespaces, C (clients' side) and S (servers' side), and three veth pairs between them:
#   k: 10.203.0.1 (C) <-> 10.203.0.2 (S), kernel addresses at both ends
#   u: 10.204.0.1 (C, kernel) <-> S end owned by coronet as 10.204.0.2, no kernel address
#   w: C end owned by coronet as 10.206.0.1 <-> S end owned by coronet as 10.206.0.2, no
#      kernel address at either end (nor IPv6: only the two stacks' frames cross it)
source cmake/netns.sh
netns_init b
id=$netns_id
ns_c="${id}c" ns_s="${id}s"
work=$(mktemp -d)
netns_at_exit+=('rm -rf "$work"')
: >"$work/results"
server_pid=
background=()  # other programs this script started: link receivers, the sink, its clients
netns_add "$ns_c" "$ns_s"
netns_veth "${id}ck" "$ns_c" "${id}sk" "$ns_s"
netns_veth "${id}cu" "$ns_c" "${id}su" "$ns_s"
netns_veth "${id}cw" "$ns_c" "${id}sw" "$ns_s"
ip netns exec "$ns_c" sysctl -qw "net.ipv6.conf.${id}cw.disable_ipv6=1"
ip netns exec "$ns_s" sysctl -qw "net.ipv6.conf.${id}sw.disable_ipv6=1"
ip -n "$ns_c" addr add 10.203.0.1/24 dev "${id}ck"
ip -n "$ns_s" addr add 10.203.0.2/24 dev "${id}sk"
ip -n "$ns_c" addr add 10.204.0.1/24 dev "${id}cu"
# shellcheck disable=SC2206  # --coronet-args is a list of words on purpose
coronet=(--iface "${id}su" --ip 10.204.0.2/24 $coronet_extra)
# shellcheck disable=SC2206  # $kernel_extra is a list of words on purpose
kernel=(--stack kernel $kernel_extra)
# shellcheck disable=SC2206
coronet_c=(--iface "${id}cw" --ip 10.206.0.1/24 $coronet_extra)
# shellcheck disable=SC2206
coronet_s=(--iface "${id}sw" --ip 10.206.0.2/24 $coronet_extra)
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
if want tcp; then  # (not indented: the cells below are the tcp section)
modes=("bulk:--mode bulk" "bulk-reverse:--mode bulk --reverse" "rr:--mode rr" "crr:--mode crr"
    "rr-busy:--mode rr --busy-poll $busy_poll" "crr-busy:--mode crr --busy-poll $busy_poll")
# Bulk again with CUBIC on every end (coronet-bench's --cc: the kernel sockets'
# TCP_CONGESTION, coronet's --tcp-cc): the kernel's default, BBR, paces at the
# rate it measures, and on veth it measures kernel -> kernel at an absurd rate
# (the receiver's ACK comes back inside the sender's own transmit) but kernel
# -> coronet at the true one, so there its pacing timers cost the sender CPU;
# CUBIC does not pace (README, "Benchmarks against the kernel"). Not with
# --kernel-args or --coronet-args, which may name a controller of their own.
if [ -z "$kernel_extra$coronet_extra" ]; then
    modes+=("bulk-cubic:--mode bulk --cc cubic" "bulk-reverse-cubic:--mode bulk --reverse --cc cubic")
fi
echo "== coronet-bench, $duration s per cell, namespaces $ns_c / $ns_s${coronet_extra:+, coronet with $coronet_extra}${kernel_extra:+, kernel sockets with $kernel_extra}" >&2
for m in "${modes[@]}"; do
    name=${m%%:*}
    read -r -a args <<<"${m#*:}"
    server_extra=
    [[ $name == *-busy ]] && server_extra=" --busy-poll $busy_poll"
    [[ $name == *-cubic ]] && server_extra=" --cc cubic"
    run_cell "$name/kernel-kernel" "$ns_s" "${kernel[*]}$server_extra" "$ns_c" "${kernel[@]}" --connect 10.203.0.2:$port "${args[@]}"
    run_cell "$name/kernel-coronet" "$ns_s" "${coronet[*]}$server_extra" "$ns_c" "${kernel[@]}" --connect 10.204.0.2:$port "${args[@]}"
    run_cell "$name/coronet-kernel" "$ns_c" "${kernel[*]}$server_extra" "$ns_s" "${coronet[@]}" --connect 10.204.0.1:$port "${args[@]}"
    run_cell "$name/coronet-coronet" "$ns_s" "${coronet_s[*]}$server_extra" "$ns_c" "${coronet_c[@]}" \
        --connect 10.206.0.2:$port "${args[@]}"
done
# Two loops (--loops): 8 connections at once, coronet with one
# loop and with two (coronet -> coronet: at both ends), and kernel -> kernel
# with 8 connections for reference.
for m in "crr8:--mode crr" "bulk8:--mode bulk"; do
    name=${m%%:*}
    read -r -a args <<<"${m#*:}"
    run_cell "$name/kernel-kernel" "$ns_s" "${kernel[*]}" "$ns_c" "${kernel[@]}" --connect 10.203.0.2:$port \
        --connections 8 "${args[@]}"
    for loops in 1 2; do
        run_cell "$name/kernel-coronet/loops$loops" "$ns_s" "${coronet[*]} --loops $loops" "$ns_c" "${kernel[@]}" \
            --connect 10.204.0.2:$port --connections 8 "${args[@]}"
        run_cell "$name/coronet-kernel/loops$loops" "$ns_c" "${kernel[*]}" "$ns_s" "${coronet[@]}" --loops "$loops" \
            --connect 10.204.0.1:$port --connections 8 "${args[@]}"
        run_cell "$name/coronet-coronet/loops$loops" "$ns_s" "${coronet_s[*]} --loops $loops" "$ns_c" \
            "${coronet_c[@]}" --loops "$loops" --connect 10.206.0.2:$port --connections 8 "${args[@]}"
    done
done
# What segmentation offload is worth: coronet sending MTU-sized frames it checksums itself.
run_cell "bulk-no-offload/coronet-kernel" "$ns_c" "${kernel[*]}" "$ns_s" "${coronet[@]}" --no-offload \
    --connect 10.204.0.1:$port --mode bulk
run_cell "bulk-reverse-no-offload/kernel-coronet" "$ns_s" "${coronet[*]} --no-offload" "$ns_c" "${kernel[@]}" \
    --connect 10.204.0.2:$port --mode bulk --reverse
fi  # want tcp

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

if want link; then
    echo "== coronet-bench link, $duration s per cell, on ${id}ck (C, peer) / ${id}sk (S, under test)" >&2
    for size in 64 1514; do
        for path in raw device; do
            run_link_cell receive "$size" "$path" "$ns_s" "${id}sk" "$path" "$ns_c" "${id}ck" raw
            run_link_cell send "$size" "$path" "$ns_c" "${id}ck" raw "$ns_s" "${id}sk" "$path"
        done
    done
fi

# Starts coronet-test-sink in S for cell $1, its output in $work/$2.out and
# .err, with the options that follow, and sets sink_pid; if it does not
# start listening, counts a failure, records the cell as null and returns 1.
start_sink() {
    local cell=$1 out=$2
    shift 2
    ip netns exec "$ns_s" "$sink" "$@" >"$work/$out.out" 2>"$work/$out.err" &
    sink_pid=$!
    background+=("$sink_pid")
    wait_for_line "$work/$out.out" listening "$sink_pid" && return 0
    echo "bench.sh: $cell: the sink did not start: $(cat "$work/$out.err")" >&2
    failures=$((failures + 1))
    printf '%s\tnull\tnull\n' "$cell" >>"$work/results"
    return 1
}

# Sends SIGUSR1 to the coronet-test-sink $2 and prints the report line it
# draws in its output file $1 (waiting up to 10 s for it).
sink_report() {
    local out=$1 pid=$2 before
    before=$(grep -c '"report":"usr1"' "$out" || true)
    kill -USR1 "$pid"
    for _ in $(seq 200); do
        [ "$(grep -c '"report":"usr1"' "$out" || true)" -gt "$before" ] && break
        sleep 0.05
    done
    grep '"report":"usr1"' "$out" | tail -1
}

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
    local sink_pid
    start_sink memory sink "${coronet[@]}" --listen "$port" --mode hold --backlog 4096 \
        --memory-limit $((64 << 30)) || return
    local base
    base=$(sink_report "$work/sink.out" "$sink_pid")
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
        report=$(sink_report "$work/sink.out" "$sink_pid")
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
if want memory; then
    echo "== memory: $memory_connections idle connections to coronet-test-sink" >&2
    run_memory_cell
fi

# The million cell: coronet -> coronet on the w pair (no kernel address at
# either end). The sink listens on 16 ports and holds every connection; the
# dialer, one stack on one address, opens them from local ports 1024-65535
# to each port in turn, at most 500 opening at once (2,000 at once lost
# SYNs to the bursts and waited for retransmissions). The limits that would
# refuse them are raised: max_connections, and memory_limit, which counts
# each connection's buffer capacity (512 KiB) though idle ones allocate none.
# Bounded: the dialer gives up after 240 s; the cell waits 300 s at most.
million_connections=${CORONET_BENCH_MILLION:-1000000}
run_million_cell() {
    local port=5600 ports=16 n=$million_connections report=null base=null dialed=null
    local sink_pid
    start_sink million msink "${coronet_s[@]}" --listen "$port" --ports "$ports" --mode hold --backlog 4096 \
        --memory-limit $((1 << 50)) --max-connections $((n + 1000)) || return
    base=$(sink_report "$work/msink.out" "$sink_pid")
    ip netns exec "$ns_c" "$dialer" "${coronet_c[@]}" --connect 10.206.0.2 --port "$port" --ports "$ports" \
        --count "$n" --parallel 500 --timeout 240 --tcp-memory-limit 1048576G \
        --tcp-max-connections $((n + 1000)) >"$work/dialer.out" 2>"$work/dialer.err" &
    local dialer_pid=$!
    background+=("$dialer_pid")
    local begin=$SECONDS
    while [ $((SECONDS - begin)) -lt 300 ] && ! grep -q '"report":"connected"' "$work/dialer.out" &&
        kill -0 "$dialer_pid" 2>/dev/null; do
        sleep 0.5
    done
    dialed=$(grep '"report":"connected"' "$work/dialer.out" | tail -1 || true)
    [ -n "$dialed" ] || echo "bench.sh: million: the dialer reported nothing: $(tail -3 "$work/dialer.err")" >&2
    # The sink may still be accepting the last ones: a few more seconds.
    for _ in $(seq 20); do
        report=$(sink_report "$work/msink.out" "$sink_pid")
        [ "$(echo "$report" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["accepted"])')" \
            -ge "$n" ] && break
        sleep 0.5
    done
    local dialer_rss
    dialer_rss=$(awk '/VmRSS/ { print $2 }' "/proc/$dialer_pid/status" 2>/dev/null || echo null)
    printf 'million\t{"count":%s,"base":%s,"held":%s,"dialer":%s,"dialer_rss_kib":%s}\tnull\n' \
        "$n" "${base:-null}" "${report:-null}" "${dialed:-null}" "${dialer_rss:-null}" >>"$work/results"
    echo "   million: dialer ${dialed:-none}; sink: $report" | cut -c1-400 >&2
    kill -TERM "$dialer_pid" 2>/dev/null || true
    wait "$dialer_pid" 2>/dev/null || true
    kill -TERM "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
    background=()
}
if want million; then
    echo "== million: $million_connections idle connections coronet -> coronet" >&2
    run_million_cell
fi

# The proxy-memory cell: idle sessions through coronet-proxy (two connections
# each, and what the proxy keeps per session) to a kernel upstream that holds
# them; the proxy's RSS (from /proc) before and after, and per session.
# Bounded: the clients' connects have 30 s, the cell waits at most 60 s.
proxy_sessions=2000
run_proxy_memory_cell() {
    local port=5400 upstream=5401 n=$proxy_sessions before=0 after=0 established=0
    # The upstream: accepts and holds every connection until the client closes.
    ip netns exec "$ns_c" /usr/bin/python3 -c '
import asyncio, sys
async def hold(reader, writer):
    await reader.read()
    writer.close()
async def main():
    server = await asyncio.start_server(hold, sys.argv[1], int(sys.argv[2]), backlog=4096)
    async with server:
        await server.serve_forever()
asyncio.run(main())' 10.204.0.1 "$upstream" >"$work/holder.err" 2>&1 &
    background+=("$!")
    # --tcp-memory-limit: the stack counts each connection's buffer capacity
    # (1 MiB a session by default) whether used or not; idle, none is allocated.
    ip netns exec "$ns_s" "$proxy" "${coronet[@]}" --listen "$port" --upstream "10.204.0.1:$upstream" \
        --max-connections "$n" --max-per-source "$n" --first-byte-timeout 0 --tcp-memory-limit 16G \
        --summary-json "$work/proxy.json" >"$work/proxy.out" 2>"$work/proxy.err" &
    local proxy_pid=$!
    background+=("$proxy_pid")
    rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$proxy_pid/status" 2>/dev/null || echo 0; }
    if ! wait_for_line "$work/proxy.json" listening "$proxy_pid"; then
        echo "bench.sh: proxy-memory: the proxy did not start: $(cat "$work/proxy.err")" >&2
        failures=$((failures + 1))
        printf 'proxy-memory\tnull\tnull\n' >>"$work/results"
        return
    fi
    sleep 1  # the upstream's listen, and the proxy settled
    before=$(rss_kib)
    ip netns exec "$ns_c" "$clients" --connect "10.204.0.2:$port" --count "$n" --parallel 256 --timeout 30 --hold \
        >"$work/pclients.out" 2>"$work/pclients.err" &
    background+=("$!")
    # SIGUSR1 draws a table line: every session is two ESTABLISHED connections.
    local begin=$SECONDS
    while [ $((SECONDS - begin)) -lt 60 ] && [ "$established" -lt $((2 * n)) ]; do
        sleep 0.5
        kill -USR1 "$proxy_pid"
        sleep 0.1
        established=$(grep '"event":"table"' "$work/proxy.json" | tail -1 |
            /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["states"].get("ESTABLISHED", 0))' ||
            echo 0)
    done
    after=$(rss_kib)
    local sessions=$((established / 2))
    printf 'proxy-memory\t{"sessions":%s,"rss_before_kib":%s,"rss_after_kib":%s}\tnull\n' \
        "$sessions" "$before" "$after" >>"$work/results"
    echo "   proxy-memory: $sessions idle sessions, RSS $before -> $after KiB" >&2
    for pid in "${background[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${background[@]}"; do wait "$pid" 2>/dev/null || true; done
    background=()
}
if want proxy-memory; then
    echo "== proxy-memory: $proxy_sessions idle sessions through coronet-proxy" >&2
    run_proxy_memory_cell
fi

# The beast cell: coronet-beast-files in S serving a 32 MiB file, curl in C
# fetching it 8 times on one keep-alive connection (bounded: 120 s). The
# same server code over kernel sockets (--kernel, kernel pair) and coronet.
# args: cell name, server address, server arguments...
run_beast_cell() {
    local cell=beast/$1 address=$2 result=null out
    shift 2
    ip netns exec "$ns_s" "$build_dir/apps/coronet-beast-files" "$@" --listen 8080 --root "$work/www" \
        >"$work/beast.out" 2>"$work/beast.err" &
    local pid=$!
    background+=("$pid")
    local fetches=()
    for _ in $(seq 8); do fetches+=(-o /dev/null "http://$address:8080/file"); done
    if ! wait_for_line "$work/beast.out" listening "$pid"; then
        echo "bench.sh: $cell: the server did not start: $(cat "$work/beast.err")" >&2
        failures=$((failures + 1))
    elif out=$(timeout --foreground 120 ip netns exec "$ns_c" curl -sS --max-time 110 \
        -w '%{size_download} %{time_total}\n' "${fetches[@]}" 2>"$work/curl.err"); then
        result=$(awk '{ bytes += $1; seconds += $2 } END { printf "{\"bytes\":%d,\"seconds\":%.3f,\"mb_per_s\":%.1f}", bytes, seconds, bytes / seconds / 1e6 }' <<<"$out")
    else
        echo "bench.sh: $cell: curl failed: $(cat "$work/curl.err")" >&2
        failures=$((failures + 1))
    fi
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    background=()
    printf '%s\t%s\tnull\n' "$cell" "$result" >>"$work/results"
    echo "   $cell: $result" >&2
}
if want beast; then
    echo "== beast: coronet-beast-files, 8 x 32 MiB on one connection, kernel sockets and coronet" >&2
    mkdir -p "$work/www"
    head -c 32M /dev/urandom >"$work/www/file"
    run_beast_cell kernel 10.203.0.2 --kernel --iface "${id}sk" --ip 10.203.0.2/24
    run_beast_cell coronet 10.204.0.2 "${coronet[@]}"
fi

/usr/bin/python3 cmake/bench_report.py "$work/results" "$duration" "$busy_poll" "${only:-all}"
if want micro; then
    echo
    echo "microbenchmarks (coronet-microbench, CPU time per operation of the sans-I/O hot paths, and one"
    echo "round of a 64/4096/65536-byte write and its read through the Asio adapter and the native API):"
    "$build_dir/tests/micro/coronet-microbench" --benchmark_format=console --benchmark_min_time=0.1 \
        --benchmark_filter='^internet_checksum/|tcp_parse_verify|receive_path|tcp_repr_emit_verify|/100000|reassemble_shuffled/44|_round/' \
        2>/dev/null || { echo "bench.sh: coronet-microbench failed" >&2; failures=$((failures + 1)); }
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), Linux $(uname -r)"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
[ "$failures" -eq 0 ] || { echo "bench.sh: $failures cell(s) failed" >&2; exit 1; }
