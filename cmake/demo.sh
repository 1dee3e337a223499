#!/usr/bin/env bash
# The demo: installs what is missing, builds, then runs kernel curl through
# coronet-proxy (the user-space stack) to a kernel HTTP server, each in its
# own network namespace, joined by a bridge. It downloads a few files, checks
# their sha256 against the originals, prints the proxy's state transitions
# and its connection table, and deletes everything it made. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
source cmake/deps.sh
install_deps
build_tree build/release -DCMAKE_BUILD_TYPE=Release
bin=build/release/apps

source cmake/netns.sh
netns_init demo
id=$netns_id
ns_client="${id}c" ns_proxy="${id}x" ns_server="${id}s" ns_bridge="${id}b"
client_ip=10.77.0.1 proxy_ip=10.77.0.2 server_ip=10.77.0.3
work=$(mktemp -d)
netns_at_exit+=('rm -rf "$work"')

# Three namespaces, each with one veth end; the other ends meet on a bridge.
netns_add "$ns_client" "$ns_proxy" "$ns_server" "$ns_bridge"
for role in c x s; do netns_veth "${id}${role}0" "${id}${role}" "${id}${role}b" "$ns_bridge"; done
netns_bridge "$ns_bridge" "${id}cb" "${id}xb" "${id}sb"
ip -n "$ns_client" addr add "$client_ip/24" dev "${id}c0"
ip -n "$ns_server" addr add "$server_ip/24" dev "${id}s0"
echo "== namespaces: curl in $ns_client ($client_ip), coronet-proxy in $ns_proxy ($proxy_ip, no kernel IP),"
echo "   HTTP server in $ns_server ($server_ip), joined by a bridge in $ns_bridge"

mkdir -p "$work/www" "$work/got"
for f in 1:small 10:medium 50:large; do head -c "${f%%:*}M" /dev/urandom > "$work/www/${f#*:}"; done
ip netns exec "$ns_server" python3 -m http.server -d "$work/www" -b "$server_ip" 8000 >"$work/http.log" 2>&1 &
ip netns exec "$ns_proxy" "$bin/coronet-proxy" --iface "${id}x0" --ip "$proxy_ip/24" --listen 8080 \
    --upstream "$server_ip:8000" --log-level info --summary-json "$work/summary.jsonl" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 50); do
    grep -q '"event":"listening"' "$work/summary.jsonl" 2>/dev/null &&
        ip netns exec "$ns_server" ss -Hltn 'sport = :8000' | grep -q . && break
    sleep 0.1
done

echo "== curl http://$proxy_ip:8080/{small,medium,large} through coronet-proxy"
status=0
for f in small medium large; do
    start=$(date +%s%N)
    ip netns exec "$ns_client" curl -sS --max-time 60 -o "$work/got/$f" "http://$proxy_ip:8080/$f" || status=1
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    want=$(sha256sum < "$work/www/$f" | cut -d' ' -f1)
    got=$(sha256sum < "$work/got/$f" 2>/dev/null | cut -d' ' -f1)
    verdict=equal
    [ "$want" = "$got" ] || { verdict=DIFFERENT; status=1; }
    printf '%-7s %9d bytes  %3d.%03d s  sha256 %s  %s\n' "$f" "$(stat -c %s "$work/got/$f" 2>/dev/null || echo 0)" \
        $((ms / 1000)) $((ms % 1000)) "$got" "$verdict"
done

echo "== the connection table during a slow download (SIGUSR1)"
ip netns exec "$ns_client" curl -sS --max-time 60 --limit-rate 5M -o /dev/null "http://$proxy_ip:8080/medium" &
slow=$!
sleep 0.5
kill -USR1 "$proxy_pid"
sleep 0.2
wait "$slow"
sed -n '/^State /,/^\[/p' "$work/proxy.log" | grep -v '^\['

kill -TERM "$proxy_pid"
wait "$proxy_pid" && echo "== coronet-proxy exited 0 on SIGTERM" || { echo "coronet-proxy exited $?" >&2; status=1; }
echo "== the proxy's log: state transitions and session summaries (first download shown in full)"
grep -v "^State \|^LISTEN \|^ESTABLISHED \|^TIME_WAIT \|^[A-Z_]* *[0-9]" "$work/proxy.log" | sed -n '1,/session 1 ended/p'
echo "   ..."
grep -E "session [0-9]+ ended|proxy: " "$work/proxy.log"
[ $status -eq 0 ] && echo "== demo done: every download byte-exact" || echo "== demo FAILED" >&2
exit $status
