"""Soak test: mixed REST, socket.io and upload load on one ``plume serve`` for a long while, with
slow and vanishing clients among the 64 connections. Not part of the test suite.

    .venv/bin/python bench/soak.py                 # 10 minutes
    .venv/bin/python bench/soak.py --duration 60   # a quick look

64 connections: 40 REST clients (create, get, find, patch, remove on a bounded working set),
12 socket.io clients (calls, and every event), 6 upload clients (an asset uploaded, its document
made, then removed), 2 that stop reading their socket.io events, 2 that trickle their request
headers, 2 that vanish (an upload or a socket cut off halfway). Prints requests served, errors,
5xx (goal 0), p50/p99 latency and the server's RSS at the start, middle and end (goal: flat within
10%), with ratios against the first interval (the baseline measured in the same run).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import PlumeProcess

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 200  # ~50 kB
CONFIG = "max_pending = 4194304\nheader_timeout = 5\nbody_timeout = 5\n"


@dataclass
class Stats:
    """What the load saw, per interval (the run is cut into ``intervals`` equal parts)."""

    started: float
    duration: float
    intervals: int = 3
    latencies: list[list[float]] = field(default_factory=lambda: [[], [], []])
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def part(self) -> int:
        return min(self.intervals - 1, int((time.monotonic() - self.started) / self.duration * self.intervals))

    def record(self, status: int, seconds: float) -> None:
        self.statuses[status] += 1
        self.latencies[self.part()].append(seconds)

    def running(self) -> bool:
        return time.monotonic() - self.started < self.duration


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def rest_client(url: str, http: aiohttp.ClientSession, stats: Stats, n: int) -> None:
    mine: list[str] = []
    rnd = random.Random(n)
    while stats.running():
        op = rnd.choice(["create", "get", "find", "patch", "remove"] if mine else ["create"])
        t0 = time.monotonic()
        try:
            if op == "create" or len(mine) < 5:
                record = {"n": n, "v": rnd.random(), "pad": "x" * rnd.randint(0, 2000)}
                async with http.post(f"{url}/soak", json=record) as r:
                    if r.status == 201:
                        mine.append((await r.json())["_id"])
            elif op == "get":
                async with http.get(f"{url}/soak/{rnd.choice(mine)}") as r:
                    await r.read()
            elif op == "find":
                async with http.get(f"{url}/soak", params={"n": str(n), "$limit": "20", "$sort[v]": "1"}) as r:
                    await r.read()
            elif op == "patch":
                async with http.patch(f"{url}/soak/{rnd.choice(mine)}", json={"v": rnd.random()}) as r:
                    await r.read()
            else:
                async with http.delete(f"{url}/soak/{mine.pop(rnd.randrange(len(mine)))}") as r:
                    await r.read()
            stats.record(r.status, time.monotonic() - t0)
            while len(mine) > 50:  # a bounded working set: the database does not grow for ever
                async with http.delete(f"{url}/soak/{mine.pop(0)}") as r:
                    stats.record(r.status, 0.0)
        except (aiohttp.ClientError, TimeoutError) as exc:
            stats.errors[f"rest {type(exc).__name__}"] += 1


async def socket_client(url: str, stats: Stats, n: int) -> None:
    sio = socketio.AsyncClient(reconnection=True)
    seen = Counter[str]()
    sio.on("*", lambda event, *_: seen.update([event]))
    await sio.connect(url, transports=["websocket"])
    rnd = random.Random(1000 + n)
    while stats.running():
        t0 = time.monotonic()
        try:
            if rnd.random() < 0.3:
                ack = await sio.call("create", ("soak-sio", {"n": n}), timeout=30)
                if ack and ack[0] is None:
                    await sio.call("remove", ("soak-sio", ack[1]["_id"]), timeout=30)
            else:
                ack = await sio.call("find", ("soak", {"$limit": 10}), timeout=30)
            code = 200 if ack and ack[0] is None else int(ack[0].get("code", 0)) if ack else 0
            stats.record(code, time.monotonic() - t0)
        except (socketio.exceptions.SocketIOError, TimeoutError) as exc:
            stats.errors[f"socket.io {type(exc).__name__}"] += 1
            await asyncio.sleep(0.1)
    await sio.disconnect()


async def upload_client(url: str, http: aiohttp.ClientSession, stats: Stats, n: int) -> None:
    while stats.running():
        t0 = time.monotonic()
        try:
            form = aiohttp.FormData(quote_fields=False)
            form.add_field(f"soak-{n}.png", PNG, filename="soak.png", content_type="image/png")
            async with http.post(f"{url}/assets/upload", data=form) as r:
                refs = await r.json()
                stats.record(r.status, time.monotonic() - t0)
            if r.status != 200:
                continue
            ref = next(iter(refs.values()))
            async with http.post(f"{url}/assets", json={"filename": "soak.png", "url": f"{url}/assets/{ref}"}) as r:
                doc = await r.json()
            async with http.get(f"{url}/assets/{ref}") as r:
                await r.read()
                stats.record(r.status, time.monotonic() - t0)
            async with http.delete(f"{url}/assets/{doc['_id']}") as r:
                stats.record(r.status, 0.0)
        except (aiohttp.ClientError, TimeoutError, KeyError) as exc:
            stats.errors[f"upload {type(exc).__name__}"] += 1


async def stalled_reader(url: str, http: aiohttp.ClientSession, stats: Stats) -> None:
    """Connects over socket.io and never reads; reconnects when the server cuts it off."""
    while stats.running():
        try:
            ws = await http.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
            await ws.receive()
            await ws.send_str("40")
            while stats.running() and not ws.closed:
                await ws.send_str("3")  # a blind pong
                await asyncio.sleep(1)
            stats.errors["stalled reader cut off (expected)"] += 1
        except (aiohttp.ClientError, ConnectionError, TimeoutError):
            stats.errors["stalled reader cut off (expected)"] += 1
        await asyncio.sleep(0.5)


async def header_trickler(port: int, stats: Stats) -> None:
    """Sends its request headers a byte at a time: the server closes it at header_timeout."""
    while stats.running():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /info HTTP/1.1\r\n")
            while stats.running() and not reader.at_eof():
                writer.write(b"X")
                await writer.drain()
                await asyncio.sleep(0.5)
            writer.close()
        except ConnectionError:
            stats.errors["trickler cut off (expected)"] += 1
        await asyncio.sleep(0.1)


async def vanishing_client(port: int, stats: Stats, n: int) -> None:
    """Starts an upload (or a socket) and drops the connection halfway, again and again."""
    while stats.running():
        with socket.create_connection(("127.0.0.1", port)) as sock:
            if n % 2:
                sock.sendall(b"POST /assets/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
                             b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\nContent-Disposition: "
                             b'form-data; name="gone.png"; filename="gone.png"\r\n\r\n' + PNG[:20000])
            else:
                sock.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
                sock.recv(100)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
        stats.errors["vanished (expected)"] += 1
        await asyncio.sleep(0.2)


async def sample_rss(pid: int, stats: Stats, samples: list[list[float]]) -> None:
    while stats.running():
        samples[stats.part()].append(rss_mb(pid))
        await asyncio.sleep(1)


async def soak(url: str, port: int, pid: int, duration: float) -> tuple[Stats, list[list[float]]]:
    stats = Stats(time.monotonic(), duration)
    samples: list[list[float]] = [[], [], []]
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=60)) as http:
        tasks = [rest_client(url, http, stats, n) for n in range(40)]
        tasks += [socket_client(url, stats, n) for n in range(12)]
        tasks += [upload_client(url, http, stats, n) for n in range(6)]
        tasks += [stalled_reader(url, http, stats) for _ in range(2)]
        tasks += [header_trickler(port, stats) for _ in range(2)]
        tasks += [vanishing_client(port, stats, n) for n in range(2)]
        tasks.append(sample_rss(pid, stats, samples))
        await asyncio.gather(*tasks)
    return stats, samples


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, PlumeProcess(Path(tmp) / "data", config=CONFIG) as srv:
        assert srv.proc is not None
        stats, samples = asyncio.run(soak(srv.url, srv.port, srv.proc.pid, args.duration))
        log = srv.log()
    served = sum(stats.statuses.values())
    fives = sum(c for s, c in stats.statuses.items() if s >= 500)
    print(f"soak: {args.duration:.0f} s, 64 connections; {served} requests served "
          f"({served / args.duration:.0f}/s), {fives} answered 5xx (goal 0)")
    print("statuses:", dict(sorted(stats.statuses.items())))
    print("client-side events:", dict(stats.errors))
    print(f"{'interval':<10}{'requests':>10}{'p50 ms':>9}{'p99 ms':>9}{'p99 ratio':>11}{'RSS MB':>9}{'RSS ratio':>11}")
    base_p99, base_rss = pct(stats.latencies[0], 0.99), (samples[0] or [0.0])[-1]
    for name, lat, rss in zip(("start", "middle", "end"), stats.latencies, samples, strict=True):
        last = rss[-1] if rss else float("nan")
        print(f"{name:<10}{len(lat):>10}{pct(lat, 0.5):>9.1f}{pct(lat, 0.99):>9.1f}"
              f"{pct(lat, 0.99) / base_p99:>11.2f}{last:>9.1f}{last / base_rss:>11.2f}")
    print("server log: tracebacks", log.count("Traceback"), "| ERROR lines", log.count(" ERROR "),
          "| WARNING lines", log.count(" WARNING "))


if __name__ == "__main__":
    main()
