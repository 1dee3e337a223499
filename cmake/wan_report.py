#!/usr/bin/env python3
"""The report of cmake/wan.sh: reads its results (one JSON record per
transfer: cell, direction, stack, run, status, and the client's, server's and
relay's JSON) and prints the markdown table of coronet against the kernel;
with a JSON path, also writes the records and the table's rows there.

Usage: wan_report.py RESULTS BYTES RUNS DEFAULT_CC PEER_CC CELLS SKIPPED [JSON_OUT]
  CELLS    the selected cells, one "name|impair flags|description" a line
  SKIPPED  the names of cells left out, space-separated
"""
import json, statistics, sys

results, size, runs, default_cc, peer_cc, cell_lines, skipped = sys.argv[1:8]
json_out = sys.argv[8] if len(sys.argv) > 8 else ""
try:
    records = [json.loads(line) for line in open(results)]
except FileNotFoundError:  # every selected cell was skipped
    records = []
cells = [line.split("|") for line in cell_lines.splitlines() if line]
skipped = skipped.split()
stacks = ["coronet", "kernel-reno", "kernel-default"]
directions = [("send", "coronet sends"), ("receive", "coronet receives")]


def side_losses(r):
    """(sender's retransmissions, the DSACKs the sender received, receiver's
    retransmissions) of one transfer: the server in B sends when coronet sends
    (the client asked with --reverse)."""
    client = r["client"]
    server = r.get("server") or {}
    sender, receiver = (server, client) if r["direction"] == "send" else (client, server)
    return sender.get("retransmits"), sender.get("dsacks"), receiver.get("retransmits")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(cell, direction, stack):
    mine = [r for r in records if (r["cell"], r["direction"], r["stack"]) == (cell, direction, stack)]
    ok = [r for r in mine if r["status"] == "ok"]
    losses = [side_losses(r) for r in ok]
    return {
        "transfers": len(mine),
        "ok": len(ok),
        "not_ok": {s: sum(1 for r in mine if r["status"] == s) for s in ("stalled", "failed", "mismatch")},
        "goodput_mbit_s": median(r["client"]["goodput_mbit_s"] for r in ok),
        "sender_retransmits": median(s for s, _, _ in losses),
        "sender_dsacks": median(d for _, d, _ in losses),
        "receiver_retransmits": median(c for _, _, c in losses),
        "cc": sorted({r["client"].get("cc", "") for r in ok} | {(r["server"] or {}).get("cc", "") for r in ok}),
    }


def figure(s):
    if s["goodput_mbit_s"] is None:
        bad = [k for k, n in s["not_ok"].items() if n]
        return bad[0] if bad else "-"
    text = f"{s['goodput_mbit_s']:.1f}" if s["goodput_mbit_s"] < 100 else f"{s['goodput_mbit_s']:.0f}"
    problems = ", ".join(f"{n} {k}" for k, n in s["not_ok"].items() if n)
    return f"{text} ({problems})" if problems else text


def ratio(a, b):
    if a["goodput_mbit_s"] is None or not b["goodput_mbit_s"]:
        return "-"
    return f"x{a['goodput_mbit_s'] / b['goodput_mbit_s']:.2f}"


def retx(s):
    if s["sender_retransmits"] is None:
        return "-"
    rcv = "?" if s["receiver_retransmits"] is None else f"{s['receiver_retransmits']:g}"
    dsacks = "?" if s["sender_dsacks"] is None else f"{s['sender_dsacks']:g}"
    return f"{s['sender_retransmits']:g} ({dsacks}) / {rcv}"


rows = []
table = [
    f"| cell | direction | coronet Mbit/s | kernel reno | kernel {default_cc} | coronet / reno | "
    f"coronet / {default_cc} | retx coronet run | retx reno | retx {default_cc} | byte-exact |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]
for name, flags, _ in cells:
    if name in skipped:
        table.append(f"| {name} | (skipped: coronet-impair without --queue BYTES) | | | | | | | | | |")
        continue
    for direction, label in directions:
        s = {stack: summarise(name, direction, stack) for stack in stacks}
        exact = sum(x["ok"] for x in s.values())
        total = sum(x["transfers"] for x in s.values())
        mismatched = sum(x["not_ok"]["mismatch"] for x in s.values())
        rows.append({"cell": name, "impair": flags, "direction": direction, **s})
        table.append(
            f"| {name} | {label} | {figure(s['coronet'])} | {figure(s['kernel-reno'])} | "
            f"{figure(s['kernel-default'])} | {ratio(s['coronet'], s['kernel-reno'])} | "
            f"{ratio(s['coronet'], s['kernel-default'])} | {retx(s['coronet'])} | {retx(s['kernel-reno'])} | "
            f"{retx(s['kernel-default'])} | {exact}/{total}{' MISMATCH' if mismatched else ''} |")

print(f"WAN benchmark: {size} per transfer, median of {runs} run(s) per figure; the kernel's default congestion "
      f"control is {default_cc}; the kernel peer against coronet runs {peer_cc}; coronet runs newreno.")
print("Goodput: measured by the client from its header sent to the receiver's trailer received (the transfer "
      "plus about one RTT); ratios are of the medians. retx: median retransmitted segments, sender (of them, "
      "DSACKed: reported by the receiver as duplicates, i.e. spurious) / receiver.")
print("byte-exact: transfers whose SHA-256 matched at both ends and whose every byte matched the pattern.")
print()
print("\n".join(table))
if json_out:
    with open(json_out, "w") as f:
        json.dump({"bytes": size, "runs": int(runs), "default_cc": default_cc, "peer_cc": peer_cc,
                   "rows": rows, "transfers": records}, f, indent=1)
