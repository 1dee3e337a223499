#!/usr/bin/env python3
"""The report of cmake/wan.sh: reads its results (WORK/results: one JSON
record per transfer: cell, direction, stack, run, status, and the client's,
server's and relay's JSON) and prints, for each of coronet's controllers, the
markdown table of coronet against the kernel; with a JSON path, also writes
the records and the tables' rows there.

Usage: wan_report.py WORK BYTES RUNS DEFAULT_CC CCS CELLS SKIPPED [JSON_OUT]
  CCS      coronet's controllers, comma-separated, each as X:KERNEL:PEER (coronet's name, the
           kernel's name of it, the kernel client's controller against coronet)
  CELLS    the selected cells, one "name|impair flags|description" a line
  SKIPPED  the names of cells left out, space-separated
"""
import json, os, statistics, sys

work, size, runs, default_cc, cc_arg, cell_lines, skipped = sys.argv[1:8]
json_out = sys.argv[8] if len(sys.argv) > 8 else ""


def read_records(name):
    try:
        return [json.loads(line) for line in open(os.path.join(work, name))]
    except FileNotFoundError:  # nothing ran (every selected cell skipped, or none selected)
        return []


records = read_records("results")
cells = [line.split("|") for line in cell_lines.splitlines() if line]
skipped = skipped.split()
ccs = [dict(zip(("cc", "kernel", "peer"), item.split(":"))) for item in cc_arg.split(",")]
kernel_names = [c["kernel"] for c in ccs]
# The kernel's default ran as kernel-default unless it is one of the kernel-X.
default_stack = f"kernel-{default_cc}" if default_cc in kernel_names else "kernel-default"
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
tables = []
for c in ccs:
    x, k = c["cc"], c["kernel"]
    stacks = {"coronet": f"coronet-{x}", "kernel": f"kernel-{k}", "default": default_stack}
    table = [
        f"| cell | direction | coronet {x} Mbit/s | kernel {k} | kernel {default_cc} | coronet / {k} | "
        f"coronet / {default_cc} | retx coronet run | retx {k} | retx {default_cc} | byte-exact |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, flags, _ in cells:
        if name in skipped:
            table.append(f"| {name} | (skipped: coronet-impair without --queue BYTES) | | | | | | | | | |")
            continue
        for direction, label in directions:
            distinct = {stack: summarise(name, direction, stack) for stack in stacks.values()}
            s = {role: distinct[stack] for role, stack in stacks.items()}
            exact = sum(v["ok"] for v in distinct.values())
            total = sum(v["transfers"] for v in distinct.values())
            mismatched = sum(v["not_ok"]["mismatch"] for v in distinct.values())
            rows.append({"cell": name, "impair": flags, "direction": direction, "cc": x, **distinct})
            table.append(
                f"| {name} | {label} | {figure(s['coronet'])} | {figure(s['kernel'])} | "
                f"{figure(s['default'])} | {ratio(s['coronet'], s['kernel'])} | "
                f"{ratio(s['coronet'], s['default'])} | {retx(s['coronet'])} | {retx(s['kernel'])} | "
                f"{retx(s['default'])} | {exact}/{total}{' MISMATCH' if mismatched else ''} |")
    tables.append((c, table))

peers = "; ".join(f"coronet {c['cc']} against the kernel's {c['peer']}" for c in ccs)
print(f"WAN benchmark: {size} per transfer, median of {runs} run(s) per figure; the kernel's default congestion "
      f"control is {default_cc}. coronet X: coronet's server in B with --cc X, the kernel's client in A "
      f"({peers}); kernel X: the kernel with X at both ends.")
print("Goodput: measured by the client from its header sent to the receiver's trailer received (the transfer "
      "plus about one RTT); ratios are of the medians. retx: median retransmitted segments, sender (of them, "
      "DSACKed: reported by the receiver as duplicates, i.e. spurious) / receiver.")
print("byte-exact: transfers whose SHA-256 matched at both ends and whose every byte matched the pattern "
      "(of the row's stacks).")
for c, table in tables if cells else []:
    print()
    print(f"coronet {c['cc']}:")
    print()
    print("\n".join(table))
if json_out:
    with open(json_out, "w") as f:
        json.dump({"bytes": size, "runs": int(runs), "default_cc": default_cc, "ccs": ccs,
                   "rows": rows, "transfers": records}, f, indent=1)
