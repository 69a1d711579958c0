"""Event fan-out across two Plume processes sharing Redis (issue 3's benchmark).

    .venv/bin/python bench/bench_fanout.py [--clients 1000] [--writes 20] [--listener-procs 2]

1,000 socket.io clients (websocket transport) split over two ``plume serve`` processes (one
SQLite file, python-socketio's Redis manager); each write made on process A must reach every
client. The clients live in ``--listener-procs`` child processes (not beside the writer), so the
writer is not starved by decoding 1,000 frames per write; arrival times are wall-clock stamps
on one host. Prints p50/p99 delivery latency (POST sent on A → event decoded by a client on A or
B), and write throughput with the 1,000 clients listening against the same writes with no client
connected (the baseline, measured first in the same run). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.redis import redis_server
from tests.support.server import PlumeProcess


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


def listener(urls: list[str], n: int, offset: int, ready: Any, stop: Any, out: Any) -> None:
    """Child process: ``n`` clients; sends back {tag: [arrival wall times]} when told to stop."""
    _raise_fd_limit()
    logging.getLogger("engineio").setLevel(logging.ERROR)
    logging.getLogger("socketio").setLevel(logging.ERROR)

    async def main() -> None:
        arrivals: dict[str, list[float]] = {}

        def on_created(data: dict[str, Any]) -> None:
            arrivals.setdefault(data["tag"], []).append(time.time())

        clients = []
        sem = asyncio.Semaphore(50)

        async def one(i: int) -> None:
            sio = socketio.AsyncClient(reconnection=False)
            sio.on("fan created", on_created)
            async with sem:
                await sio.connect(urls[(offset + i) % len(urls)], transports=["websocket"])
            clients.append(sio)

        await asyncio.gather(*(one(i) for i in range(n)))
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        out.put({t: v for t, v in arrivals.items() if t.startswith("lat")})
        await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)

    asyncio.run(main())


async def write_throughput(url: str, n: int, concurrency: int = 32) -> float:
    async with aiohttp.ClientSession() as http:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem, http.post(f"{url}/fan", json={"tag": f"t{i}", "pad": "x" * 64}) as r:
                assert r.status == 201

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)


async def timed_writes(url: str, writes: int, pause: float) -> dict[str, float]:
    """One write at a time (then a pause for the fan-out to drain): {tag: wall time sent}."""
    sent: dict[str, float] = {}
    async with aiohttp.ClientSession() as http:
        for w in range(writes):
            tag = f"lat{w}"
            sent[tag] = time.time()
            async with http.post(f"{url}/fan", json={"tag": tag}) as r:
                assert r.status == 201
            await asyncio.sleep(pause)
    return sent


def run(urls: list[str], n_clients: int, writes: int, procs: int) -> None:
    baseline = asyncio.run(write_throughput(urls[0], 300))
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    readies, children = [], []
    share = n_clients // procs
    for p in range(procs):
        ready = ctx.Event()
        n = share if p < procs - 1 else n_clients - share * (procs - 1)
        child = ctx.Process(target=listener, args=(urls, n, p * share, ready, stop, out), daemon=True)
        child.start()
        readies.append(ready)
        children.append(child)
    for ready in readies:
        if not ready.wait(300):
            raise SystemExit("listeners did not connect in time")
    print(f"{n_clients} clients connected ({n_clients // 2} per server process, in {procs} listener processes)")
    sent = asyncio.run(timed_writes(urls[0], writes, pause=0.5))
    loaded = asyncio.run(write_throughput(urls[0], 300))
    time.sleep(2)  # let the last events of the throughput run drain
    stop.set()
    arrivals: dict[str, list[float]] = {}
    for _ in children:
        for tag, times in out.get(timeout=120).items():
            arrivals.setdefault(tag, []).extend(times)
    for child in children:
        child.join(30)
    latencies = [(t - sent[tag]) * 1000 for tag, times in arrivals.items() for t in times if tag in sent]
    q = statistics.quantiles(latencies, n=100)
    print(f"deliveries: {len(latencies)} of {writes * n_clients}")
    print(f"delivery latency: p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, max {max(latencies):.1f} ms "
          "(write on process A, clients on A and B)")
    print(f"writes/s with {n_clients} listeners: {loaded:.0f} ({loaded * n_clients:.0f} deliveries/s); "
          f"without listeners (baseline): {baseline:.0f}; ratio {loaded / baseline:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--listener-procs", type=int, default=2)
    args = parser.parse_args()
    _raise_fd_limit()
    tmp = Path(tempfile.mkdtemp(prefix="plume-fanout-"))
    with redis_server() as redis:
        common = ["--redis", redis, "--database", f"sqlite:///{tmp / 'shared.sqlite3'}"]
        env = {"PLUME_LOG_LEVEL": "WARNING"}
        with PlumeProcess(tmp / "a", args=common, env=env) as a, PlumeProcess(tmp / "b", args=common, env=env) as b:
            run([a.url, b.url], args.clients, args.writes, args.listener_procs)


if __name__ == "__main__":
    main()
