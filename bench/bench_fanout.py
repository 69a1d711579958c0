"""Event fan-out across two Plume processes sharing Redis (issue 3's benchmark).

    .venv/bin/python bench/bench_fanout.py [--clients 1000] [--writes 20]

1,000 socket.io clients split over two ``plume serve`` processes (one SQLite file, Redis); each
write made on process A must reach every client. Prints p50/p99 delivery latency, and the write
throughput with those clients listening against the same writes with no listener (the baseline).
Not part of the test suite. On a 2-core machine the 1,000 listeners live in this one Python process
beside the writer, so the "with listeners" throughput is bounded by this process decoding 1,000
frames per write, not by the servers alone.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.redis import redis_server
from tests.support.server import PlumeProcess


async def connect_clients(urls: list[str], n: int, arrivals: dict[str, list[float]]) -> list[socketio.AsyncClient]:
    clients = []

    def on_created(data: dict) -> None:
        arrivals.setdefault(data["tag"], []).append(time.perf_counter())

    for _i in range(n):
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("fan created", on_created)
        clients.append(sio)
    sem = asyncio.Semaphore(50)

    async def one(i: int, sio: socketio.AsyncClient) -> None:
        async with sem:
            await sio.connect(urls[i % len(urls)], transports=["websocket"])

    await asyncio.gather(*(one(i, c) for i, c in enumerate(clients)))
    return clients


async def write_throughput(url: str, n: int, concurrency: int = 32) -> float:
    async with aiohttp.ClientSession() as http:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem, http.post(f"{url}/fan", json={"tag": f"t{i}", "pad": "x" * 64}) as r:
                assert r.status == 201

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)


async def run(urls: list[str], n_clients: int, writes: int) -> None:
    baseline = await write_throughput(urls[0], 300)
    arrivals: dict[str, list[float]] = {}
    clients = await connect_clients(urls, n_clients, arrivals)
    print(f"{n_clients} clients connected ({n_clients // 2} per process)")
    latencies: list[float] = []
    async with aiohttp.ClientSession() as http:
        for w in range(writes):
            tag = f"lat{w}"
            sent = time.perf_counter()
            async with http.post(f"{urls[0]}/fan", json={"tag": tag}) as r:
                assert r.status == 201
            deadline = time.perf_counter() + 30
            while len(arrivals.get(tag, [])) < n_clients and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            got = arrivals.get(tag, [])
            if len(got) < n_clients:
                print(f"write {w}: only {len(got)}/{n_clients} deliveries")
            latencies += [(t - sent) * 1000 for t in got]
    loaded = await write_throughput(urls[0], 300)
    for c in clients:
        await c.disconnect()
    q = statistics.quantiles(latencies, n=100)
    print(f"deliveries: {len(latencies)} of {writes * n_clients}")
    print(f"delivery latency: p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms (write on process A, clients on A and B)")
    print(f"writes/s with {n_clients} listeners: {loaded:.0f}; without listeners (baseline): {baseline:.0f}; "
          f"ratio {loaded / baseline:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=20)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    tmp = Path(tempfile.mkdtemp(prefix="plume-fanout-"))
    with redis_server() as redis:
        common = ["--redis", redis, "--database", f"sqlite:///{tmp / 'shared.sqlite3'}"]
        env = {"PLUME_LOG_LEVEL": "WARNING"}
        with PlumeProcess(tmp / "a", args=common, env=env) as a, PlumeProcess(tmp / "b", args=common, env=env) as b:
            asyncio.run(run([a.url, b.url], args.clients, args.writes))


if __name__ == "__main__":
    main()
