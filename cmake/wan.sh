#!/usr/bin/env bash
# The WAN benchmark: coronet's TCP against the kernel's through coronet-impair,
# which relays between two veths in a namespace of its own and adds delay,
# loss, jitter, reordering, duplication or a rate limit:
#
#   A (kernel, 10.205.0.1) <-veth-> R (coronet-impair) <-veth-> B (10.205.0.2)
#
# B's interface carries the kernel's address only while a kernel server runs
# there; otherwise coronet owns it (the README's rule: no kernel address in
# the stack's subnet). The client always runs in A on the kernel. Each cell
# (a set of coronet-impair flags) runs both directions:
#   coronet sends      A's client asks with --reverse; the server in B sends
#   coronet receives   A's client sends to the server in B
# each with B's server on coronet, on the kernel with --cc reno, and on the
# kernel with its default congestion control, all in the same direction, as a
# fixed-size checked transfer (coronet-bench --bytes). The kernel in A runs
# --peer-cc (default reno) against coronet and the same as B against the
# kernel. A fresh relay runs each transfer with --seed = run index, so the
# three stacks of one run meet the same random choices (frame for frame, as
# far as their frames are alike). The table gives the median goodput (Mbit/s,
# from the header sent to the receiver's trailer: the transfer plus about one
# RTT) of --runs runs, the ratios of the medians, and the median
# retransmissions of the sending and the receiving side. A stalled run (none
# within --timeout) is reported as such; a SHA-256 or pattern mismatch fails
# the whole run loudly (exit 1). Nothing else is asserted. Needs root.
#
# Usage: cmake/wan.sh [--bytes N] [--runs N] [--cells LIST] [--timeout S] [--json FILE]
#                     [--peer-cc NAME] [--coronet-args "ARGS"] [--list] [--no-build]
#   --bytes N        transfer size (default 32M; 65536, 256K, 32M, 1G)
#   --runs N         runs per cell, direction and stack (default 3); the table gives medians
#   --cells LIST     comma-separated cell names or shell patterns (default: all; --list names them)
#   --timeout S      the most one transfer may take (default 300)
#   --json FILE      also write every transfer's record (client, server and relay JSON, and the
#                    kernel TCP counters (nstat) that moved in A and B) and the summary
#   --peer-cc NAME   the kernel's congestion control in A against coronet (default reno)
#   --coronet-args   more coronet options for B's coronet server, e.g. "--tcp-buffer 4M"
#   --no-build       use the build directory as it is
# The build directory is build/release unless $CORONET_BENCH_BUILD_DIR names another
# (its apps/coronet-bench and apps/coronet-impair are what runs).
set -euo pipefail
cd "$(dirname "$0")/.."

# name|coronet-impair flags|what it stands for
all_cells=(
    "clean||no impairment"
    "rtt20|--delay 10|RTT 20 ms"
    "rtt20-loss1|--delay 10 --loss 1|RTT 20 ms, 1 % loss"
    "rtt50-loss0.5|--delay 25 --loss 0.5|RTT 50 ms, 0.5 % loss"
    "rtt100-loss0.1|--delay 50 --loss 0.1|RTT 100 ms, 0.1 % loss"
    "jitter|--delay 10:3|RTT 20 ms + 0..3 ms jitter each way"
    "reorder2|--delay 10 --reorder 2|RTT 20 ms, 2 % reordered"
    "rtt20-100mbit-bdp|--delay 10 --rate 100 --queue 250k|RTT 20 ms, 100 Mbit/s, 1-BDP queue"
    "rtt20-dup2|--delay 10 --duplicate 2|RTT 20 ms, 2 % duplicated"
    "loss3|--loss 3|3 % loss, no delay"
)

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
fail_usage() {
    echo "wan.sh: $1 (try --help)" >&2
    exit 2
}

bytes=32M runs=3 cells_filter='' timeout_s=300 json_out='' peer_cc=reno coronet_extra='' build=1
while [ $# -gt 0 ]; do
    case $1 in
    --bytes) bytes=${2:?--bytes needs N}; shift 2 ;;
    --runs) runs=${2:?--runs needs N}; shift 2 ;;
    --cells) cells_filter=${2:?--cells needs LIST}; shift 2 ;;
    --timeout) timeout_s=${2:?--timeout needs SECONDS}; shift 2 ;;
    --json) json_out=${2:?--json needs FILE}; shift 2 ;;
    --peer-cc) peer_cc=${2:?--peer-cc needs NAME}; shift 2 ;;
    --coronet-args) coronet_extra=${2?--coronet-args needs ARGS}; shift 2 ;;
    --no-build) build=0; shift ;;
    --list)
        for c in "${all_cells[@]}"; do IFS='|' read -r n f d <<<"$c"; printf '%-20s %-40s %s\n' "$n" "${f:-(none)}" "$d"; done
        exit 0 ;;
    -h | --help) usage; exit 0 ;;
    *) fail_usage "unknown argument '$1'" ;;
    esac
done
[[ $bytes =~ ^[0-9]+[KkMmGg]?$ ]] || fail_usage "--bytes wants a size such as 32M, got '$bytes'"
[[ $runs =~ ^[1-9][0-9]*$ ]] || fail_usage "--runs wants a positive integer, got '$runs'"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || fail_usage "--timeout wants whole seconds, got '$timeout_s'"
[[ $peer_cc =~ ^[a-z0-9_]+$ ]] || fail_usage "--peer-cc wants a congestion control name, got '$peer_cc'"
if [ -n "$json_out" ]; then
    : >"$json_out" 2>/dev/null || fail_usage "--json: cannot write '$json_out'"
    json_out=$(realpath "$json_out")
fi

# The cells --cells selects, in table order; every pattern must match one.
selected=()
if [ -z "$cells_filter" ]; then
    selected=("${all_cells[@]}")
else
    IFS=',' read -r -a patterns <<<"$cells_filter"
    for p in "${patterns[@]}"; do
        matched=0
        for c in "${all_cells[@]}"; do
            # shellcheck disable=SC2053  # the pattern is a glob on purpose
            [[ ${c%%|*} == $p ]] && matched=1
        done
        [ $matched -eq 1 ] || fail_usage "--cells: '$p' names no cell (see --list)"
    done
    for c in "${all_cells[@]}"; do
        for p in "${patterns[@]}"; do
            # shellcheck disable=SC2053
            if [[ ${c%%|*} == $p ]]; then selected+=("$c"); break; fi
        done
    done
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "wan.sh: needs root (it creates network namespaces)" >&2
    exit 1
fi
# shellcheck source=cmake/deps.sh
source cmake/deps.sh
build_dir=${CORONET_BENCH_BUILD_DIR:-build/release}
if [ $build -eq 1 ]; then
    install_deps
    build_tree "$build_dir" -DCMAKE_BUILD_TYPE=Release
fi
[[ $build_dir == /* ]] || build_dir=$PWD/$build_dir
bench=$build_dir/apps/coronet-bench
impair=$build_dir/apps/coronet-impair
for b in "$bench" "$impair"; do [ -x "$b" ] || { echo "wan.sh: $b is missing (build first)" >&2; exit 1; }; done

# The bottleneck-queue cell needs coronet-impair's --queue in bytes (250k);
# an older coronet-impair took --queue FRAMES and refuses that value.
queue_in_bytes=1
"$impair" --queue 250k --help >/dev/null 2>&1 || queue_in_bytes=0

source cmake/netns.sh
netns_init w
id=$netns_id
ns_a="${id}a" ns_r="${id}r" ns_b="${id}b"
if_a="${id}a0" if_ra="${id}ra" if_rb="${id}rb" if_b="${id}b0"
ip_a=10.205.0.1 ip_b=10.205.0.2 port=5201
work=$(mktemp -d)
# shellcheck disable=SC2016  # expanded at exit, by netns_cleanup
netns_at_exit+=('rm -rf "$work"')
netns_add "$ns_a" "$ns_r" "$ns_b"
for ns in "$ns_a" "$ns_r" "$ns_b"; do  # no IPv6 chatter: the relay sees only the benchmark's frames
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
netns_veth "$if_a" "$ns_a" "$if_ra" "$ns_r"
netns_veth "$if_b" "$ns_b" "$if_rb" "$ns_r"
ip -n "$ns_a" addr add "$ip_a/24" dev "$if_a"
# A knows B's MAC (B's kernel and coronet share it) and B's kernel knows A's:
# no ARP from the kernels through the relay.
mac_of() { ip netns exec "$1" cat "/sys/class/net/$2/address"; }
ip -n "$ns_a" neigh replace "$ip_b" lladdr "$(mac_of "$ns_b" "$if_b")" dev "$if_a" nud permanent
ip -n "$ns_b" neigh replace "$ip_a" lladdr "$(mac_of "$ns_a" "$if_a")" dev "$if_b" nud permanent
default_cc=$(ip netns exec "$ns_b" cat /proc/sys/net/ipv4/tcp_congestion_control)

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

# The kernel's TCP counters in namespace $1 (nstat's JSON; the namespace's own).
kernel_counters() { ip netns exec "$1" nstat -saz --json 2>/dev/null || echo '{"kernel":{}}'; }
# The TCP counters that moved between two kernel_counters snapshots, as one JSON object.
counters_moved() {
    /usr/bin/python3 -c 'import json,sys
a, b = (json.loads(x)["kernel"] for x in sys.argv[1:3])
print(json.dumps({k: b[k] - a.get(k, 0) for k in b if k.startswith(("Tcp", "TcpExt")) and b[k] != a.get(k, 0)},
                 separators=(",", ":")))' "$1" "$2"
}

# Stops a background program with SIGTERM (SIGKILL after 5 s) and waits for it.
stop() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# One transfer; appends its record (one JSON line) to $work/results.
# args: cell, direction (send|receive: what coronet does), stack (coronet|kernel-reno|kernel-default), run, impair flags
mismatches=0 stalls=0 failures=0
run_transfer() {
    local cell=$1 direction=$2 stack=$3 run=$4 flags=$5
    local status=ok client=null server=null relay=null relay_pid server_pid
    local client_args=(client --stack kernel --connect "$ip_b:$port" --mode bulk --bytes "$bytes" --duration "$timeout_s")
    [ "$direction" = send ] && client_args+=(--reverse)
    local server_args=(server --listen "$port")
    case $stack in
    coronet)
        client_args+=(--cc "$peer_cc")
        # shellcheck disable=SC2206  # --coronet-args is a list of words on purpose
        server_args+=(--iface "$if_b" --ip "$ip_b/24" $coronet_extra) ;;
    kernel-reno)
        client_args+=(--cc reno)
        server_args+=(--stack kernel --cc reno) ;;
    kernel-default) server_args+=(--stack kernel) ;;
    esac
    [ "$stack" = coronet ] || ip -n "$ns_b" addr add "$ip_b/24" dev "$if_b"

    # shellcheck disable=SC2086  # flags are a list of words on purpose
    ip netns exec "$ns_r" "$impair" --a "$if_ra" --b "$if_rb" --seed "$run" $flags \
        >"$work/relay.out" 2>"$work/relay.err" &
    relay_pid=$!
    if ! wait_for_line "$work/relay.err" relaying "$relay_pid"; then
        echo "wan.sh: $cell: coronet-impair did not start: $(cat "$work/relay.err")" >&2
        status=failed
    fi
    ip netns exec "$ns_b" "$bench" "${server_args[@]}" >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    if [ $status = ok ] && ! wait_for_line "$work/server.err" listening "$server_pid"; then
        echo "wan.sh: $cell: the server did not start: $(cat "$work/server.err")" >&2
        status=failed
    fi
    local begin=$SECONDS rc=0 counters_a counters_b
    counters_a=$(kernel_counters "$ns_a") counters_b=$(kernel_counters "$ns_b")
    if [ $status = ok ]; then
        # The client's own watchdog ends it at --duration + 10 s; this is the backstop.
        timeout --foreground $((timeout_s + 30)) ip netns exec "$ns_a" "$bench" "${client_args[@]}" \
            >"$work/client.out" 2>"$work/client.err" || rc=$?
        if [ $rc -eq 0 ] && [ -s "$work/client.out" ]; then
            client=$(cat "$work/client.out")
        elif grep -q "did not end within" "$work/client.err" || [ $rc -eq 124 ]; then
            status=stalled
            stalls=$((stalls + 1))
        else
            status=failed
            failures=$((failures + 1))
        fi
        [ $status = ok ] || echo "wan.sh: $cell $direction $stack run $run: $status: $(head -c 300 "$work/client.err")" >&2
    else
        failures=$((failures + 1))
    fi
    stop "$server_pid"
    stop "$relay_pid"
    counters_a=$(counters_moved "$counters_a" "$(kernel_counters "$ns_a")")
    counters_b=$(counters_moved "$counters_b" "$(kernel_counters "$ns_b")")
    server=$(grep -m1 '"role":"server"' "$work/server.out" 2>/dev/null || echo null)
    relay=$(grep -m1 '^{' "$work/relay.out" 2>/dev/null || echo null)
    [ "$stack" = coronet ] || ip -n "$ns_b" addr del "$ip_b/24" dev "$if_b"
    if [ $status = ok ] && ! grep -q '"sha256_match":true,"verified":true' <<<"$client"; then
        status=mismatch
        mismatches=$((mismatches + 1))
        echo "wan.sh: *** CHECKSUM MISMATCH *** $cell $direction $stack run $run: $client" >&2
    fi
    printf '{"cell":"%s","direction":"%s","stack":"%s","run":%s,"status":"%s","wall_s":%s,"client":%s,"server":%s,"relay":%s,"kernel_a":%s,"kernel_b":%s}\n' \
        "$cell" "$direction" "$stack" "$run" "$status" $((SECONDS - begin)) "$client" "$server" "$relay" \
        "$counters_a" "$counters_b" >>"$work/results"
    local figure
    figure=$(grep -o '"goodput_mbit_s":[0-9.]*' <<<"$client" | cut -d: -f2 || true)
    echo "   $cell $direction $stack run $run: $status ${figure:+$figure Mbit/s} ($((SECONDS - begin)) s)" >&2
}

echo "== wan.sh: $bytes per transfer, $runs run(s), timeout ${timeout_s} s, kernel default cc $default_cc," \
    "peer cc against coronet $peer_cc, namespaces $ns_a / $ns_r / $ns_b" >&2
skipped=()
for c in "${selected[@]}"; do
    IFS='|' read -r name flags _ <<<"$c"
    if [[ $flags == *--queue* ]] && [ $queue_in_bytes -eq 0 ]; then
        echo "   $name: skipped (this coronet-impair's --queue counts frames, not bytes)" >&2
        skipped+=("$name")
        continue
    fi
    for run in $(seq "$runs"); do
        for direction in send receive; do
            for stack in coronet kernel-reno kernel-default; do
                run_transfer "$name" "$direction" "$stack" "$run" "$flags"
            done
        done
    done
done

cell_lines=$(printf '%s\n' "${selected[@]}")
summary=$(/usr/bin/python3 cmake/wan_report.py "$work/results" "$bytes" "$runs" "$default_cc" "$peer_cc" \
    "$cell_lines" "${skipped[*]:-}" "${json_out:-}")
echo "$summary"
echo
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), Linux $(uname -r)"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
[ $stalls -eq 0 ] || echo "wan.sh: $stalls transfer(s) stalled (no end within --timeout)" >&2
[ $failures -eq 0 ] || echo "wan.sh: $failures transfer(s) failed" >&2
if [ $mismatches -ne 0 ]; then
    echo "wan.sh: *** $mismatches transfer(s) were not byte-exact (SHA-256 or pattern mismatch) ***" >&2
    exit 1
fi
[ $failures -eq 0 ] || exit 1
