#!/usr/bin/env bash
# The demo: installs what is missing, builds, then shows the user-space stack
# on a veth pair between two network namespaces it creates (and always
# deletes): the stack answers the kernel's ARP and ping, coronet-ping pings
# the kernel, and coronet-cat sends a file over coronet's TCP to a kernel
# socat, printing its state transitions. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
source cmake/deps.sh
install_deps
build_tree build/release -DCMAKE_BUILD_TYPE=Release
bin=build/release/apps

id="cndemo$$"
ns_stack="${id}s" ns_peer="${id}p"
work=$(mktemp -d)
cleanup() {
    ip netns del "$ns_stack" 2>/dev/null || true
    ip netns del "$ns_peer" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add "$ns_stack"
ip netns add "$ns_peer"
ip link add "${id}s0" netns "$ns_stack" type veth peer name "${id}p0" netns "$ns_peer"
ip -n "$ns_stack" link set "${id}s0" up
ip -n "$ns_peer" link set "${id}p0" up
ip -n "$ns_peer" addr add 10.0.0.1/24 dev "${id}p0"
echo "== namespaces: $ns_peer (kernel, 10.0.0.1) <-veth-> $ns_stack (coronet, 10.0.0.2, no kernel IP)"

echo "== coronet-ping 10.0.0.1 from the user-space stack (which answers the kernel meanwhile)"
ip netns exec "$ns_stack" "$bin/coronet-ping" --iface "${id}s0" --ip 10.0.0.2/24 --log-level info \
    -c 8 -i 0.25 10.0.0.1 &
ping_pid=$!
sleep 0.5
echo "== kernel ping 10.0.0.2 (the user-space stack)"
ip netns exec "$ns_peer" ping -c 4 -i 0.2 10.0.0.2
echo "== kernel neighbour table"
ip -n "$ns_peer" neigh show 10.0.0.2
wait "$ping_pid"

echo "== coronet-cat: 20 MiB over coronet's TCP to a kernel socat (state trace at info)"
head -c 20M /dev/urandom > "$work/in"
ip netns exec "$ns_peer" socat -u TCP-LISTEN:5001,reuseaddr "CREATE:$work/out" &
socat_pid=$!
sleep 0.3
ip netns exec "$ns_stack" "$bin/coronet-cat" --iface "${id}s0" --ip 10.0.0.2/24 --log-level info \
    10.0.0.1 5001 < "$work/in"
wait "$socat_pid"
sent=$(sha256sum < "$work/in" | cut -d' ' -f1)
got=$(sha256sum < "$work/out" | cut -d' ' -f1)
echo "sha256 sent $sent"
echo "sha256 got  $got"
[ "$sent" = "$got" ] || { echo "demo: transfer corrupted" >&2; exit 1; }
echo "== demo done"
