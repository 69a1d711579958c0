"""Benchmark: Keras → TF.js + ONNX conversion through a running ``plume serve``.

Measures, as a client sees it (upload + create a ``keras-models`` document, then both conversions
done, observed through socket.io ``keras-models patched`` events):

- conversion latency with a cold worker (first job: spawn + TensorFlow import) and a warm one,
  total and per target (``running`` → ``done``);
- the server's event-loop lag while 10 conversions run, as the latency of a trivial ``GET /info``
  compared with the same request on an idle server;
- the server's RSS (``/proc/<pid>/status``) idle and at its peak during the conversions: TensorFlow
  lives in the worker process, so it must not move.

Usage: ``.venv/bin/python bench/bench_models.py [--warm-runs 5] [--concurrent 10]``
(not part of the test suite; prints ratios against baselines measured in the same run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import socketio

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.server import PlumeProcess  # noqa: E402

MODEL = "k3_conv"  # a small Keras 3 conv net (Conv2D, MaxPooling, Flatten, Dense)


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_model(out_dir: Path) -> Path:
    """Build the test models in a subprocess (TensorFlow never loads here); the conv model's file."""
    subprocess.run([sys.executable, "-m", "tests.services.conversion.make_models", str(out_dir)], cwd=REPO,
                   check=True, capture_output=True)
    return Path(json.loads((out_dir / "manifest.json").read_text())[MODEL]["file"])


class Watch:
    """Arrival times of each document's conversion statuses, from ``keras-models patched`` events."""

    def __init__(self) -> None:
        self.times: dict[str, dict[tuple[str, str], float]] = {}
        self.finished: dict[str, asyncio.Event] = {}

    def on_patched(self, doc: dict[str, Any]) -> None:
        now = time.perf_counter()
        seen = self.times.setdefault(doc["_id"], {})
        for target, entry in doc["conversions"].items():
            seen.setdefault((target, entry["status"]), now)
        if all(e["status"] in ("done", "error") for e in doc["conversions"].values()):
            self.finished.setdefault(doc["_id"], asyncio.Event()).set()
            if any(e["status"] == "error" for e in doc["conversions"].values()):
                print(f"  conversion error: {doc['conversions']}", file=sys.stderr)

    async def wait(self, doc_id: str, timeout: float = 300) -> None:
        await asyncio.wait_for(self.finished.setdefault(doc_id, asyncio.Event()).wait(), timeout)

    def target_seconds(self, doc_id: str, target: str) -> float:
        seen = self.times[doc_id]
        return seen[(target, "done")] - seen[(target, "running")]


async def convert(http: aiohttp.ClientSession, url: str, model: Path, watch: Watch,
                  submitted: list[int] | None = None) -> tuple[str, float]:
    """Upload + create + wait for both conversions; ``(doc id, seconds)``."""
    started = time.perf_counter()
    form = aiohttp.FormData()
    form.add_field(f"model{model.suffix}", model.read_bytes(), filename=model.name)
    async with http.post(f"{url}/keras-models/upload", data=form) as r:
        pairs = await r.json()
    async with http.post(f"{url}/keras-models", json={"name": "bench", "files": pairs}) as r:
        doc = await r.json()
    if submitted is not None:
        submitted.append(1)
    await watch.wait(doc["_id"])
    return doc["_id"], time.perf_counter() - started


async def probe(http: aiohttp.ClientSession, url: str, stop: asyncio.Event, interval: float = 0.01,
                after: list[float] | None = None) -> list[float]:
    """Latencies (s) of ``GET /info`` every ``interval`` until ``stop``; only those sent after ``after[0]``
    when given (set once every upload is in, so the lag is that of conversions, not of uploads)."""
    out = []
    while not stop.is_set():
        t = time.perf_counter()
        async with http.get(f"{url}/info") as r:
            await r.read()
        if after is None or (after and t >= after[0]):
            out.append(time.perf_counter() - t)
        await asyncio.sleep(interval)
    return out


async def run(server: PlumeProcess, model: Path, warm_runs: int, concurrent: int) -> None:
    pid = server.proc.pid  # type: ignore[union-attr]
    watch = Watch()
    sio = socketio.AsyncClient()
    sio.on("keras-models patched", watch.on_patched)
    await sio.connect(server.url, transports=["websocket"])
    async with aiohttp.ClientSession() as http:
        stop = asyncio.Event()
        task = asyncio.create_task(probe(http, server.url, stop))
        await asyncio.sleep(2)
        stop.set()
        idle_lat = await task
        rss_idle = rss_mb(pid)

        cold_id, cold = await convert(http, server.url, model, watch)
        warm = [await convert(http, server.url, model, watch) for _ in range(warm_runs)]
        rss_warm = rss_mb(pid)

        stop = asyncio.Event()
        all_in: list[float] = []
        task = asyncio.create_task(probe(http, server.url, stop, after=all_in))
        peak = [rss_mb(pid)]
        submitted: list[int] = []

        async def mark_all_in() -> None:
            while len(submitted) < concurrent:
                await asyncio.sleep(0.005)
            all_in.append(time.perf_counter())

        async def sample_rss() -> None:
            while not stop.is_set():
                peak.append(rss_mb(pid))
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample_rss())
        t0 = time.perf_counter()
        marker = asyncio.create_task(mark_all_in())
        batch = await asyncio.gather(*(convert(http, server.url, model, watch, submitted) for _ in range(concurrent)))
        await marker
        batch_wall = time.perf_counter() - t0
        stop.set()
        busy_lat = await task
        await sampler
    await sio.disconnect()

    def ms(x: float) -> str:
        return f"{x * 1000:7.1f} ms"

    warm_total = statistics.median(s for _, s in warm)
    print(f"\nKeras → TF.js + ONNX through plume serve ({MODEL}, {model.stat().st_size} B)")
    print(f"  cold worker, both formats (upload → both done): {ms(cold)}  "
          f"[tfjs {ms(watch.target_seconds(cold_id, 'tfjs'))}, onnx {ms(watch.target_seconds(cold_id, 'onnx'))}]")
    for target in ("tfjs", "onnx"):
        per = statistics.median(watch.target_seconds(i, target) for i, _ in warm)
        print(f"  warm worker, {target:4s} (running → done, median of {warm_runs}): {ms(per)}")
    print(f"  warm worker, both formats (upload → both done, median): {ms(warm_total)}   "
          f"cold/warm = {cold / warm_total:.1f}x")
    print(f"  {concurrent} concurrent conversions: wall {batch_wall:.2f} s, "
          f"per job (wall/{concurrent}) {ms(batch_wall / concurrent)}, slowest {ms(max(s for _, s in batch))}")
    idle_p50, busy_p50 = statistics.median(idle_lat), statistics.median(busy_lat)
    print(f"  GET /info latency idle:  p50 {ms(idle_p50)}, max {ms(max(idle_lat))} ({len(idle_lat)} requests)")
    p99 = sorted(busy_lat)[int(0.99 * (len(busy_lat) - 1))]
    slow = sum(1 for x in busy_lat if x > 0.010)
    print(f"  GET /info latency busy:  p50 {ms(busy_p50)}, p99 {ms(p99)}, max {ms(max(busy_lat))} "
          f"({len(busy_lat)} requests after the {concurrent} uploads, {slow} over 10 ms)")
    print(f"  loop lag estimate (busy max - idle p50): {ms(max(busy_lat) - idle_p50)}; "
          f"busy/idle p50 = {busy_p50 / idle_p50:.2f}x")
    print(f"  server RSS: idle {rss_idle:.1f} MB, after warm runs {rss_warm:.1f} MB, peak during the batch "
          f"{max(peak):.1f} MB (peak/idle = {max(peak) / rss_idle:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument("--concurrent", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plume-bench-models-") as tmp:
        model = build_model(Path(tmp) / "models")
        with PlumeProcess(Path(tmp) / "server", env={"PLUME_LOG_LEVEL": "WARNING"}) as server:
            asyncio.run(run(server, model, args.warm_runs, args.concurrent))


if __name__ == "__main__":
    main()
