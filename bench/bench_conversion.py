"""Benchmark the conversion engine as the server sees it.

Measures, in one run:
* conversion latency of a small conv model (Conv2D + pooling + Dense), TF.js and ONNX, with a cold
  worker (spawn + TensorFlow import + conversion) and a warm one (median of several runs),
  against the 1 s target for a warm conversion;
* the worst event-loop lag (1 ms ticker) while 10 conversions run through the pool, against the
  worst lag of the same ticker on an idle loop;
* the parent (server) process RSS before and after, which TensorFlow must not touch.

Run: ``.venv/bin/python bench/bench_conversion.py [--warm-runs N]``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.conversion import ConversionJob, ConversionPool

WARM_TARGET_S = 1.0
CONCURRENT_JOBS = 10

# Built in a child process: this (server-like) process must never import TensorFlow.
BUILD_MODEL = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
inputs = keras.Input((28, 28, 1), name="image")
x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
x = keras.layers.MaxPooling2D()(x)
x = keras.layers.Conv2D(16, 3, activation="relu")(x)
x = keras.layers.MaxPooling2D()(x)
x = keras.layers.Flatten()(x)
x = keras.layers.Dense(32, activation="relu")(x)
keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x)).save(sys.argv[1])
"""


def rss_mb(pid: int | None = None) -> float:
    """Current resident set size in MB (Linux /proc)."""
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def worst_lag(duration: float | None = None, until: asyncio.Future[object] | None = None) -> float:
    """Worst extra delay (s) of a 1 ms sleep loop, for ``duration`` seconds or until ``until`` is done."""
    worst = 0.0
    end = time.perf_counter() + (duration or 0.0)
    while (until is not None and not until.done()) or (until is None and time.perf_counter() < end):
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        worst = max(worst, time.perf_counter() - before - 0.001)
    return worst


async def timed(pool: ConversionPool, model: Path, target: str, out: Path) -> float:
    started = time.perf_counter()
    result = await pool.convert(ConversionJob(model, target, out))  # type: ignore[arg-type]
    if not result.ok:
        raise SystemExit(f"conversion failed: {result.error}")
    return time.perf_counter() - started


async def main(warm_runs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="plume-bench-conversion-"))
    model = work / "conv.keras"
    subprocess.run([sys.executable, "-c", BUILD_MODEL, str(model)], check=True)
    rss_before = rss_mb()

    cold: dict[str, float] = {}
    for target in ("tfjs", "onnx"):
        async with ConversionPool() as pool:  # a fresh worker each: spawn + import + convert
            cold[target] = await timed(pool, model, target, work / f"cold-{target}")

    async with ConversionPool(max_jobs_per_worker=1000) as pool:
        await pool.start()
        warm: dict[str, float] = {}
        for target in ("tfjs", "onnx"):
            await timed(pool, model, target, work / "first")  # first trace of each path in this worker
            runs = [await timed(pool, model, target, work / f"warm-{target}-{i}") for i in range(warm_runs)]
            warm[target] = statistics.median(runs)

        idle_lag = await worst_lag(duration=2.0)
        started = time.perf_counter()
        batch = asyncio.gather(
            *(timed(pool, model, ("tfjs", "onnx")[i % 2], work / f"batch-{i}") for i in range(CONCURRENT_JOBS))
        )
        busy_lag = await worst_lag(until=batch)
        await batch
        batch_seconds = time.perf_counter() - started
        worker_rss = [rss_mb(pid) for pid in pool.worker_pids()]
    rss_after = rss_mb()

    print(f"model: small conv net ({model.stat().st_size / 1024:.0f} KB .keras), machine: {os.cpu_count()} CPUs")
    print("latency (baseline: warm target = 1 s)")
    for target in ("tfjs", "onnx"):
        print(
            f"  {target:5s} cold {cold[target]:6.2f} s = {cold[target] / WARM_TARGET_S:5.2f}x target | "
            f"warm {warm[target] * 1000:6.0f} ms = {warm[target] / WARM_TARGET_S:5.2f}x target "
            f"(median of {warm_runs})"
        )
    print(f"event loop, {CONCURRENT_JOBS} conversions in {batch_seconds:.2f} s (baseline: idle loop, 2 s)")
    print(
        f"  worst 1 ms-ticker lag: idle {idle_lag * 1000:.2f} ms, during conversions {busy_lag * 1000:.2f} ms "
        f"= {busy_lag / max(idle_lag, 1e-6):.2f}x idle"
    )
    print("parent RSS (baseline: before any conversion)")
    print(
        f"  before {rss_before:.1f} MB, after {rss_after:.1f} MB = {rss_after / rss_before:.2f}x before; "
        f"tensorflow in parent: {'tensorflow' in sys.modules}; "
        f"worker RSS {', '.join(f'{r:.0f}' for r in worker_rss)} MB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().warm_runs))
