#!/usr/bin/env bash
# The WAN benchmark: coronet's TCP against the kernel's through coronet-impair,
# which relays between two veths in a namespace of its own and adds delay,
# loss, jitter, reordering, duplication or a rate limit:
#
#   A (kernel, 10.205.0.1) <-veth-> R (coronet-impair) <-veth-> B (10.205.0.2)
#
# B's interface carries the kernel's address 10.205.0.2 only while a kernel
# server runs there; otherwise coronet owns it (the README's rule: no kernel
# address in the stack's subnet). The client always runs in A on the kernel.
# Each cell (a set of coronet-impair flags) runs both directions:
#   coronet sends      A's client asks with --reverse; the server in B sends
#   coronet receives   A's client sends to the server in B
# each with these stacks, all in the same direction, as a fixed-size checked
# transfer (coronet-bench --bytes), for each of coronet's controllers X (--cc):
#   coronet-X        B's server on coronet with --cc X; the kernel in A runs
#                    the kernel's same-named controller (newreno: reno), or
#                    --peer-cc if given
#   kernel-X         the kernel at both ends with X (its name: newreno is reno)
# and once, unless one of the kernel-X is it already:
#   kernel-default   the kernel at both ends with its default controller
# and with --aa, after each kernel-X, the same again:
#   kernel-again-X   an A/A control: the kernel against itself, whose ratio
#                    to kernel-X is the noise a coronet / kernel ratio is read
#                    against (the same cell, relay seed and stacks twice; in
#                    the even runs kernel-again-X goes first)
# A fresh relay runs each transfer with --seed = run index, so the stacks of
# one run meet the same random choices (frame for frame, as far as their
# frames are alike), and no kernel remembers an earlier transfer's path
# (the TCP metrics of A and B are flushed before each). There is one table
# per controller X: the median goodput
# (Mbit/s, from the header sent to the receiver's trailer: the transfer plus
# about one RTT) of --runs runs of coronet-X, kernel-X and kernel-default, the
# ratios of the medians (coronet-X / kernel-X, coronet-X / kernel-default),
# and the median retransmissions of the sending and the receiving side. A
# stalled run (none within --timeout) is reported as such; a SHA-256 or
# pattern mismatch fails the whole run loudly (exit 1). Nothing else is
# asserted. Needs root.
#
# After the cells, on the rtt20-100mbit-bdp cell's path (100 Mbit/s, RTT
# 20 ms, a 1-BDP queue), where B's kernel then has an address of its own
# beside coronet's, in another subnet (10.205.1.2/24 on the same interface):
#   fairness   for each X, one coronet flow and one kernel flow, both with X
#              and both sent from B (A's two clients, with --reverse, start
#              together), share the bottleneck for --fairness seconds: each
#              flow's goodput, its share of the sum and Jain's index
#              (x1+x2)^2 / (2 (x1^2+x2^2)): 1 equal shares, 0.5 one takes all;
#              --fairness-runs times (the medians, and the shares' range);
#              with --aa also two kernel flows with X (the A/A control)
#   latency    a kernel 1-byte rr probe (A's client, a kernel server in B on
#              B's second address) measures p50 and p99 round trips: first
#              alone (for --latency seconds, at most 5: the base RTT), then
#              for --latency seconds under a bulk flow sent from B and started
#              2 s before it, for each X a coronet flow with X and a kernel
#              flow with X's kernel name; the ratios are to the base p50
# Each run of a row has a fresh relay: the fairness row's run N with --seed N,
# the latency row's with --seed 1.
#
# Usage: cmake/wan.sh [--bytes N] [--runs N] [--cells LIST] [--cc LIST] [--fairness S]
#                     [--fairness-runs N] [--latency S] [--timeout S] [--json FILE] [--peer-cc NAME]
#                     [--coronet-args "ARGS"] [--pcap DIR] [--aa] [--list] [--no-build]
#   --bytes N        transfer size (default 32M; 65536, 256K, 32M, 1G)
#   --runs N         runs per cell, direction and stack (default 3); the table gives medians
#   --cells LIST     comma-separated cell names or shell patterns (default: all; --list names them;
#                    none: no cell, only the rows, e.g. --cells none --latency 0: fairness alone)
#   --cc LIST        coronet's congestion controls, comma-separated (default newreno; e.g.
#                    newreno,cubic,bbr; "reno" means newreno); a name coronet-bench or the kernel
#                    refuses ends the run before it starts (exit 2)
#   --fairness S     seconds of the fairness row (default 30; 0: no fairness row)
#   --fairness-runs N  runs of the fairness row per controller (default 1); one 20-30 s run
#                    decides little: coronet's share of it moved from 59 to 80 % between runs
#   --latency S      seconds of the latency row's loaded probes (default 20; 0: no latency row)
#   --timeout S      the most one transfer may take (default 300)
#   --json FILE      also write every transfer's record (client, server and relay JSON, and the
#                    kernel TCP counters (nstat) that moved in A and B), each row's, and the summary
#   --peer-cc NAME   the kernel's congestion control in A against coronet, whatever X is
#                    (default: the kernel's same-named one)
#   --coronet-args   more coronet options for B's coronet server, e.g. "--tcp-buffer 4M"
#   --pcap DIR       capture each transfer's TCP headers (tcpdump -s 128 on A's veth) to
#                    DIR/CELL-DIRECTION-STACK-RUN.pcap, to see how each stack ramps up
#   --aa             the A/A control: every kernel-X transfer runs twice (kernel-again-X), and
#                    the fairness row runs a kernel flow against a kernel flow too; the tables
#                    then give kernel-again-X / kernel-X beside coronet-X / kernel-X, and how
#                    many rows (a cell and a direction each) each puts at or above x1.00
#                    (one run's noise, measured)
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
    "rtt20-police20|--delay 10 --police 20:64k|RTT 20 ms, policed at 20 Mbit/s (64 KiB bucket)"
)

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
fail_usage() {
    echo "wan.sh: $1 (try --help)" >&2
    exit 2
}

# The value of option $1, or exit 2 if it has none.
need() { [ $# -ge 2 ] || fail_usage "$1 needs a value"; }
bytes=32M runs=3 cells_filter='' timeout_s=300 json_out='' pcap_dir='' cc_list=newreno peer_cc='' coronet_extra='' build=1 aa=0
fairness_s=30 fairness_runs=1 latency_s=20
while [ $# -gt 0 ]; do
    case $1 in
    --bytes) need "$@"; bytes=$2; shift 2 ;;
    --runs) need "$@"; runs=$2; shift 2 ;;
    --cells) need "$@"; cells_filter=$2; shift 2 ;;
    --timeout) need "$@"; timeout_s=$2; shift 2 ;;
    --json) need "$@"; json_out=$2; shift 2 ;;
    --pcap) need "$@"; pcap_dir=$2; shift 2 ;;
    --cc) need "$@"; cc_list=$2; shift 2 ;;
    --peer-cc) need "$@"; peer_cc=$2; shift 2 ;;
    --fairness) need "$@"; fairness_s=$2; shift 2 ;;
    --fairness-runs) need "$@"; fairness_runs=$2; shift 2 ;;
    --latency) need "$@"; latency_s=$2; shift 2 ;;
    --coronet-args) need "$@"; coronet_extra=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --aa) aa=1; shift ;;
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
[[ $fairness_s =~ ^[0-9]+$ ]] || fail_usage "--fairness wants whole seconds (0: no fairness row), got '$fairness_s'"
[[ $fairness_runs =~ ^[1-9][0-9]*$ ]] || fail_usage "--fairness-runs wants a positive integer, got '$fairness_runs'"
[[ $latency_s =~ ^[0-9]+$ ]] || fail_usage "--latency wants whole seconds (0: no latency row), got '$latency_s'"
[ -z "$peer_cc" ] || [[ $peer_cc =~ ^[a-z0-9_]+$ ]] ||
    fail_usage "--peer-cc wants a congestion control name, got '$peer_cc'"
# coronet's controllers (--cc), each once; Linux's name "reno" stands for newreno.
ccs=()
IFS=',' read -r -a cc_items <<<"$cc_list"
[ ${#cc_items[@]} -gt 0 ] || fail_usage "--cc wants a comma-separated list such as newreno,cubic,bbr, got '$cc_list'"
for x in "${cc_items[@]}"; do
    [[ $x =~ ^[a-z0-9_]+$ ]] || fail_usage "--cc wants a comma-separated list such as newreno,cubic,bbr, got '$cc_list'"
    [ "$x" != reno ] || x=newreno
    [[ " ${ccs[*]} " != *" $x "* ]] || fail_usage "--cc names $x twice"
    ccs+=("$x")
done
# The kernel's name of coronet's controller $1.
kernel_cc_of() { if [ "$1" = newreno ]; then echo reno; else echo "$1"; fi; }
# The kernel client's controller against coronet's $1: --peer-cc, or the same-named one.
peer_cc_of() { if [ -n "$peer_cc" ]; then echo "$peer_cc"; else kernel_cc_of "$1"; fi; }
if [ -n "$json_out" ]; then
    : >"$json_out" 2>/dev/null || fail_usage "--json: cannot write '$json_out'"
    json_out=$(realpath "$json_out")
fi
if [ -n "$pcap_dir" ]; then
    mkdir -p "$pcap_dir" 2>/dev/null && [ -w "$pcap_dir" ] || fail_usage "--pcap: cannot write to '$pcap_dir'"
    command -v tcpdump >/dev/null || fail_usage "--pcap needs tcpdump"
    pcap_dir=$(realpath "$pcap_dir")
fi

# The cells --cells selects, in table order; every pattern must match one.
selected=()
if [ "$cells_filter" = none ]; then
    :
elif [ -z "$cells_filter" ]; then
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
# A knows B's MAC (B's kernel and coronet share it) and B's kernel knows A's
# (coronet too: coronet_server's --neighbor): no ARP through the relay.
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

# Starts coronet-impair in R (args: seed, impair flags, what for) and sets
# relay_pid; false, with a message, if it does not start.
start_relay() {
    # shellcheck disable=SC2086  # flags are a list of words on purpose
    ip netns exec "$ns_r" "$impair" --a "$if_ra" --b "$if_rb" --seed "$1" $2 \
        >"$work/relay.out" 2>"$work/relay.err" &
    relay_pid=$!
    wait_for_line "$work/relay.err" relaying "$relay_pid" && return 0
    echo "wan.sh: $3: coronet-impair did not start: $(cat "$work/relay.err")" >&2
    return 1
}

# Starts a coronet-bench server in B (args: its name for the output files
# $work/srv-NAME.*, then the server's options) and sets server_pid; false,
# with a message, if it does not start listening.
start_server() {
    local name=$1
    shift
    ip netns exec "$ns_b" "$bench" server "$@" >"$work/srv-$name.out" 2>"$work/srv-$name.err" &
    server_pid=$!
    wait_for_line "$work/srv-$name.err" listening "$server_pid" && return 0
    echo "wan.sh: $name: the server did not start: $(head -c 300 "$work/srv-$name.err")" >&2
    return 1
}
# The JSON line of server NAME (once stopped), or null.
server_json() { grep -m1 '"role":"server"' "$work/srv-$1.out" 2>/dev/null || echo null; }

# Starts a coronet-bench client in A in the background (args: its name for
# the output files $work/cli-NAME.*, the most it may take in seconds, then the
# client's options). The client's own watchdog ends it at --duration + 10 s;
# the limit is the backstop.
declare -A client_pid outcome_of
client_start() {
    local name=$1 limit=$2
    shift 2
    timeout --foreground "$limit" ip netns exec "$ns_a" "$bench" client "$@" \
        >"$work/cli-$name.out" 2>"$work/cli-$name.err" &
    client_pid[$name]=$!
}
# Waits for client NAME and sets outcome (and outcome_of[NAME]) to ok, stalled
# or failed, counting stalls and failures.
stalls=0 failures=0
client_end() {
    local name=$1 rc=0
    wait "${client_pid[$name]}" || rc=$?
    if [ $rc -eq 0 ] && [ -s "$work/cli-$name.out" ]; then
        outcome=ok
    elif [ $rc -eq 124 ] || grep -q "did not end within" "$work/cli-$name.err"; then
        outcome=stalled
        stalls=$((stalls + 1))
    else
        outcome=failed
        failures=$((failures + 1))
    fi
    outcome_of[$name]=$outcome
}
# Runs a client (client_start's args) to its end.
run_client() {
    client_start "$@"
    client_end "$1"
}
# The JSON line of client NAME if it ended well, or null.
client_json() { if [ "$2" = ok ]; then cat "$work/cli-$1.out"; else echo null; fi; }

# Sets coronet_opts to the options of B's coronet server with controller $1 on port $2.
# Like B's kernel it knows A's MAC: no ARP through the relay, whose random
# choices (one per frame, from --seed) then meet the same frames for both.
coronet_server() {
    read -r -a coronet_opts <<<"$coronet_extra"  # --coronet-args is a list of words
    coronet_opts=(--listen "$2" --cc "$1" --iface "$if_b" --ip "$ip_b/24"
        --neighbor "$ip_a=$(mac_of "$ns_a" "$if_a")" "${coronet_opts[@]}")
}

# Every controller named must start, coronet's with --stack user and the
# kernel's (X's kernel name, --peer-cc) with --stack kernel, or the run ends
# here (exit 2). args: what it is, the name, the server's other options
check_cc() {
    local what=$1 name=$2
    shift 2
    if ! start_server "check-$name" --listen "$port" --cc "$name" "$@"; then
        echo "wan.sh: --cc: $what refuses '$name'" >&2
        exit 2
    fi
    stop "$server_pid"
}
for x in "${ccs[@]}"; do
    check_cc "coronet (--stack user)" "$x" --iface "$if_b" --ip "$ip_b/24" --conflict-probes 0
    check_cc "the kernel" "$(kernel_cc_of "$x")" --stack kernel
done
[ -z "$peer_cc" ] || check_cc "the kernel (--peer-cc)" "$peer_cc" --stack kernel

# The stacks of each cell, direction and run: coronet-X and kernel-X (the
# kernel's name of X) for each controller X, and kernel-default unless the
# kernel's default is one of those; with --aa, kernel-again-X after each kernel-X.
stacks=()
for x in "${ccs[@]}"; do
    stacks+=("coronet-$x" "kernel-$(kernel_cc_of "$x")")
    [ $aa -eq 0 ] || stacks+=("kernel-again-$(kernel_cc_of "$x")")
done
[[ " ${stacks[*]} " == *" kernel-$default_cc "* ]] || stacks+=(kernel-default)

# The stacks of run $1 in their order: with --aa, in the even runs each
# kernel-again-X before its kernel-X, so that neither is always second.
stacks_of_run() {
    local order=("${stacks[@]}") i
    if [ $aa -eq 1 ] && [ $(($1 % 2)) -eq 0 ]; then
        for ((i = 0; i + 1 < ${#order[@]}; i++)); do
            if [[ ${stacks[i]} == kernel-* && ${stacks[i + 1]} == kernel-again-* ]]; then
                order[i]=${stacks[i + 1]} order[i + 1]=${stacks[i]}
            fi
        done
    fi
    printf '%s\n' "${order[@]}"
}
# The kernels in A and B forget the paths they measured (RTT and the rest
# that Linux keeps per destination and starts the next connection from).
flush_tcp_metrics() { ip -n "$ns_a" tcp_metrics flush all && ip -n "$ns_b" tcp_metrics flush all; }

# One transfer; appends its record (one JSON line) to $work/results.
# args: cell, direction (send|receive: what coronet does), stack (coronet-X|kernel-X|kernel-again-X|kernel-default),
# run, impair flags
mismatches=0
run_transfer() {
    local cell=$1 direction=$2 stack=$3 run=$4 flags=$5
    local status=ok client=null server=null relay=null server_opts
    local client_args=(--stack kernel --connect "$ip_b:$port" --mode bulk --bytes "$bytes" --duration "$timeout_s")
    [ "$direction" = send ] && client_args+=(--reverse)
    case $stack in
    coronet-*)
        client_args+=(--cc "$(peer_cc_of "${stack#coronet-}")")
        coronet_server "${stack#coronet-}" "$port"
        server_opts=("${coronet_opts[@]}") ;;
    kernel-default) server_opts=(--listen "$port" --stack kernel) ;;
    kernel-again-*)
        client_args+=(--cc "${stack#kernel-again-}")
        server_opts=(--listen "$port" --stack kernel --cc "${stack#kernel-again-}") ;;
    kernel-*)
        client_args+=(--cc "${stack#kernel-}")
        server_opts=(--listen "$port" --stack kernel --cc "${stack#kernel-}") ;;
    esac
    [[ $stack == coronet-* ]] || ip -n "$ns_b" addr add "$ip_b/24" dev "$if_b"

    flush_tcp_metrics
    start_relay "$run" "$flags" "$cell" || status=failed
    if [ $status = ok ] && ! start_server transfer "${server_opts[@]}"; then
        status=failed
    fi
    local begin=$SECONDS counters_a counters_b capture_pid=''
    counters_a=$(kernel_counters "$ns_a") counters_b=$(kernel_counters "$ns_b")
    if [ $status = ok ] && [ -n "$pcap_dir" ]; then
        ip netns exec "$ns_a" tcpdump -i "$if_a" -s 128 --immediate-mode -w "$pcap_dir/$cell-$direction-$stack-$run.pcap" \
            tcp port "$port" 2>"$work/tcpdump.err" &
        capture_pid=$!
        wait_for_line "$work/tcpdump.err" listening "$capture_pid" || echo "wan.sh: --pcap: tcpdump did not start" >&2
    fi
    if [ $status = ok ]; then
        run_client transfer $((timeout_s + 30)) "${client_args[@]}"
        status=$outcome
        client=$(client_json transfer "$status")
        [ $status = ok ] || echo "wan.sh: $cell $direction $stack run $run: $status: $(head -c 300 "$work/cli-transfer.err")" >&2
    else
        failures=$((failures + 1))
    fi
    stop "$server_pid"
    stop "$relay_pid"
    [ -z "$capture_pid" ] || stop "$capture_pid"
    counters_a=$(counters_moved "$counters_a" "$(kernel_counters "$ns_a")")
    counters_b=$(counters_moved "$counters_b" "$(kernel_counters "$ns_b")")
    server=$(server_json transfer)
    relay=$(grep -m1 '^{' "$work/relay.out" 2>/dev/null || echo null)
    [[ $stack == coronet-* ]] || ip -n "$ns_b" addr del "$ip_b/24" dev "$if_b"
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

echo "== wan.sh: ${#selected[@]} cell(s), $bytes per transfer, $runs run(s), timeout ${timeout_s} s," \
    "coronet cc ${ccs[*]}, fairness ${fairness_s} s x ${fairness_runs}, latency ${latency_s} s," \
    "kernel default cc $default_cc, kernel client against coronet ${peer_cc:-the same-named cc}," \
    "namespaces $ns_a / $ns_r / $ns_b" >&2
skipped=()
for c in "${selected[@]}"; do
    IFS='|' read -r name flags _ <<<"$c"
    if [[ $flags == *--queue* ]] && [ $queue_in_bytes -eq 0 ]; then
        echo "   $name: skipped (this coronet-impair's --queue counts frames, not bytes)" >&2
        skipped+=("$name")
        continue
    fi
    for run in $(seq "$runs"); do
        mapfile -t order < <(stacks_of_run "$run")
        for direction in send receive; do
            for stack in "${order[@]}"; do
                run_transfer "$name" "$direction" "$stack" "$run" "$flags"
            done
        done
    done
done

# The rows beside the cells run on the bottleneck cell's path, with the
# kernel's server in B on an address of its own beside coronet's, in a
# subnet of its own: 10.205.1.2/24 on B's interface, routed and with a
# permanent neighbour entry in A; B's kernel reaches A by a host route.
bottleneck=rtt20-100mbit-bdp
for c in "${all_cells[@]}"; do
    if [ "${c%%|*}" = $bottleneck ]; then IFS='|' read -r _ bottleneck_flags _ <<<"$c"; fi
done
ip_k=10.205.1.2 port_k=5202 port_probe=5203 port_again=5204
row_names=()
[ "$fairness_s" -eq 0 ] || row_names+=(fairness)
[ "$latency_s" -eq 0 ] || row_names+=(latency)
if [ ${#row_names[@]} -gt 0 ] && [ $queue_in_bytes -eq 0 ]; then
    echo "   ${row_names[*]}: skipped (this coronet-impair's --queue counts frames, not bytes)" >&2
    skipped+=("${row_names[@]}")
    row_names=()
fi
if [ ${#row_names[@]} -gt 0 ]; then
    ip -n "$ns_b" addr add "$ip_k/24" dev "$if_b"
    ip -n "$ns_b" route add "$ip_a/32" dev "$if_b"
    ip -n "$ns_a" route add "${ip_k%.*}.0/24" dev "$if_a"
    ip -n "$ns_a" neigh replace "$ip_k" lladdr "$(mac_of "$ns_b" "$if_b")" dev "$if_a" nud permanent
fi

# A row's start (args: its name, the relay's seed, 1 if not given): a fresh
# relay with the bottleneck's flags; sets row_ok.
row_start() {
    rm -f "$work"/srv-* "$work"/cli-*
    outcome_of=()
    row_pids=()
    row_ok=1
    row_begin=$SECONDS
    flush_tcp_metrics
    start_relay "${2:-1}" "$bottleneck_flags" "$1" || row_ok=0
    row_pids+=("$relay_pid")
}
# Starts one of a row's servers (start_server's args), unless the row failed already.
row_server() {
    [ $row_ok -eq 1 ] || return 0
    start_server "$@" || row_ok=0
    row_pids+=("$server_pid")
}
# A row's end: its servers and relay stopped, a failure to start counted.
row_stop() {
    local i
    for ((i = ${#row_pids[@]} - 1; i >= 0; i--)); do stop "${row_pids[i]}"; done
    [ $row_ok -eq 1 ] || failures=$((failures + 1))
}
# One flow of a row as JSON: its client's outcome and line, its server's line.
flow_json() {
    local status=${outcome_of[$1]:-failed}
    printf '{"status":"%s","client":%s,"server":%s}' "$status" "$(client_json "$1" "$status")" "$(server_json "$1")"
}
# Client NAME's bulk goodput in Mbit/s (bytes over its duration), or its outcome.
mbit_of() {
    if [ "${outcome_of[$1]:-}" = ok ]; then
        grep -o '"duration_s":[0-9.]*\|"bytes":[0-9]*' "$work/cli-$1.out" |
            awk -F: '{ v[$1] = $2 } END { printf "%.1f Mbit/s", v["\"bytes\""] * 8 / v["\"duration_s\""] / 1e6 }'
    else
        echo "${outcome_of[$1]:-failed}"
    fi
}

# Run $2 of the fairness row of coronet's controller $1: a coronet flow and
# a kernel flow, both with it and both sent from B, share the bottleneck for
# --fairness seconds (A's clients start together, with --reverse).
run_fairness() {
    local x=$1 run=$2 k
    k=$(kernel_cc_of "$x")
    row_start "fairness $x run $run" "$run"
    coronet_server "$x" "$port"
    row_server coronet "${coronet_opts[@]}"
    row_server kernel --listen "$port_k" --stack kernel --cc "$k"
    fairness_flows fairness "$x" "$run" "fairness $x" \
        coronet "$ip_b:$port" "$(peer_cc_of "$x")" kernel "$ip_k:$port_k" "$k"
}

# Run $2 of the fairness row's A/A control for coronet's controller $1: two
# kernel flows with its kernel name, on B's kernel address, as run_fairness
# runs a coronet and a kernel flow ("kernel" and "again": the first's share
# is the figure).
run_fairness_aa() {
    local x=$1 run=$2 k
    k=$(kernel_cc_of "$x")
    row_start "fairness A/A $k run $run" "$run"
    row_server kernel --listen "$port_k" --stack kernel --cc "$k"
    row_server again --listen "$port_again" --stack kernel --cc "$k"
    fairness_flows fairness_aa "$x" "$run" "fairness A/A $k" \
        kernel "$ip_k:$port_k" "$k" again "$ip_k:$port_again" "$k"
}

# The rest of a run of the fairness row or of its A/A control, once its
# servers are up: A's two clients start together with --reverse, their flows
# share the bottleneck for --fairness seconds, the row stops, and its record
# (the flows under their names) and line follow. args: the row's record name,
# coronet's controller X, the run, what the line calls the row, then for each
# flow its name, its server's address:port and its controller.
fairness_flows() {
    local row=$1 x=$2 run=$3 label=$4 f1=$5 to1=$6 cc1=$7 f2=$8 to2=$9 cc2=${10}
    local bulk=(--stack kernel --mode bulk --reverse --duration "$fairness_s")
    if [ $row_ok -eq 1 ]; then
        client_start "$f1" $((fairness_s + 30)) "${bulk[@]}" --connect "$to1" --cc "$cc1"
        client_start "$f2" $((fairness_s + 30)) "${bulk[@]}" --connect "$to2" --cc "$cc2"
        client_end "$f1"
        client_end "$f2"
    fi
    row_stop
    printf '{"row":"%s","cc":"%s","kernel_cc":"%s","run":%s,"seconds":%s,"%s":%s,"%s":%s,"relay":%s}\n' \
        "$row" "$x" "$(kernel_cc_of "$x")" "$run" "$fairness_s" "$f1" "$(flow_json "$f1")" "$f2" "$(flow_json "$f2")" \
        "$(grep -m1 '^{' "$work/relay.out" 2>/dev/null || echo null)" >>"$work/rows"
    echo "   $label run $run: ${f1/#again/kernel again} $(mbit_of "$f1"), ${f2/#again/kernel again} $(mbit_of "$f2")" \
        "($((SECONDS - row_begin)) s)" >&2
}

# One run of the latency row: a kernel 1-byte rr probe (A's client, B's
# kernel server on its own address) measures for --latency seconds while a
# bulk flow, started 2 s before it, is sent from B through the bottleneck.
# args: the bulk flow's stack (none: the probe alone, for at most 5 s, the
# base RTT; coronet; kernel) and coronet's controller X ('' with none).
run_latency() {
    local stack=$1 x=$2 k=${2:+$(kernel_cc_of "$2")} probe_s=$latency_s target cc
    [ "$stack" != none ] || probe_s=$((latency_s < 5 ? latency_s : 5))
    row_start "latency $stack $x"
    row_server probe --listen "$port_probe" --stack kernel
    case $stack in
    coronet)
        coronet_server "$x" "$port"
        row_server bulk "${coronet_opts[@]}"
        target=$ip_b:$port cc=$(peer_cc_of "$x") ;;
    kernel)
        row_server bulk --listen "$port_k" --stack kernel --cc "$k"
        target=$ip_k:$port_k cc=$k ;;
    esac
    if [ $row_ok -eq 1 ]; then
        if [ "$stack" != none ]; then
            client_start bulk $((latency_s + 33)) --stack kernel --connect "$target" --mode bulk --reverse \
                --duration $((latency_s + 3)) --cc "$cc"
            sleep 2
        fi
        run_client probe $((probe_s + 30)) --stack kernel --connect "$ip_k:$port_probe" --mode rr --size 1 \
            --duration "$probe_s"
        [ "$stack" = none ] || client_end bulk
    fi
    row_stop
    local bulk_json=null
    [ "$stack" = none ] || bulk_json=$(flow_json bulk)
    printf '{"row":"latency","stack":"%s","cc":"%s","kernel_cc":"%s","seconds":%s,"probe":%s,"bulk":%s,"relay":%s}\n' \
        "$stack" "$x" "$k" "$probe_s" "$(flow_json probe)" "$bulk_json" \
        "$(grep -m1 '^{' "$work/relay.out" 2>/dev/null || echo null)" >>"$work/rows"
    local p50 p99 label=$stack
    [ "$stack" = none ] || label+=" $(if [ "$stack" = coronet ]; then echo "$x"; else echo "$k"; fi)"
    p50=$(grep -o '"p50_us":[0-9.]*' "$work/cli-probe.out" 2>/dev/null | cut -d: -f2 || true)
    p99=$(grep -o '"p99_us":[0-9.]*' "$work/cli-probe.out" 2>/dev/null | cut -d: -f2 || true)
    echo "   latency $label: probe p50 ${p50:--} us, p99 ${p99:--} us${x:+, bulk $(mbit_of bulk)}" \
        "($((SECONDS - row_begin)) s)" >&2
}

if [[ " ${row_names[*]} " == *" fairness "* ]]; then
    for ((run = 1; run <= fairness_runs; run++)); do
        for x in "${ccs[@]}"; do
            # The A/A control first in the even runs, as the kernel-again-X transfers.
            if [ $aa -eq 1 ] && [ $((run % 2)) -eq 0 ]; then run_fairness_aa "$x" "$run"; fi
            run_fairness "$x" "$run"
            if [ $aa -eq 1 ] && [ $((run % 2)) -eq 1 ]; then run_fairness_aa "$x" "$run"; fi
        done
    done
fi
if [[ " ${row_names[*]} " == *" latency "* ]]; then
    run_latency none ''
    for x in "${ccs[@]}"; do
        run_latency coronet "$x"
        run_latency kernel "$x"
    done
fi

cell_lines=$(printf '%s\n' "${selected[@]}")
cc_pairs=$(for x in "${ccs[@]}"; do printf '%s:%s:%s,' "$x" "$(kernel_cc_of "$x")" "$(peer_cc_of "$x")"; done)
summary=$(/usr/bin/python3 cmake/wan_report.py "$work" "$bytes" "$runs" "$default_cc" "${cc_pairs%,}" \
    "$fairness_s" "$latency_s" "$cell_lines" "${skipped[*]:-}" "${json_out:-}")
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
