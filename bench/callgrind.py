#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Instructions per delivered event, counted by callgrind: the figure to track between commits on
a noisy machine (it does not depend on what else runs). Run through bench/callgrind, which builds
the release binaries first.

Each shape runs twice against taskwired under `valgrind --tool=callgrind`, with a small and a
large number of ticks; the difference of the two totals over the difference of the events is the
cost of one event, start-up and shutdown cancelled out. The larger run's most expensive functions
(self cost) are listed too. Writes docs/BENCHMARKS-callgrind.json and the table between the
"callgrind" markers of docs/BENCHMARKS.md.
"""
import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (free_port, wait_ready, paths)

SHAPES = {
    "a": {"title": "1 client x 1 task", "args": ["--clients", "1", "--tasks-per-client", "1"],
          "ticks": (20000, 60000)},
    "b": {"title": "10 clients x 10 tasks", "args": ["--clients", "10", "--tasks-per-client", "10"],
          "ticks": (200, 600)},
}


def one(shape, ticks, root, keep_profile=False):
    port = bench.free_port()
    out_dir = tempfile.mkdtemp(prefix="taskwire-cg-")
    cmd = ["valgrind", "--tool=callgrind", "--dump-instr=no",
           f"--callgrind-out-file={out_dir}/callgrind.out", bench.TASKWIRED,
           "--port", str(port), "--root", "models=" + root, "--log-level", "warn",
           "--io-threads", "1", "--state-dir", os.path.join(root, ".state")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        bench.wait_ready(port, proc, limit=120)
        lg = subprocess.run([bench.LOADGEN, "--url", f"ws://127.0.0.1:{port}/ws", "--ticks",
                             str(ticks), "--duration-limit", "600"] + SHAPES[shape]["args"],
                            capture_output=True, text=True, timeout=900)
        result = json.loads(lg.stdout.strip().splitlines()[-1])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=300)
    total = None
    with open(f"{out_dir}/callgrind.out") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
    top = []
    if keep_profile:
        ann = subprocess.run(["callgrind_annotate", "--threshold=100", f"{out_dir}/callgrind.out"],
                             capture_output=True, text=True).stdout
        for line in ann.splitlines():
            m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)", line)
            if m and len(top) < 15 and "PROGRAM TOTALS" not in line:
                top.append({"ir": int(m.group(1).replace(",", "")), "pct": float(m.group(2)),
                            "function": m.group(3)[:160]})
    for p in glob.glob(f"{out_dir}/*"):
        os.remove(p)
    os.rmdir(out_dir)
    return {"ticks": ticks, "events": result.get("events"), "ir": total,
            "violations": result.get("violations"), "top": top}


def markdown(results, commit):
    lines = ["<!-- callgrind: written by bench/callgrind; edit bench/callgrind.py, not this block -->",
             "",
             f"`bench/callgrind` ({time.strftime('%Y-%m-%d')}, commit {commit}): taskwired (release, one "
             "I/O thread) under `valgrind --tool=callgrind`, driven by `taskwire-loadgen`. Per event: "
             "(instructions of the large run - of the small run) / (events of the large run - of the "
             "small run), so start-up and shutdown cancel out. Instruction counts do not depend on the "
             "machine's load: compare them between commits.", "",
             "| shape | events (small, large) | instructions (small, large) | instructions per event |",
             "|---|---|---|---|"]
    for s, r in results.items():
        small, large = r["runs"]
        lines.append(f"| {SHAPES[s]['title']} | {small['events']:,}, {large['events']:,} | "
                     f"{small['ir']:,}, {large['ir']:,} | **{r['per_event']:,.0f}** |")
    for s, r in results.items():
        lines += ["", f"Where the instructions go, {SHAPES[s]['title']} (large run, self cost, top 15):",
                  "", "| share | function |", "|---|---|"]
        for t in r["runs"][1]["top"]:
            fn = t["function"].replace("|", "\\|")
            lines.append(f"| {t['pct']:.1f}% | `{fn}` |")
    lines += ["", "<!-- /callgrind -->"]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="a,b")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="taskwire-cg-root-")
    results = {}
    for s in [x for x in args.only.split(",") if x in SHAPES]:
        lo, hi = SHAPES[s]["ticks"]
        small = one(s, lo, root)
        large = one(s, hi, root, keep_profile=True)
        per = (large["ir"] - small["ir"]) / (large["events"] - small["events"])
        results[s] = {"runs": [small, large], "per_event": per}
        print(f"{s}: {per:,.0f} instructions per event", file=sys.stderr)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=bench.ROOT).stdout.strip()
    text = markdown(results, commit)
    print(text)
    if args.no_write:
        return
    with open(os.path.join(bench.ROOT, "docs", "BENCHMARKS-callgrind.json"), "w") as f:
        json.dump(results, f, indent=1)
    bench.write_block("callgrind", text, "Instructions per event (callgrind)")


if __name__ == "__main__":
    main()
