#!/usr/bin/env python3
"""The report of cmake/wan.sh: reads its results (WORK/results: one JSON
record per transfer: cell, direction, stack, run, status, and the client's,
server's and relay's JSON) and prints, for each of coronet's controllers, the
markdown table of coronet against the kernel; with a JSON path, also writes
the records and the tables' rows there.

WORK/rows holds the records of the fairness row (one per controller and run;
with wan.sh --aa also its A/A control, two kernel flows) and of the latency
row (the probe alone, then per controller under a coronet and under a kernel
bulk flow), whose tables follow.

Where the results hold kernel-again-K transfers (wan.sh --aa: the kernel
against itself, the A/A control), K's table adds them and their ratio to
kernel-K, and counts the rows (a cell and a direction each) each ratio puts
at or above x1.00 (JSON: aa_summary). The fairness row's A/A control (JSON:
rows with "aa": true, their runs under aa_runs) gives its first kernel
flow under the coronet_* keys.

Usage: wan_report.py WORK BYTES RUNS DEFAULT_CC CCS FAIRNESS_S LATENCY_S CELLS SKIPPED [JSON_OUT]
  CCS         coronet's controllers, comma-separated, each as X:KERNEL:PEER (coronet's name, the
              kernel's name of it, the kernel client's controller against coronet)
  FAIRNESS_S  the fairness row's seconds (0: not run)
  LATENCY_S   the latency row's seconds (0: not run)
  CELLS       the selected cells, one "name|impair flags|description" a line
  SKIPPED     the names of cells (and rows: fairness, latency) left out, space-separated
"""
import json, os, statistics, sys

work, size, runs, default_cc, cc_arg, fairness_s, latency_s, cell_lines, skipped = sys.argv[1:10]
json_out = sys.argv[10] if len(sys.argv) > 10 else ""


def read_records(name):
    try:
        return [json.loads(line) for line in open(os.path.join(work, name))]
    except FileNotFoundError:  # nothing ran (every selected cell skipped, or none selected)
        return []


records = read_records("results")
row_records = read_records("rows")
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


def quotient(a, b):
    """a's median goodput over b's, or None where either has none."""
    if a["goodput_mbit_s"] is None or not b["goodput_mbit_s"]:
        return None
    return a["goodput_mbit_s"] / b["goodput_mbit_s"]


def ratio(a, b):
    q = quotient(a, b)
    return "-" if q is None else f"x{q:.2f}"


def retx(s):
    if s["sender_retransmits"] is None:
        return "-"
    rcv = "?" if s["receiver_retransmits"] is None else f"{s['receiver_retransmits']:g}"
    dsacks = "?" if s["sender_dsacks"] is None else f"{s['sender_dsacks']:g}"
    return f"{s['sender_retransmits']:g} ({dsacks}) / {rcv}"


def relay_lateness(cell):
    """(median over the cell's transfers of the frames the relay sent more
    than 1 ms after they were due, both directions; the most any was late,
    in ms), or None from a coronet-impair that does not count them."""
    sides = [[r["relay"].get(d) or {} for d in ("a_to_b", "b_to_a")] for r in records
             if r["cell"] == cell and r["status"] == "ok" and r.get("relay")]
    sides = [s for s in sides if all("late_1ms" in d for d in s)]
    if not sides:
        return None
    return (median(sum(d["late_1ms"] for d in s) for s in sides),
            max(d["max_late_us"] for s in sides for d in s) / 1000)


def at_or_above(ratios):
    """'M of N' for the ratios (None: no figure) that round to x1.00 or more, as the tables print them."""
    known = [r for r in ratios if r is not None]
    return f"{sum(1 for r in known if round(r, 2) >= 1.0)} of {len(known)}"


rows = []
tables = []
aa_summary = []
for c in ccs:
    x, k = c["cc"], c["kernel"]
    again = f"kernel-again-{k}"
    aa = any(r["stack"] == again for r in records)
    stacks = {"coronet": f"coronet-{x}", "kernel": f"kernel-{k}", "default": default_stack}
    if aa:
        stacks["again"] = again
    # Each column after cell and direction: its heading and what it shows of
    # the row's summaries; the A/A ones only with --aa.
    columns = [(f"coronet {x} Mbit/s", lambda s: figure(s["coronet"]), False),
               (f"kernel {k}", lambda s: figure(s["kernel"]), False),
               (f"kernel {k} again", lambda s: figure(s["again"]), True),
               (f"kernel {default_cc}", lambda s: figure(s["default"]), False),
               (f"coronet / {k}", lambda s: ratio(s["coronet"], s["kernel"]), False),
               (f"again / {k}", lambda s: ratio(s["again"], s["kernel"]), True),
               (f"coronet / {default_cc}", lambda s: ratio(s["coronet"], s["default"]), False),
               ("retx coronet run", lambda s: retx(s["coronet"]), False),
               (f"retx {k}", lambda s: retx(s["kernel"]), False),
               (f"retx {default_cc}", lambda s: retx(s["default"]), False)]
    columns = [(heading, shown) for heading, shown, aa_only in columns if aa or not aa_only]
    head = [heading for heading, _ in columns] + ["byte-exact"]
    table = ["| cell | direction | " + " | ".join(head) + " |", "|---|---|" + "---:|" * len(head)]
    versus_kernel = {"coronet": [], "again": []}
    for name, flags, _ in cells:
        if name in skipped:
            table.append(f"| {name} | (skipped: coronet-impair without --queue BYTES) |" + " |" * len(head))
            continue
        for direction, label in directions:
            distinct = {stack: summarise(name, direction, stack) for stack in stacks.values()}
            s = {role: distinct[stack] for role, stack in stacks.items()}
            exact = sum(v["ok"] for v in distinct.values())
            total = sum(v["transfers"] for v in distinct.values())
            mismatched = sum(v["not_ok"]["mismatch"] for v in distinct.values())
            rows.append({"cell": name, "impair": flags, "direction": direction, "cc": x, **distinct})
            cols = [shown(s) for _, shown in columns] + [f"{exact}/{total}{' MISMATCH' if mismatched else ''}"]
            table.append(f"| {name} | {label} | " + " | ".join(cols) + " |")
            for role in versus_kernel:
                if role in s:
                    versus_kernel[role].append(quotient(s[role], s["kernel"]))
    if aa:
        spread = [r for r in versus_kernel["again"] if r is not None]
        table.append("")
        table.append(f"At or above x1.00 against kernel {k}, of the rows (a cell and a direction each): coronet {x} "
                     f"in {at_or_above(versus_kernel['coronet'])}, the kernel itself again (A/A) in "
                     f"{at_or_above(versus_kernel['again'])}"
                     + (f"; again / {k} from x{min(spread):.2f} to x{max(spread):.2f}." if spread else "."))
        aa_summary.append({"cc": x, "kernel_cc": k, "coronet_at_or_above": at_or_above(versus_kernel["coronet"]),
                           "again_at_or_above": at_or_above(versus_kernel["again"]),
                           "again_min": min(spread) if spread else None, "again_max": max(spread) if spread else None})
    tables.append((c, table))



def flow_mbit(flow):
    """A row's flow's bulk goodput in Mbit/s (its whole run), or None."""
    client = flow["client"] if flow["status"] == "ok" else None
    return client["bytes"] * 8 / client["duration_s"] / 1e6 if client and client["duration_s"] else None


def mbit(value, flow):
    if value is None:
        return flow["status"]
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def retx_of(flow):
    """(retransmitted segments, DSACKs) of a row's flow's sender, or Nones."""
    server = flow.get("server") or {}
    return server.get("retransmits"), server.get("dsacks")


def median_retx(flows):
    retx = median([retx_of(f)[0] for f in flows])
    dsacks = median([retx_of(f)[1] for f in flows])
    return "-" if retx is None else f"{retx:g} ({'?' if dsacks is None else f'{dsacks:g}'})"


# One line per controller: with several runs (--fairness-runs), the medians of
# each flow's goodput, of coronet's share (with its range) and of Jain's index.
fairness_rows = []
fairness_table = [
    "| cc | runs | coronet Mbit/s | kernel Mbit/s | coronet share | Jain's index | retx coronet | retx kernel |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
]
fairness_records = [r for r in row_records if r["row"] in ("fairness", "fairness_aa")]
# The A/A control's first kernel flow stands where coronet's does.
roles = {"fairness": ("coronet", "kernel"), "fairness_aa": ("kernel", "again")}
for cc, row in dict.fromkeys((r["cc"], r["row"]) for r in fairness_records):
    mine = [r for r in fairness_records if (r["cc"], r["row"]) == (cc, row)]
    first, second = roles[row]
    pairs = [(flow_mbit(r[first]), flow_mbit(r[second])) for r in mine]
    shares, jains = [], []
    for a, b in pairs:
        if a is not None and b is not None and a + b > 0:
            shares.append(a / (a + b))
            jains.append((a + b) ** 2 / (2 * (a * a + b * b)))
    x1, x2 = median([a for a, _ in pairs]), median([b for _, b in pairs])
    share, jain = median(shares), median(jains)
    fairness_rows.append({"cc": cc, "kernel_cc": mine[0]["kernel_cc"], "aa": row == "fairness_aa",
                          "runs": len(mine), "runs_measured": len(shares),
                          "coronet_mbit_s": x1, "kernel_mbit_s": x2, "coronet_share": share,
                          "coronet_share_min": min(shares) if shares else None,
                          "coronet_share_max": max(shares) if shares else None, "jain_index": jain})
    share_text = "-" if share is None else f"{share:.0%}"
    if len(shares) > 1:
        share_text += f" ({min(shares):.0%}-{max(shares):.0%})"
    label = cc if row == "fairness" else f"A/A: kernel {mine[0]['kernel_cc']} twice"
    fairness_table.append(
        f"| {label} | {len(shares)}/{len(mine)} | {mbit(x1, mine[0][first])} | {mbit(x2, mine[0][second])} | "
        f"{share_text} | {'-' if jain is None else f'{jain:.3f}'} | "
        f"{median_retx([r[first] for r in mine])} | {median_retx([r[second] for r in mine])} |")

latency_runs = [r for r in row_records if r["row"] == "latency"]
base = next((r["probe"]["client"] for r in latency_runs if r["stack"] == "none" and r["probe"]["status"] == "ok"),
            None)
latency_rows = []
latency_table = [
    "| bulk flow | bulk Mbit/s | probe p50 ms | probe p99 ms | p50 / base | p99 / base |",
    "|---|---:|---:|---:|---:|---:|",
]
for r in latency_runs:
    probe = r["probe"]["client"] if r["probe"]["status"] == "ok" else None
    flow = r["bulk"]
    bulk_mbit = flow_mbit(flow) if flow else None
    p50, p99 = (probe["p50_us"] / 1000, probe["p99_us"] / 1000) if probe else (None, None)
    base_ms = base["p50_us"] / 1000 if base else None
    label = {"none": "none (base RTT)", "coronet": f"coronet {r['cc']}", "kernel": f"kernel {r['kernel_cc']}"}[r["stack"]]
    latency_rows.append({"stack": r["stack"], "cc": r["cc"], "kernel_cc": r["kernel_cc"], "bulk_mbit_s": bulk_mbit,
                         "p50_ms": p50, "p99_ms": p99, "base_ms": base_ms})

    def versus(v):
        return f"x{v / base_ms:.2f}" if v is not None and base_ms else "-"

    latency_table.append(
        f"| {label} | {mbit(bulk_mbit, flow) if flow else '-'} | "
        f"{'-' if p50 is None else f'{p50:.1f}'} | {'-' if p99 is None else f'{p99:.1f}'} | "
        f"{versus(p50)} | {versus(p99)} |" if probe else f"| {label} | | probe {r['probe']['status']} | | | |")

peers = "; ".join(f"coronet {c['cc']} against the kernel's {c['peer']}" for c in ccs)
print(f"WAN benchmark: coronet's congestion controls {', '.join(c['cc'] for c in ccs)}; the kernel's default "
      f"is {default_cc}.")
if cells:
    print(f"Cells: {size} per transfer, median of {runs} run(s) per figure. coronet X: coronet's server in B "
          f"with --cc X, the kernel's client in A ({peers}); kernel X: the kernel with X at both ends.")
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
relay_late = {name: relay_lateness(name) for name, _, _ in cells if name not in skipped}
behind = [f"{name} {late[0]:g} frames, at most {late[1]:.1f} ms" for name, late in relay_late.items()
          if late and late[1] > 1]
if behind:
    print()
    print("The relay behind its schedule (median per transfer of frames sent more than 1 ms after they were due, "
          "both directions; the most any was late): " + "; ".join(behind) + ". It adds delay and "
          "reordering beyond the cell's own, which every stack meets, and RACK may take it for loss.")


def print_row_table(row, name, table, legend):
    """Row's table under its name and legend, or that it was skipped; nothing if it did not run."""
    if row in skipped:
        print()
        print(f"{name}: skipped (coronet-impair without --queue BYTES).")
    elif table[2:]:
        print()
        print(f"{name}: {legend}")
        print()
        print("\n".join(table))


bottleneck = "rtt20-100mbit-bdp path (100 Mbit/s, RTT 20 ms, 1-BDP queue)"
print_row_table("fairness", "Fairness", fairness_table,
                f"one coronet flow and one kernel flow with the same controller (cc; the kernel's name of it), "
                f"both sent from B, share the {bottleneck} for {fairness_s} s, started together; goodput of each "
                f"flow's whole run; Jain's index (x1+x2)^2 / (2 (x1^2+x2^2)): 1 equal shares, 0.5 one flow takes "
                f"all. runs: those where both flows finished / those run (--fairness-runs); with several, the "
                f"figures are medians and coronet's share carries its range. retx: the sender's retransmitted "
                f"segments (DSACKed)." + (" An A/A line (--aa) is two kernel flows with the controller: the "
                                          "first stands in coronet's columns." if any(r["aa"] for r in fairness_rows)
                                          else ""))
print_row_table("latency", "Latency under load", latency_table,
                f"on the {bottleneck}, a kernel 1-byte rr probe (client in A, B's kernel server on its own "
                f"address) measures the round trip for {latency_s} s while a bulk flow sent from B, started 2 s "
                f"before it, fills the queue: a coronet flow with its controller or a kernel flow with the same; "
                f"base: the probe alone (at most 5 s) first. Ratios to the base run's p50.")
if json_out:
    with open(json_out, "w") as f:
        json.dump({"bytes": size, "runs": int(runs), "default_cc": default_cc, "ccs": ccs,
                   "rows": rows, "aa_summary": aa_summary, "transfers": records,
                   "relay_late": {name: late and {"late_1ms_median": late[0], "max_late_ms": late[1]}
                                  for name, late in relay_late.items()},
                   "fairness": {"seconds": int(fairness_s), "rows": fairness_rows,
                                "runs": [r for r in fairness_records if r["row"] == "fairness"],
                                "aa_runs": [r for r in fairness_records if r["row"] == "fairness_aa"]},
                   "latency": {"seconds": int(latency_s), "rows": latency_rows, "runs": latency_runs}}, f, indent=1)
