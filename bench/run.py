#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Side-by-side event-delivery benchmarks: taskwired and the Python/aiohttp peer, driven by the same
taskwire-loadgen, scenario by scenario, run by run (ratios are computed pair by pair within a run).

Run through bench/run, which builds the release binaries first:
    bench/run                 three runs, writes docs/BENCHMARKS-events.json and the tables in
                              docs/BENCHMARKS.md between the "events" markers
    bench/run --runs 1 --only a,b --no-write
"""
import argparse
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "build", "release")
TASKWIRED = os.path.join(RELEASE, "taskwired")
LOADGEN = os.path.join(RELEASE, "taskwire-loadgen")
PEER = os.path.normpath(os.path.join(ROOT, "..", "shared", "peers", "peer_aiohttp.py"))

SCENARIOS = {
    "a": {"title": "(a) 1 client x 1 task x 200,000 ticks",
          "args": ["--clients", "1", "--tasks-per-client", "1", "--ticks", "200000"]},
    "b": {"title": "(b) 100 clients x 10 tasks x 1,000 ticks",
          "args": ["--clients", "100", "--tasks-per-client", "10", "--ticks", "1000"]},
    "c": {"title": "(c) 10,000 idle connections held 5 s",
          "args": ["--clients", "10000", "--tasks-per-client", "0", "--hold-s", "5"]},
    "d": {"title": "(d) 100 clients x 10 tickers every 10 ms, one client flooding submits",
          "args": ["--clients", "100", "--tasks-per-client", "10", "--ticks", "300",
                   "--interval-ms", "10", "--flood"]},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, limit=30.0):
    end = time.time() + limit
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("server exited at start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(200):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server not ready")


def start_server(kind, root):
    port = free_port()
    if kind == "taskwired":
        cmd = [TASKWIRED, "--port", str(port), "--root", "models=" + root, "--log-level", "warn",
               "--max-connections-per-ip", "20000", "--max-connections", "20000",
               "--state-dir", os.path.join(root, ".state")]
    else:
        # Its coalescing off, as the targets are stated against it; its own defaults otherwise.
        cmd = ["/usr/bin/python3", PEER, "--port", str(port), "--root", "models=" + root,
               "--no-coalesce", "--log-level", "ERROR"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_ready(port, proc)
    return proc, port


def stop_server(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def run_one(kind, scenario, root):
    proc, port = start_server(kind, root)
    try:
        cmd = [LOADGEN, "--url", f"ws://127.0.0.1:{port}/ws", "--server-pid", str(proc.pid),
               "--duration-limit", "240"] + SCENARIOS[scenario]["args"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
        line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
        result = json.loads(line)
        result["exit"] = out.returncode
        if out.returncode != 0:
            result["stderr"] = out.stderr[-2000:]
        return result
    finally:
        stop_server(proc)


def ceiling(scenario):
    cmd = [LOADGEN, "--ceiling"] + SCENARIOS[scenario]["args"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    return json.loads(out.stdout.strip().splitlines()[-1])


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, unit="", digits=2):
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}{unit}"
    return f"{x:.{digits}f}{unit}"


def span(xs, unit="", digits=2):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    return f"{fmt(med(xs), unit, digits)} ({fmt(min(xs), '', digits)}-{fmt(max(xs), '', digits)})"


def metrics_of(scenario, r):
    """The figures a scenario is judged by, from one loadgen result."""
    m = {}
    if scenario in ("a", "b", "d"):
        m["events/s"] = r.get("events_per_s")
        m["server CPU us/event"] = r.get("server_cpu_us_per_event")
        m["accepted p50 ms"] = r.get("accepted_us", {}).get("p50", 0) / 1000
        m["accepted p99 ms"] = r.get("accepted_us", {}).get("p99", 0) / 1000
        m["finished p99 ms"] = r.get("finished_ms", {}).get("p99")
    if scenario == "d":
        f = r.get("flood_accepted_us", {})
        m["flood accepted p50 ms"] = f.get("p50", 0) / 1000
        m["flood accepted p99 ms"] = f.get("p99", 0) / 1000
    if scenario == "c":
        m["RSS KiB per idle connection"] = r.get("server_rss_kib_per_connection")
    m["violations"] = r.get("violations")
    return m


TARGETS = {
    ("a", "server CPU us/event"): ("<= 1.0", lambda t, p: t is not None and t <= 1.0),
    ("b", "server CPU us/event"): ("<= 1.0", lambda t, p: t is not None and t <= 1.0),
    ("b", "events/s"): (">= 5x peer", lambda t, p: t and p and t >= 5 * p),
    ("b", "accepted p99 ms"): ("<= 5", lambda t, p: t is not None and t <= 5),
    ("d", "accepted p99 ms"): ("<= 5", lambda t, p: t is not None and t <= 5),
    ("d", "flood accepted p99 ms"): ("<= 5", lambda t, p: t is not None and t <= 5),
    ("c", "RSS KiB per idle connection"): ("<= 8", lambda t, p: t is not None and t <= 8),
}


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Linux {platform.release()}"


def markdown(results, ceilings, runs, only):
    lines = ["<!-- events: written by bench/run; edit bench/run.py, not this block -->", ""]
    lines.append(f"Machine: {machine()}. Command: `bench/run --runs {runs}` "
                 f"({time.strftime('%Y-%m-%d')}). Median (min-max) of {runs} runs; the ratio is "
                 "computed run by run and its median given. The peer is "
                 "`../shared/peers/peer_aiohttp.py --no-coalesce`; both servers are driven by the same "
                 "`taskwire-loadgen` (one io_context thread), a fresh server per scenario and run.")
    lines.append("")
    for s in only:
        lines.append(f"### {SCENARIOS[s]['title']}")
        lines.append("")
        lines.append("| figure | taskwired | python peer | ratio | target |")
        lines.append("|---|---|---|---|---|")
        tw = [metrics_of(s, r["taskwired"]) for r in results[s]]
        py = [metrics_of(s, r["peer"]) for r in results[s]]
        for key in tw[0].keys():
            t_vals = [m.get(key) for m in tw]
            p_vals = [m.get(key) for m in py]
            ratios = []
            for t, p in zip(t_vals, p_vals):
                if t and p:
                    ratios.append(t / p)
            target = TARGETS.get((s, key))
            verdict = "-"
            if target:
                ok = target[1](med(t_vals), med(p_vals))
                verdict = f"{target[0]}: {'met' if ok else 'NOT met'}"
            ratio = f"{med(ratios):.2f}x" if ratios else "-"
            lines.append(f"| {key} | {span(t_vals)} | {span(p_vals)} | {ratio} | {verdict} |")
        if s in ceilings:
            c = ceilings[s]
            lines.append("")
            acc = c.get("accepted_us", {})
            lines.append(f"Loadgen ceiling for this shape (against its built-in server of pre-built "
                         f"frames, in the same process): {fmt(c.get('events_per_s'))} events/s; "
                         f"accepted p50 {fmt(acc.get('p50', 0) / 1000)} ms, p99 "
                         f"{fmt(acc.get('p99', 0) / 1000)} ms there, which is what the client side's "
                         "own queueing costs in this shape with a server that does no work.")
        lines.append("")
    lines.append("<!-- /events -->")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="a,b,c,d")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    only = [s for s in args.only.split(",") if s in SCENARIOS]
    root = tempfile.mkdtemp(prefix="taskwire-bench-")
    results = {s: [] for s in only}
    ceilings = {}
    for s in only:
        if s in ("a", "b"):
            ceilings[s] = ceiling(s)
            print(f"ceiling {s}: {ceilings[s].get('events_per_s'):.0f} events/s", file=sys.stderr)
    for run in range(args.runs):
        for s in only:
            pair = {}
            for kind in ("taskwired", "peer"):
                r = run_one(kind, s, root)
                pair[kind] = r
                print(f"run {run + 1} {s} {kind}: " + json.dumps(metrics_of(s, r)), file=sys.stderr)
                if r.get("exit"):
                    print(r.get("stderr", ""), file=sys.stderr)
            results[s].append(pair)
    text = markdown(results, ceilings, args.runs, only)
    print(text)
    if args.no_write:
        return
    with open(os.path.join(ROOT, "docs", "BENCHMARKS-events.json"), "w") as f:
        json.dump({"results": results, "ceilings": ceilings}, f, indent=1)
    write_block("events", text, "Event delivery: taskwired and the Python peer")


def write_block(marker, text, heading):
    """Puts `text` (which begins with <!-- marker: and ends with <!-- /marker -->) into
    docs/BENCHMARKS.md in place of the block it replaces, or at the end under `heading`."""
    path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    with open(path) as f:
        doc = f.read()
    block = re.compile(rf"<!-- {marker}:.*?<!-- /{marker} -->", re.S)
    if block.search(doc):
        doc = block.sub(lambda _: text, doc)
    else:
        doc = doc.rstrip("\n") + f"\n\n## {heading}\n\n" + text + "\n"
    with open(path, "w") as f:
        f.write(doc)


if __name__ == "__main__":
    main()
