#!/usr/bin/env bash
# The soak test (5 minutes of traffic, about 6.5 in all; not part of
# check.sh): kernel curl ->
# coronet-proxy -> a kernel HTTP server, as in demo.sh, with a coronet-impair
# relay in each leg (curl <-> proxy and proxy <-> server). A few curl workers
# download and upload files of 1, 5 and 20 MiB without pause while the
# impairment changes every 30 s (clean, loss, delay with jitter, reordering,
# duplication, combinations; fixed seeds). It passes (exit 0) when every
# transfer's sha256 matched and none failed or timed out, no proxy session
# failed, the proxy's connection table is back to its LISTEN row once TIME_WAIT
# (2*MSL = 60 s) has run out, and the proxy's RSS is back near its level after
# the warm-up transfers. Otherwise it exits 1.
#
# Why both legs: coronet is the passive opener towards curl and the active
# opener towards the server, and each connection sends and receives; with a
# relay in each leg, loss hits coronet's sender on downloads (client leg) and
# on uploads (upstream leg), and reordering or duplication hits its receiver
# in the opposite ones. Each connection crosses one relay, so it sees the
# phase's impairment once.
#
# coronet-impair takes its parameters at start only, so each phase boundary
# stops both relays (SIGTERM, keeping their counters) and starts them with the
# next phase's parameters and seeds. The restart is a short outage (about
# 0.2 s) that the connections must survive like any other loss.
#
# Needs root. Installs what is missing and builds build/release as demo.sh
# does, unless --bin names a directory with built programs.
set -euo pipefail
cd "$(dirname "$0")/.."

phase_seconds=30
duration=300
workers=4
bin=""
keep=""

usage() {
    cat <<EOF
Usage: cmake/soak.sh [--duration SECONDS] [--workers N] [--bin DIR] [--keep DIR]

Soak test of coronet-proxy behind two coronet-impair relays whose impairment
changes every $phase_seconds s. Exit status: 0 pass, 1 fail (or interrupted), 2 usage.

  --duration SECONDS  how long the workers start new transfers (default $duration); the
                      run then waits for the last transfers and for TIME_WAIT (~70 s)
  --workers N         concurrent curl workers (default $workers)
  --bin DIR           use the programs in DIR (e.g. build/h-soak/apps) instead of
                      building build/release
  --keep DIR          copy the logs (proxy, server, relays, curl errors, results) to DIR;
                      on failure they are kept in /tmp/coronet-soak-<pid> anyway
  -h, --help          show this help
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
        --workers) workers=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
        --bin) bin=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
        --keep) keep=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
        -h|--help) usage; exit 0 ;;
        *) echo "soak.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
[[ "$duration" =~ ^[0-9]+$ ]] && [ "$duration" -ge 10 ] || { echo "soak.sh: --duration must be at least 10" >&2; exit 2; }
[[ "$workers" =~ ^[0-9]+$ ]] && [ "$workers" -ge 1 ] && [ "$workers" -le 32 ] ||
    { echo "soak.sh: --workers must be from 1 to 32" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "soak.sh: needs root (network namespaces)" >&2; exit 2; }

source cmake/deps.sh
install_deps
if [ -z "$bin" ]; then
    build_tree build/release -DCMAKE_BUILD_TYPE=Release
    bin=build/release/apps
fi
for p in coronet-proxy coronet-impair; do
    [ -x "$bin/$p" ] || { echo "soak.sh: $bin/$p is missing" >&2; exit 2; }
done
bin=$(cd "$bin" && pwd)

# The impairment schedule: one phase per $phase_seconds s, cycling. Each entry
# is "description|coronet-impair options".
schedule=(
    "clean|"
    "loss 1%|--loss 1"
    "delay 20 ms + jitter 0-5 ms|--delay 20:5"
    "reorder 5% (held 2 ms)|--reorder 5 --reorder-gap 2"
    "duplicate 5%|--duplicate 5"
    "loss 3%|--loss 3"
    "delay 20 ms + jitter 0-5 ms + loss 1%|--delay 20:5 --loss 1"
    "reorder 10% + duplicate 3%|--reorder 10 --duplicate 3"
    "combined: loss 2% dup 2% reorder 5% delay 10+0-3 ms|--loss 2 --duplicate 2 --reorder 5 --delay 10:3"
    "clean|"
)
# The transfers, cycled by each worker from its own offset: d = download,
# u = upload, then MiB. A transfer longer than its --max-time is a failure.
jobs=(d1 u5 d20 u1 d5 u20)
max_time() { echo $((30 + 8 * $1)); }  # seconds for SIZE MiB (20 MiB: 190 s, >= 110 KB/s)
legs=(client upstream)
rss_tolerance_kib=$((8 * 1024))        # or 20% of the start, whichever is larger

id="cnsoak$$"
ns_client="${id}c" ns_relay_c="${id}i" ns_proxy="${id}x" ns_relay_s="${id}j" ns_server="${id}s" ns_bridge="${id}b"
namespaces=("$ns_client" "$ns_relay_c" "$ns_proxy" "$ns_relay_s" "$ns_server" "$ns_bridge")
client_ip=10.78.0.1 proxy_ip=10.78.0.2 server_ip=10.78.0.3
work=$(mktemp -d /tmp/coronet-soak.XXXXXX)
logs=$work/logs
pids=() worker_pids=() relay_pid=() proxy_pid=""
status=0

# Stops everything this run started (by pid, then whatever is still inside
# its namespaces), deletes the namespaces and the work directory.
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    touch "$work/stop" 2>/dev/null || true
    for p in "${worker_pids[@]}" "${relay_pid[@]}" "${pids[@]}" $(jobs -p); do kill "$p" 2>/dev/null || true; done
    for ns in "${namespaces[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    done
    wait 2>/dev/null || true
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    if [ -n "$keep" ] || [ "$rc" -ne 0 ]; then
        local dest=${keep:-/tmp/coronet-soak-$$}
        mkdir -p "$dest" && cp -r "$logs/." "$dest/" 2>/dev/null && echo "== logs kept in $dest"
    fi
    rm -rf "$work"
    exit "$rc"
}
on_signal() {
    echo "== interrupted: cleaning up" >&2
    exit 1
}
trap cleanup EXIT
trap on_signal INT TERM
# A sleep that a signal interrupts at once (bash runs traps only between
# foreground commands, but during wait).
pause() {
    sleep "$1" &
    wait $! || true
}

# --- topology ----------------------------------------------------------------
# curl (c0) <-veth-> [relay i: ia | ib] <-veth-> bridge <-veth-> (x0) proxy
#                                                bridge <-veth-> [relay j: jb | ja] <-veth-> (s0) server
# The relay namespaces and the bridge carry no address; IPv6 is off everywhere
# so the only frames are the test's own (and ARP).
mkdir -p "$logs" "$work/www" "$work/got"
for ns in "${namespaces[@]}"; do
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
done
ip -n "$ns_bridge" link add br0 type bridge
ip -n "$ns_bridge" link set br0 up
veth() {  # veth NAME1 NS1 NAME2 NS2: a pair, both ends up
    ip link add "$1" netns "$2" type veth peer name "$3" netns "$4"
    ip -n "$2" link set "$1" up
    ip -n "$4" link set "$3" up
}
veth "${id}c0" "$ns_client" "${id}ia" "$ns_relay_c"
veth "${id}ib" "$ns_relay_c" "${id}bc" "$ns_bridge"
veth "${id}x0" "$ns_proxy" "${id}bx" "$ns_bridge"
veth "${id}s0" "$ns_server" "${id}ja" "$ns_relay_s"
veth "${id}jb" "$ns_relay_s" "${id}bs" "$ns_bridge"
for port in bc bx bs; do ip -n "$ns_bridge" link set "${id}${port}" master br0; done
ip -n "$ns_client" addr add "$client_ip/24" dev "${id}c0"
ip -n "$ns_server" addr add "$server_ip/24" dev "${id}s0"
relay_ns=("$ns_relay_c" "$ns_relay_s")
relay_ifs=("${id}ia ${id}ib" "${id}ja ${id}jb")

# --- the relays ----------------------------------------------------------------
# start_relays PHASE: (re)starts both relays with that phase's options; seeds
# are fixed per phase and leg. Returns non-zero if one does not come up.
start_relays() {
    local phase=$1 entry=${schedule[$(($1 % ${#schedule[@]}))]}
    local opts=${entry#*|}
    for leg in 0 1; do
        local a b name
        name=relay-${legs[$leg]}-$(printf %02d "$phase")
        read -r a b <<<"${relay_ifs[$leg]}"
        # shellcheck disable=SC2086 # opts is a list of options
        ip netns exec "${relay_ns[$leg]}" "$bin/coronet-impair" --a "$a" --b "$b" --seed $((1000 + 10 * phase + leg)) \
            $opts >"$logs/$name.json" 2>"$logs/$name.log" &
        relay_pid[$leg]=$!
    done
    for leg in 0 1; do
        local name up=0
        name=relay-${legs[$leg]}-$(printf %02d "$phase")
        for _ in $(seq 100); do
            grep -q relaying "$logs/$name.log" && { up=1; break; }
            kill -0 "${relay_pid[$leg]}" 2>/dev/null || break
            sleep 0.05
        done
        [ $up -eq 1 ] || { echo "soak.sh: coronet-impair did not start:" >&2; cat "$logs/$name.log" >&2; return 1; }
    done
}
# stop_relays: stops both (a relay that had died fails the run).
stop_relays() {
    for leg in 0 1; do [ -z "${relay_pid[$leg]:-}" ] || kill -TERM "${relay_pid[$leg]}" 2>/dev/null || true; done
    for leg in 0 1; do
        [ -n "${relay_pid[$leg]:-}" ] || continue
        wait "${relay_pid[$leg]}" || { echo "soak.sh: coronet-impair (${legs[$leg]}) exited $?" >&2; status=1; }
        relay_pid[$leg]=""
    done
}

# --- the server: GET serves files; PUT answers the body's sha256 --------------
cat >"$work/server.py" <<'EOF'
import functools, hashlib, http.server, sys

class Handler(http.server.SimpleHTTPRequestHandler):
    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "-1"))
        if length < 0:
            self.send_error(411)
            return
        digest, left = hashlib.sha256(), length
        while left:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
        if left:
            self.log_message('"PUT %s" body ended %d of %d bytes short', self.path, left, length)
            self.close_connection = True
            return
        body = (digest.hexdigest() + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.log_message('"PUT %s" %d bytes sha256 %s', self.path, length, digest.hexdigest())

directory, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
server = http.server.ThreadingHTTPServer((address, port), functools.partial(Handler, directory=directory))
server.daemon_threads = True
server.serve_forever()
EOF

declare -A want
for mib in 1 5 20; do
    head -c "${mib}M" /dev/urandom >"$work/www/f$mib"
    want[$mib]=$(sha256sum <"$work/www/f$mib" | cut -d' ' -f1)
done
ip netns exec "$ns_server" python3 -u "$work/server.py" "$work/www" "$server_ip" 8000 >"$logs/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
ip netns exec "$ns_proxy" "$bin/coronet-proxy" --iface "${id}x0" --ip "$proxy_ip/24" --listen 8080 \
    --upstream "$server_ip:8000" --log-level info >"$logs/proxy.table" 2>"$logs/proxy.log" &
proxy_pid=$!
pids+=("$proxy_pid")
for _ in $(seq 100); do
    grep -q "listening on port 8080" "$logs/proxy.log" && ip netns exec "$ns_server" ss -Hltn 'sport = :8000' | grep -q . && break
    sleep 0.1
done
grep -q "listening on port 8080" "$logs/proxy.log" || { echo "soak.sh: coronet-proxy did not start" >&2; cat "$logs/proxy.log" >&2; exit 1; }

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$proxy_pid/status" 2>/dev/null || echo 0; }
# alive: fails the run if the proxy, the server or a relay has gone.
alive() {
    for leg in 0 1; do
        kill -0 "${relay_pid[$leg]}" 2>/dev/null ||
            { echo "soak.sh: coronet-impair (${legs[$leg]}) died:" >&2; tail -5 "$logs"/relay-"${legs[$leg]}"-*.log >&2; exit 1; }
    done
    kill -0 "$proxy_pid" 2>/dev/null || { echo "soak.sh: coronet-proxy died:" >&2; tail -20 "$logs/proxy.log" >&2; exit 1; }
    kill -0 "$server_pid" 2>/dev/null || { echo "soak.sh: the HTTP server died:" >&2; tail -20 "$logs/server.log" >&2; exit 1; }
}

# table: asks the proxy for its connection table (SIGUSR1) and prints it.
table() {
    local before after
    before=$(wc -l <"$logs/proxy.table")
    kill -USR1 "$proxy_pid"
    for _ in $(seq 50); do
        sleep 0.1
        after=$(wc -l <"$logs/proxy.table")
        [ "$after" -gt "$before" ] && break
    done
    sleep 0.2
    tail -n +"$((before + 1))" "$logs/proxy.table"
}
# table_counts TABLE: "LISTEN 1 TIME_WAIT 12 ..." (rows per state)
table_counts() { awk 'NR > 1 {n[$1]++} END {for (s in n) printf "%s %d  ", s, n[s]}' <<<"$1"; }

# --- one transfer and the workers ----------------------------------------------
# transfer WORKER JOB: runs one curl, checks the sha256, appends one line to the
# worker's results: phase_at_start phase_at_end worker job curl_rc http seconds verdict
transfer() {
    local w=$1 job=$2 op=${2:0:1} mib=${2:1} out="$work/got/w$1-$2" rc=0 http="" got="" verdict
    local p0 p1 t0 t1 mt
    mt=$(max_time "$mib")
    p0=$(<"$work/phase")
    t0=$(date +%s%N)
    if [ "$op" = d ]; then
        http=$(ip netns exec "$ns_client" curl -sS -f --max-time "$mt" -o "$out" -w '%{http_code}' \
            "http://$proxy_ip:8080/f$mib" 2>>"$logs/curl-w$w.err") || rc=$?
        [ $rc -ne 0 ] || got=$(sha256sum <"$out" | cut -d' ' -f1)
    else
        http=$(ip netns exec "$ns_client" curl -sS -f --max-time "$mt" -H 'Expect:' -T "$work/www/f$mib" -o "$out" \
            -w '%{http_code}' "http://$proxy_ip:8080/up/w$w-f$mib" 2>>"$logs/curl-w$w.err") || rc=$?
        [ $rc -ne 0 ] || got=$(tr -d '\n' <"$out")
    fi
    t1=$(date +%s%N)
    p1=$(<"$work/phase")
    if [ $rc -ne 0 ]; then verdict=curl-error
    elif [ "$got" = "${want[$mib]}" ]; then verdict=ok
    else verdict=sha256-mismatch
    fi
    [ "$verdict" = ok ] || echo "$(date +%T) phase $p0 worker $w $job: $verdict (curl $rc, http ${http:-none})" >>"$logs/curl-w$w.err"
    rm -f "$out"
    echo "$p0 $p1 $w $job $rc ${http:-000} $(((t1 - t0) / 1000000)) $verdict" >>"$logs/results-w$w"
}
worker() {
    set +e  # a failed command counts against the transfer, it does not end the worker
    local w=$1 k=0
    while [ ! -e "$work/stop" ]; do
        transfer "$w" "${jobs[$(((k + w) % ${#jobs[@]}))]}"
        k=$((k + 1))
    done
}

# --- the run -------------------------------------------------------------------
phases=$(((duration + phase_seconds - 1) / phase_seconds))
echo "== soak: $workers curl workers through coronet-proxy for $duration s, $phases phases of $phase_seconds s;"
echo "   curl in $ns_client ($client_ip) -> relay $ns_relay_c -> bridge $ns_bridge -> coronet-proxy in $ns_proxy"
echo "   ($proxy_ip) -> bridge -> relay $ns_relay_s -> HTTP server in $ns_server ($server_ip)"
echo 0 >"$work/phase"
start_relays 0
# The warm-up: one small download, then a large download and upload at once.
# Besides checking the path, they fault in the stack's fixed buffers (256
# receive buffers of 64 KiB for GSO super-frames: RSS grows by ~17 MiB as they
# are first written), so that the starting level includes them.
transfer warmup d1
transfer warmup d20 &
transfer warmup u20
wait $!
[ "$(grep -c ' ok$' "$logs/results-wwarmup")" -eq 3 ] ||
    { echo "soak.sh: the warm-up failed" >&2; cat "$logs/results-wwarmup" "$logs/curl-wwarmup.err" >&2; exit 1; }
sleep 1
rss_start=$(rss_kib)
rss_peak=$rss_start
echo "== warm-up (3 transfers) ok; proxy RSS $((rss_start / 1024)) MiB ($rss_start KiB)"

for ((w = 0; w < workers; w++)); do
    worker "$w" &
    worker_pids+=($!)
done
t_start=$(date +%s)
declare -a rss_phase
for ((p = 0; p < phases; p++)); do
    if [ $p -gt 0 ]; then
        alive
        t0=$(date +%s%N)
        stop_relays
        echo "$p" >"$work/phase.new" && mv "$work/phase.new" "$work/phase"
        start_relays "$p"
        echo $((($(date +%s%N) - t0) / 1000000)) >>"$logs/outages"
    fi
    printf '   %s phase %d: %s\n' "$(date +%T)" "$p" "${schedule[$((p % ${#schedule[@]}))]%%|*}"
    end=$((t_start + (p + 1 < phases ? (p + 1) * phase_seconds : duration)))
    now=$(date +%s)
    [ "$end" -le "$now" ] || pause $((end - now))
    rss_phase[$p]=$(rss_kib)
    [ "${rss_phase[$p]}" -le "$rss_peak" ] || rss_peak=${rss_phase[$p]}
done
touch "$work/stop"
echo "== $(date +%T) stopped starting transfers; waiting for the last ones (each at most $(max_time 20) s)"
wait "${worker_pids[@]}" || true
worker_pids=()
alive
t_workers_done=$(date +%s)

sleep 2
table_done=$(table)
rss_done=$(rss_kib)
echo "== $(date +%T) workers done; 2 s later the proxy's table has: $(table_counts "$table_done")"
# Only TIME_WAIT may remain; it ends 2*MSL (60 s) after each connection closed.
table_end=$table_done
deadline=$((t_workers_done + 75))
while [ "$(awk 'NR > 1' <<<"$table_end" | grep -vc '^LISTEN ')" -gt 0 ] && [ "$(date +%s)" -lt "$deadline" ]; do
    pause 5
    table_end=$(table)
done
rss_end=$(rss_kib)
stop_relays

# --- the verdict ---------------------------------------------------------------
cat "$logs"/results-w[0-9]* >"$logs/results"
echo
# Per phase, both relays and directions: frames dropped, duplicated, reordered
# (on purpose) and lost to a full queue.
for f in "$logs"/relay-*.json; do
    p=${f%.json}
    p=${p##*-}
    python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(sys.argv[2], *(sum(j[d][k] for d in ("a_to_b", "b_to_a")) for k in ("dropped", "duplicated", "reordered", "pool_drops")))' \
        "$f" "$((10#$p))" 2>/dev/null || echo "$((10#$p)) 0 0 0 0"
done >"$logs/relay-counters"
echo "== transfers by the phase they started in (time s: median / max; relay frames: dropped / duplicated /"
echo "   reordered / queue-full drops, both legs and directions; RSS at the phase's end)"
printf '%-5s %-52s %5s %4s %5s %6s %6s %6s %6s %6s %5s %4s\n' phase impairment xfers fail MiB median max \
    drop dup reord qfull RSS
for ((p = 0; p < phases; p++)); do
    read -r drop dup reord qfull < <(awk -v p="$p" '$1 == p {d += $2; u += $3; r += $4; q += $5} END {print d + 0, u + 0, r + 0, q + 0}' \
        "$logs/relay-counters")
    read -r n f mib mx < <(awk -v p="$p" '$1 == p {n++; if ($8 != "ok") f++; mib += substr($4, 2); if ($7 > mx) mx = $7}
        END {printf "%d %d %d %.1f\n", n, f, mib, mx / 1000}' "$logs/results")
    med=$(awk -v p="$p" '$1 == p {print $7}' "$logs/results" | sort -n |
        awk '{t[NR] = $1} END {printf "%.1f", NR ? t[int((NR + 1) / 2)] / 1000 : 0}')
    printf '%-5d %-52s %5d %4d %5d %6s %6s %6d %6d %6d %5d %4s\n' "$p" "${schedule[$((p % ${#schedule[@]}))]%%|*}" \
        "$n" "$f" "$mib" "$med" "$mx" "$drop" "$dup" "$reord" "$qfull" "$((rss_phase[p] / 1024))M"
done
total=$(wc -l <"$logs/results")
failed=$(awk '$8 != "ok"' "$logs/results" | wc -l)
echo "   relay restarts between phases took $(sort -n "$logs/outages" 2>/dev/null |
    awk '{t[NR] = $1} END {if (NR) printf "%d-%d ms (median %d ms)", t[1], t[NR], t[int((NR + 1) / 2)]; else printf "-"}')"
echo "   total $total transfers ($(grep -c ' d[0-9]* ' "$logs/results") downloads, $(grep -c ' u[0-9]* ' "$logs/results") uploads), $failed failed"
if [ "$failed" -gt 0 ]; then
    status=1
    echo "== FAILED transfers (phase at start/end, worker, job, curl exit, http, ms, verdict):"
    awk '$8 != "ok"' "$logs/results" | sed 's/^/   /'
    cat "$logs"/curl-w*.err | sed 's/^/   curl: /' | tail -20
fi

echo
echo "== the relays (both directions, all phases): frames dropped / duplicated / reordered, pool drops"
for leg in 0 1; do
    cat "$logs"/relay-"${legs[$leg]}"-*.json | python3 -c '
import json, sys
t = {}
for line in sys.stdin:
    j = json.loads(line)
    for d in ("a_to_b", "b_to_a"):
        for k, v in j[d].items():
            if isinstance(v, int): t[k] = t.get(k, 0) + v
print("   %-8s received %d dropped %d duplicated %d reordered %d pool_drops %d rx_kernel_drops %d tx_errors %d" % (
    sys.argv[1], t["received"], t["dropped"], t["duplicated"], t["reordered"], t["pool_drops"],
    t["rx_kernel_drops"], t["tx_errors"]))' "${legs[$leg]}"
done

echo
sessions=$(grep -c 'session [0-9]* ended' "$logs/proxy.log" || true)
bad_sessions=$(grep 'session [0-9]* ended' "$logs/proxy.log" | grep -vc 'ended (ok)' || true)
retrans=$(grep -o 'retransmits [0-9]* client / [0-9]* upstream' "$logs/proxy.log" |
    awk '{c += $2; u += $5} END {printf "%d client side, %d upstream side", c, u}' || true)
echo "== proxy sessions: $sessions ended, $bad_sessions not ok; retransmits $retrans"
count() { grep -c "$1" "$logs/proxy.log" || true; }
echo "   TIME_WAIT ended: $(count 'TIME_WAIT -> CLOSED (2MSL')x after 2*MSL, $(count 'TIME_WAIT -> CLOSED (RST)')x by an RST," \
    "$(count 'TIME_WAIT -> CLOSED (SYN reuses')x by a new SYN; log lines above info: $(count '\] \[\(warning\|error\|critical\)\]')"
if [ "$bad_sessions" -gt 0 ]; then
    status=1
    grep 'session [0-9]* ended' "$logs/proxy.log" | grep -v 'ended (ok)' | head -20 | sed 's/^/   /'
fi
if [ "$sessions" -ne $((total + 3)) ]; then
    echo "   expected $((total + 3)) sessions (the transfers and the warm-up)"
    status=1
fi

echo
echo "== the proxy's connection table 2 s after the workers stopped: $(table_counts "$table_done")"
echo "== and at the end ($(($(date +%s) - t_workers_done)) s after), which must be the LISTEN row only:"
sed 's/^/   /' <<<"$table_end"
if [ "$(awk 'NR > 1' <<<"$table_end" | grep -vc '^LISTEN ')" -gt 0 ]; then
    echo "   connections left behind"
    status=1
fi

echo
limit=$((rss_start + (rss_start / 5 > rss_tolerance_kib ? rss_start / 5 : rss_tolerance_kib)))
printf '== proxy RSS: start %d KiB, peak (phase ends) %d KiB, workers done %d KiB, end %d KiB (limit %d KiB)\n' \
    "$rss_start" "$rss_peak" "$rss_done" "$rss_end" "$limit"
if [ "$rss_end" -gt "$limit" ]; then
    echo "   memory did not return to its starting level"
    status=1
fi

kill -TERM "$proxy_pid"
if wait "$proxy_pid"; then
    echo "== coronet-proxy exited 0 on SIGTERM: $(grep -o 'proxy: [0-9]* connections.*' "$logs/proxy.log" | tail -1)"
else
    echo "== coronet-proxy exited $? on SIGTERM"
    status=1
fi
[ $status -eq 0 ] && echo "== soak PASSED" || echo "== soak FAILED" >&2
exit $status
