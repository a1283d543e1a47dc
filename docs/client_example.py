#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A taskwire client in Python (asyncio + websockets): scan a root, print every model found,
and survive a dropped connection by reconnecting and resuming from the last seq it saw.

    apt-get install python3-websockets
    python3 docs/client_example.py                         # scan the first root
    python3 docs/client_example.py --path loras --hash     # a folder, with SHA-256
    TASKWIRE_TOKEN=... python3 docs/client_example.py --url ws://host:8765/ws

It keeps its client_id in ~/.config/taskwire-example-id, as a browser keeps it in local storage:
tasks belong to the client_id, not to the connection.
"""
import argparse
import asyncio
import json
import os
import pathlib
import sys
import uuid

import websockets


def client_id() -> str:
    path = pathlib.Path.home() / ".config" / "taskwire-example-id"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    cid = "py-" + uuid.uuid4().hex[:16]
    path.write_text(cid)
    return cid


async def run(args) -> int:
    url = f"{args.url}?client_id={client_id()}"
    headers = {}
    if os.environ.get("TASKWIRE_TOKEN"):
        headers["Authorization"] = "Bearer " + os.environ["TASKWIRE_TOKEN"]
    # websockets 14 renamed the argument (Debian 12 has 10.4).
    new_api = int(websockets.__version__.split(".")[0]) >= 14
    connect_args = {("additional_headers" if new_api else "extra_headers"): headers,
                    "max_size": 2**26}
    params = {"hash": "sha256"} if args.hash else {}
    if args.path:
        params["path"] = args.path

    task_id, last_seq = None, 0
    for attempt in range(10):
        try:
            async with websockets.connect(url, **connect_args) as ws:
                hello = json.loads(await ws.recv())
                if task_id is None:
                    print(f"connected to {hello['server']}, roots {hello['roots']}")
                    await ws.send(json.dumps({"type": "submit", "id": "scan",
                                              "task": "scan_models", "params": params}))
                else:
                    # Events with seq <= last_seq were seen already; the server sends the rest.
                    print(f"reconnected; resuming {task_id} after seq {last_seq}")
                    await ws.send(json.dumps({"type": "resume", "id": "again",
                                              "task_id": task_id, "after_seq": last_seq}))
                async for text in ws:
                    msg = json.loads(text)
                    kind = msg["type"]
                    if kind == "error":
                        print(f"refused: {msg['code']}: {msg['message']}", file=sys.stderr)
                        return 1
                    if kind == "accepted":
                        task_id = msg["task_id"]
                        continue
                    if msg.get("task_id") != task_id or msg.get("seq", 0) <= last_seq:
                        continue
                    last_seq = msg["seq"]
                    if kind == "item":
                        item = msg["item"]
                        line = f"{item['path']}  {item.get('format')}  {item['size']} bytes"
                        if item.get("parameters") is not None:
                            line += f"  {item['parameters']} params"
                        if item.get("sha256"):
                            line += f"  {item['sha256'][:16]}"
                        if item.get("error"):
                            line += f"  error: {item['error']}"
                        print(line)
                    elif kind == "progress" and msg.get("total"):
                        print(f"  {msg['done']}/{msg['total']}", end="\r")
                    elif kind == "finished":
                        print(f"\r{msg['status']}: {msg['result'] or msg['error']} "
                              f"in {msg['elapsed_ms']} ms")
                        return 0 if msg["status"] == "succeeded" else 1
        except (OSError, websockets.ConnectionClosed) as e:
            print(f"connection lost ({e}); retrying", file=sys.stderr)
            await asyncio.sleep(min(0.25 * 2**attempt, 5))
    print("gave up", file=sys.stderr)
    return 3


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default=os.environ.get("TASKWIRE_URL", "ws://127.0.0.1:8765/ws"))
    p.add_argument("--path", help="a folder or file, relative to the first root, or absolute")
    p.add_argument("--hash", action="store_true", help="add each file's SHA-256")
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
