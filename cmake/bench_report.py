#!/usr/bin/env python3
"""The report of cmake/bench.sh: reads its results file (one cell a line:
name, the client's JSON line, the server's, separated by tabs) and prints the
tables of coronet against the kernel.

Usage: bench_report.py RESULTS DURATION BUSY_POLL_US [SECTION]
(SECTION: the one bench.sh --only ran, or all; the others are left out.)
"""
import json, sys

section = sys.argv[4] if len(sys.argv) > 4 else "all"

def want(name):
    return section in ("all", name)

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
    ("bulk c->s, all CUBIC Gbit/s", "bulk-cubic", "gbit_per_s"),
    ("bulk s->c, all CUBIC Gbit/s", "bulk-reverse-cubic", "gbit_per_s"),
    ("bulk c->s no offload Gbit/s", "bulk-no-offload", "gbit_per_s"),
    ("bulk s->c no offload Gbit/s", "bulk-reverse-no-offload", "gbit_per_s"),
]
# The no-offload cells exist for coronet's sending side only; their ratios are to the offloaded kernel baseline.
baseline_mode = {"bulk-no-offload": "bulk", "bulk-reverse-no-offload": "bulk-reverse"}
pairs = [("kernel-kernel", "kernel -> kernel"), ("kernel-coronet", "kernel -> coronet"),
         ("coronet-kernel", "coronet -> kernel"), ("coronet-coronet", "coronet -> coronet")]

def ran(mode):
    """Whether bench.sh ran any cell of mode (it leaves the all-CUBIC ones out beside --kernel-args or --coronet-args)."""
    return any(name.startswith(mode + "/") for name in cells)

def figure(mode, pair, field):
    client = cells.get(f"{mode}/{pair}", (None, None))[0]
    return client.get(field) if client else None

def show(v, mode, pair):
    if v is None:
        return "failed" if f"{mode}/{pair}" in cells else "-"
    return f"{v:.2f}" if v < 100 else f"{v:.0f}"

if want("tcp"):
    print(f"coronet-bench, {sys.argv[2]} s per cell; client -> server; (xR) = ratio to kernel -> kernel "
          "(for latencies, above 1 is slower)")
    print(f"{'':28}" + "".join(f"{title:>22}" for _, title in pairs))
    for label, mode, field in rows:
        if not ran(mode):
            continue
        base = figure(baseline_mode.get(mode, mode), "kernel-kernel", field)
        out = f"{label:28}"
        for pair, _ in pairs:
            v = figure(mode, pair, field)
            ratio = f" (x{v / base:.2f})" if pair != "kernel-kernel" and v is not None and base else ""
            out += f"{show(v, mode, pair) + ratio:>22}"
        print(out)
    cubic = ("all CUBIC: kernel sockets --cc cubic, coronet --tcp-cc cubic, ratio to kernel -> kernel on CUBIC; "
             if ran("bulk-cubic") else "")
    print(f"(busy-poll: --busy-poll {sys.argv[3]} us at both ends, kernel sockets included; {cubic}"
          "no offload: coronet with --no-offload)")
    print("retransmits, client/server side:")
    for mode in ("bulk", "bulk-reverse", "rr", "crr", "bulk-cubic", "bulk-reverse-cubic"):
        if not ran(mode):
            continue
        out = f"  {mode:26}"
        for pair, _ in pairs:
            client, server = cells.get(f"{mode}/{pair}", (None, None))
            both = f"{client['retransmits']}/{server['retransmits']}" if client and server else "-"
            out += f"{both:>22}"
        print(out)
    print()
    print("two loops (--loops), 8 connections at once; (xR) = ratio to kernel -> kernel, [xS] = loops 2 / loops 1")
    print("(coronet -> coronet: that many loops at both ends)")
    print(f"{'':38}{'kernel -> kernel':>18}{'loops 1':>18}{'loops 2':>18}{'scaling':>10}")
    for label, mode, field in (("crr connections/s", "crr8", "connections_per_s"), ("bulk Gbit/s", "bulk8", "gbit_per_s")):
        base = figure(mode, "kernel-kernel", field)
        for pair, title in pairs[1:]:
            one, two = figure(mode, f"{pair}/loops1", field), figure(mode, f"{pair}/loops2", field)
            out = f"{label + ', ' + title:38}{show(base, mode, 'kernel-kernel'):>18}"
            for v, loops in ((one, 1), (two, 2)):
                ratio = f" (x{v / base:.2f})" if v is not None and base else ""
                out += f"{show(v, mode, pair + '/loops' + str(loops)) + ratio:>18}"
            out += f"{f'[x{two / one:.2f}]' if one and two else '-':>10}"
            print(out)

if want("link"):
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

if want("memory"):
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

if want("million"):
    million = cells.get("million", (None, None))[0]
    if million and million.get("base") and million.get("held"):
        base, held, dialed = million["base"], million["held"], million.get("dialer") or {}
        accepted = held["accepted"]
        growth = (held["vm_rss_kib"] - base["vm_rss_kib"]) * 1024
        per = f"{growth / accepted:.0f} bytes per connection" if accepted else "no connection"
        print(f"million: {accepted} of {million['count']} idle connections coronet -> coronet held by "
              f"coronet-test-sink ({held.get('states', {}).get('ESTABLISHED', 0)} ESTABLISHED): RSS "
              f"{base['vm_rss_kib'] / 1024:.0f} -> {held['vm_rss_kib'] / 1024:.0f} MiB (+{growth / 2**20:.0f} MiB; "
              f"goal <= 1024 MiB for 1,000,000), {per}")
        print(f"  dialer: {dialed.get('connected')} established in {dialed.get('seconds')} s (goal < 30 s), "
              f"{dialed.get('failed')} failed{' (first: ' + dialed['first_error'] + ')' if dialed.get('first_error') else ''}; "
              f"its RSS {(million.get('dialer_rss_kib') or 0) / 1024:.0f} MiB")
    else:
        print("million: failed")

if want("proxy-memory"):
    proxy = cells.get("proxy-memory", (None, None))[0]
    if proxy and proxy.get("sessions"):
        growth = (proxy["rss_after_kib"] - proxy["rss_before_kib"]) * 1024
        print(f"proxy-memory: {proxy['sessions']} idle sessions through coronet-proxy: RSS "
              f"{proxy['rss_before_kib'] / 1024:.0f} -> {proxy['rss_after_kib'] / 1024:.0f} MiB, "
              f"{growth / proxy['sessions']:.0f} bytes per session")
    else:
        print("proxy-memory: failed")

if want("beast"):
    kernel, coronet = (cells.get(f"beast/{side}", (None, None))[0] for side in ("kernel", "coronet"))
    shown = [f"{c['mb_per_s']:.0f} MB/s" if c else "failed" for c in (kernel, coronet)]
    ratio = f" (x{coronet['mb_per_s'] / kernel['mb_per_s']:.2f})" if kernel and coronet else ""
    print(f"beast: one Boost.Beast file server (coronet-beast-files), 8 x 32 MiB on one keep-alive connection "
          f"from curl: kernel sockets {shown[0]}, coronet's Asio adapters {shown[1]}{ratio}")
