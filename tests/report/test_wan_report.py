#!/usr/bin/env python3
"""cmake/wan_report.py on made-up records: the table of a controller, and
with the A/A control (wan.sh --aa) its extra columns, the count of cells at
or above x1.00 for coronet and for the kernel against itself, and the
fairness row's A/A line. Usage: test_wan_report.py PATH/TO/wan_report.py"""
import json, os, subprocess, sys, tempfile

report = sys.argv[1]


def transfer(cell, direction, stack, mbit, retx=0):
    side = {"retransmits": retx, "dsacks": 0, "cc": stack.rsplit("-", 1)[-1]}
    return {"cell": cell, "direction": direction, "stack": stack, "run": 1, "status": "ok",
            "client": {"goodput_mbit_s": mbit, **side}, "server": side, "relay": None}


def flow(mbit):
    return {"status": "ok", "client": {"bytes": int(mbit * 1e6 / 8 * 10), "duration_s": 10},
            "server": {"retransmits": 3, "dsacks": 0}}


def run(records, rows, cells="c1|--delay 10|one cell", skipped=""):
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "results"), "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)
        with open(os.path.join(work, "rows"), "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        json_out = os.path.join(work, "out.json")
        out = subprocess.run([sys.executable, report, work, "8M", "1", "bbr", "cubic:cubic:cubic", "30", "0",
                              cells, skipped, json_out],
                             check=True, capture_output=True, text=True).stdout
        return out, json.load(open(json_out))


def expect(condition, what, out):
    if not condition:
        sys.exit(f"FAILED: {what}\n--- report ---\n{out}")


# coronet / kernel: x1.00 sending, x0.97 receiving; the kernel again: x0.98 and x1.03.
figures = {("send", "coronet-cubic"): 100, ("send", "kernel-cubic"): 100, ("send", "kernel-again-cubic"): 98,
           ("receive", "coronet-cubic"): 97, ("receive", "kernel-cubic"): 100,
           ("receive", "kernel-again-cubic"): 103, ("send", "kernel-default"): 200,
           ("receive", "kernel-default"): 200}
records = [transfer("c1", d, s, v) for (d, s), v in figures.items()]
fair = {"row": "fairness", "cc": "cubic", "kernel_cc": "cubic", "run": 1, "seconds": 30,
        "coronet": flow(60), "kernel": flow(40), "relay": None}
fair_aa = {"row": "fairness_aa", "cc": "cubic", "kernel_cc": "cubic", "run": 1, "seconds": 30,
           "kernel": flow(45), "again": flow(55), "relay": None}

out, data = run(records, [fair, fair_aa])
expect("| kernel cubic again |" in out and "| again / cubic |" in out, "the A/A columns", out)
expect("| c1 | coronet sends | 100 | 100 | 98.0 | 200 | x1.00 | x0.98 | x0.50 |" in out, "the sending row", out)
expect("| c1 | coronet receives | 97.0 | 100 | 103 | 200 | x0.97 | x1.03 | x0.48 |" in out, "the receiving row", out)
expect("At or above x1.00 against kernel cubic, of the rows (a cell and a direction each): coronet cubic in 1 of 2, "
       "the kernel itself again (A/A) in 1 of 2; again / cubic from x0.98 to x1.03." in out,
       "the counts and the A/A range", out)
expect(data["aa_summary"] == [{"cc": "cubic", "kernel_cc": "cubic", "coronet_at_or_above": "1 of 2",
                               "again_at_or_above": "1 of 2", "again_min": 0.98, "again_max": 1.03}],
       "the counts in the JSON", out)
expect("| cubic | 1/1 | 60.0 | 40.0 | 60% |" in out, "the fairness line", out)
expect("| A/A: kernel cubic twice | 1/1 | 45.0 | 55.0 | 45% |" in out, "the fairness A/A line", out)
expect([r["aa"] for r in data["fairness"]["rows"]] == [False, True], "the fairness rows' aa flags in the JSON", out)
expect(data["rows"][0]["kernel-again-cubic"]["goodput_mbit_s"] == 98, "the A/A transfers in the JSON rows", out)
expect([r["row"] for r in data["fairness"]["runs"]] == ["fairness"] and
       [r["row"] for r in data["fairness"]["aa_runs"]] == ["fairness_aa"], "the fairness runs apart in the JSON", out)

# A ratio just under x1.00 is not counted (x0.99 as printed), and a skipped
# cell's line has the table's columns.
edge = records + [transfer("c3", d, s, v) for (d, s), v in
                  {("send", "coronet-cubic"): 99.5, ("send", "kernel-cubic"): 100, ("send", "kernel-again-cubic"): 100,
                   ("send", "kernel-default"): 200}.items()]
out, _ = run(edge, [], cells="c1|--delay 10|one\nc2|--queue 250k|skipped\nc3|--loss 1|edge", skipped="c2")
expect("| c3 | coronet sends | 99.5 | 100 | 100 | 200 | x0.99 | x1.00 |" in out, "the edge row", out)
expect("coronet cubic in 1 of 3, the kernel itself again (A/A) in 2 of 3" in out, "x0.995 is not counted", out)
header = next(line for line in out.splitlines() if line.startswith("| cell |"))
skipped_line = next(line for line in out.splitlines() if line.startswith("| c2 |"))
expect(skipped_line.count("|") == header.count("|"), "the skipped cell's line has the table's columns", out)

# Without the A/A control: no extra column, no count line.
plain, _ = run([r for r in records if "again" not in r["stack"]], [fair])
expect(all(text not in plain for text in ("| kernel cubic again |", "| again / cubic |", "A/A", "At or above")),
       "no A/A column, line or count without --aa", plain)
expect("| c1 | coronet receives | 97.0 | 100 | 200 | x0.97 | x0.48 |" in plain, "the plain receiving row", plain)
print("wan_report.py: the tables with and without the A/A control are as expected")
