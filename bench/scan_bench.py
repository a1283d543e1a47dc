#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Scanning and hashing benchmarks for taskwired, each measured side by side with its yardstick in
the same run (docs/BENCHMARKS.md records the figures and these commands):

  scan     a synthetic tree of N files (10% models) scanned through the WebSocket, against
           find ROOT ( -name ... ) -printf '%s %T@ %p\\n'; with metadata off and on
  hash1    one 1 GiB file: hash_files against `openssl dgst -sha256`
  hash8    eight 256 MiB files: one hash_files task against openssl run on them one after another
  rescan   200 model files scanned with hash: first scan against a rescan served by the cache

Run from the repository root:  bench/scan_bench.py [--files 50000] [--runs 3] [--only scan,hash1,...]
It builds Release taskwired with Ninja, starts it on a free loopback port, and needs
python3-websockets (installed when missing). Data goes under --work (default /tmp/taskwire-bench).
"""
import argparse, asyncio, json, os, platform, random, shutil, socket, statistics, struct
import subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_EXTS = [".safetensors", ".gguf", ".ckpt", ".pt", ".pth", ".bin", ".onnx", ".sft"]


def ensure_websockets():
    try:
        import websockets  # noqa: F401
    except ImportError:
        subprocess.check_call(["apt-get", "install", "-y", "-qq", "python3-websockets"])


def build():
    b = os.path.join(ROOT, "build/release")
    subprocess.check_call(["cmake", "-S", ROOT, "-B", b, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                           "-DTASKWIRE_BUILD_TESTS=OFF"], stdout=subprocess.DEVNULL)
    subprocess.check_call(["cmake", "--build", b, "--target", "taskwired"], stdout=subprocess.DEVNULL)
    return os.path.join(b, "taskwired")


def safetensors_bytes(n_tensors, elems):
    header, off = {}, 0
    for i in range(n_tensors):
        header[f"layer.{i}.weight"] = {"dtype": "F16", "shape": [elems], "data_offsets": [off, off + 2 * elems]}
        off += 2 * elems
    header["__metadata__"] = {"bench": "1"}
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + bytes(off)


def make_tree(path, files):
    marker = os.path.join(path, f".complete-{files}")
    if os.path.exists(marker):
        return
    shutil.rmtree(path, ignore_errors=True)
    rnd = random.Random(42)
    model = safetensors_bytes(8, 64)
    per_dir = 100
    for i in range(files):
        d = os.path.join(path, f"cat{i // 5000:02d}", f"dir{(i // per_dir) % 50:02d}")
        os.makedirs(d, exist_ok=True)
        if i % 10 == 0:
            ext = MODEL_EXTS[rnd.randrange(len(MODEL_EXTS))] if i % 20 else ".safetensors"
            data = model if ext in (".safetensors", ".sft") else b"\0" * 512
            name = f"model{i}{ext}"
        else:
            data, name = b"x" * 64, f"file{i}.txt"
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    open(marker, "w").close()


def make_file(path, size):
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 16 << 20)
            f.write(os.urandom(n))
            left -= n


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Daemon:
    def __init__(self, binary, root, state, extra=()):
        self.port = free_port()
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--root", f"bench={root}",
                                      "--state-dir", state, "--log-level", "warn", *extra])
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("taskwired did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


async def run_task(port, task, params):
    """(client wall seconds from submit to finished, items, the finished event)."""
    import websockets
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws?client_id=bench", max_size=None) as ws:
        await ws.recv()
        t0 = time.perf_counter()
        await ws.send(json.dumps({"type": "submit", "id": "b", "task": task, "params": params}))
        items = 0
        while True:
            raw = await ws.recv()
            # The client only counts items; parsing every frame would measure Python, not taskwired.
            if raw.startswith('{"type":"item"'):
                items += 1
                continue
            m = json.loads(raw)
            if m["type"] == "error":
                raise RuntimeError(m)
            if m["type"] == "finished":
                if m["status"] != "succeeded":
                    raise RuntimeError(m)
                return time.perf_counter() - t0, items, m


def timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def med(xs):
    return statistics.median(xs), min(xs), max(xs)


def fmt(t):
    return f"{t[0]*1000:.0f} ms ({t[1]*1000:.0f}–{t[2]*1000:.0f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=50000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/taskwire-bench")
    ap.add_argument("--only", default="scan,hash1,hash8,rescan")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/BENCHMARKS-scan.json"))
    a = ap.parse_args()
    ensure_websockets()
    binary = build()
    only = a.only.split(",")
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.release()}",
               "files": a.files, "runs": a.runs}
    state = os.path.join(a.work, "state")

    if "scan" in only:
        tree = os.path.join(a.work, "tree")
        make_tree(tree, a.files)
        find_cmd = ["find", tree, "("]
        for i, e in enumerate(MODEL_EXTS):
            find_cmd += (["-o"] if i else []) + ["-name", f"*{e}"]
        find_cmd += [")", "-printf", "%s %T@ %p\n"]
        d = Daemon(binary, tree, state, ["--no-cache"])
        try:
            timed(find_cmd)
            asyncio.run(run_task(d.port, "scan_models", {"metadata": False}))  # warm both
            f, s0, s1, e0, e1 = [], [], [], [], []
            for _ in range(a.runs):
                f.append(timed(find_cmd))
                t, n0, m = asyncio.run(run_task(d.port, "scan_models", {"metadata": False}))
                s0.append(t)
                e0.append(m["elapsed_ms"] / 1000)
                t, n1, m = asyncio.run(run_task(d.port, "scan_models", {"metadata": True}))
                s1.append(t)
                e1.append(m["elapsed_ms"] / 1000)
            results["scan"] = {"find": med(f), "scan_no_metadata": med(s0), "scan_metadata": med(s1),
                               "server_elapsed_no_metadata": med(e0), "server_elapsed_metadata": med(e1),
                               "items": n0, "ratio_no_metadata": [f[i] / s0[i] for i in range(a.runs)],
                               "ratio_metadata": [f[i] / s1[i] for i in range(a.runs)]}
        finally:
            d.stop()

    if "hash1" in only or "hash8" in only:
        blobs = os.path.join(a.work, "blobs")
        d = Daemon(binary, blobs if os.path.isdir(blobs) else (os.makedirs(blobs) or blobs), state, ["--no-cache"])
        try:
            if "hash1" in only:
                make_file(os.path.join(blobs, "one.bin"), 1 << 30)
                o, h = [], []
                for _ in range(a.runs):
                    o.append(timed(["openssl", "dgst", "-sha256", os.path.join(blobs, "one.bin")]))
                    h.append(asyncio.run(run_task(d.port, "hash_files", {"paths": ["one.bin"]}))[0])
                results["hash1"] = {"openssl": med(o), "taskwire": med(h),
                                    "ratio": [o[i] / h[i] for i in range(a.runs)]}
            if "hash8" in only:
                names = [f"p{i}.bin" for i in range(8)]
                for n in names:
                    make_file(os.path.join(blobs, n), 256 << 20)
                o, h = [], []
                for _ in range(a.runs):
                    t0 = time.perf_counter()
                    for n in names:
                        subprocess.run(["openssl", "dgst", "-sha256", os.path.join(blobs, n)], check=True,
                                       stdout=subprocess.DEVNULL)
                    o.append(time.perf_counter() - t0)
                    h.append(asyncio.run(run_task(d.port, "hash_files", {"paths": names}))[0])
                results["hash8"] = {"openssl_sequential": med(o), "taskwire": med(h),
                                    "ratio": [o[i] / h[i] for i in range(a.runs)]}
        finally:
            d.stop()

    if "rescan" in only:
        lib = os.path.join(a.work, "library")
        if not os.path.isdir(lib):
            for i in range(200):
                p = os.path.join(lib, f"loras/set{i // 50}", f"m{i}.safetensors")
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "wb") as f:
                    f.write(safetensors_bytes(16, 64 * 1024) + os.urandom(4096))
        first, again, again_server = [], [], []
        for _ in range(a.runs):
            st = os.path.join(a.work, f"rescan-state-{time.time_ns()}")
            d = Daemon(binary, lib, st)
            try:
                first.append(asyncio.run(run_task(d.port, "scan_models", {"hash": "sha256"}))[0])
                t, n, m = asyncio.run(run_task(d.port, "scan_models", {"hash": "sha256"}))
                assert m["result"]["cached"] == 200, m
                again.append(t)
                again_server.append(m["elapsed_ms"] / 1000)
            finally:
                d.stop()
                shutil.rmtree(st, ignore_errors=True)
        results["rescan"] = {"first": med(first), "cached": med(again), "cached_server_elapsed": med(again_server),
                             "ratio": [first[i] / again[i] for i in range(a.runs)]}

    with open(a.out, "w") as f:
        json.dump(results, f, indent=2)
    for k, v in results.items():
        print(k, json.dumps(v))


if __name__ == "__main__":
    main()
