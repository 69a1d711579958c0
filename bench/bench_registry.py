"""Benchmark: model registry weights transfers through a running ``plume serve``.

Measures, with the project's own client (``python_client.model``) against a ``plume serve``
process whose blob store is on the same disk as the file:

- upload throughput of a 200 MB weights file (``update_weights`` + ``wait_for_uploads``: the
  multipart upload, the server streaming it into the blob store while hashing it, and the version's
  creation), and download throughput (``get_weights`` into an empty cache, SHA-256 checked), each
  as a ratio to copying the same file on the same disk (``shutil.copyfile``) in the same run: the
  limit. Targets: ≥ 0.5x on upload, ≥ 0.7x on download;
- the server's RSS before and at its peak during the transfers (streaming: it must stay flat);
- how long ``update_weights`` takes to return (target ≤ 5 ms; the upload runs in the background).

Usage: ``.venv/bin/python bench/bench_registry.py [--size-mb 200] [--runs 3]``
(not part of the test suite; prints ratios against a baseline measured in the same run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import python_client  # noqa: E402
from python_client.model import OutputModel, transfer  # noqa: E402
from tests.support.server import PlumeProcess  # noqa: E402


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PeakRss:
    """Samples a process's RSS every 20 ms while in the ``with`` block; ``peak`` in MB."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def drop_file(path: Path) -> None:
    path.unlink(missing_ok=True)


def loopback_floor(source: Path, runs: int) -> tuple[float, float]:
    """(upload, download) seconds of the same file over loopback HTTP with nothing else done:
    requests posting it raw to a bare aiohttp handler that drops it, and getting it back raw from
    one that streams it from disk (no multipart, no hashing, no storage). What Python HTTP on this
    machine costs before Plume does any work: the most any such server could reach."""
    import subprocess

    import requests

    from tests.support.server import free_port

    port = free_port()
    code = f"""
from aiohttp import web
async def put(request):
    async for _ in request.content.iter_chunked(1 << 20):
        pass
    return web.Response(text="ok")
async def get(request):
    return web.FileResponse({str(source)!r})
app = web.Application(client_max_size=1 << 40)
app.router.add_post("/", put)
app.router.add_get("/", get)
web.run_app(app, host="127.0.0.1", port={port}, print=None, access_log=None)
"""
    sink = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/x", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the floor server did not start"
                time.sleep(0.05)
        ups, downs = [], []
        for _ in range(runs):
            started = time.perf_counter()
            with source.open("rb") as f:
                requests.post(f"http://127.0.0.1:{port}/", data=iter(lambda: f.read(1 << 20), b"")).raise_for_status()
            ups.append(time.perf_counter() - started)
            started = time.perf_counter()
            with requests.get(f"http://127.0.0.1:{port}/", stream=True) as r:
                for _ in r.iter_content(1 << 20):
                    pass
            downs.append(time.perf_counter() - started)
        return statistics.median(ups), statistics.median(downs)
    finally:
        sink.terminate()
        sink.wait()


def main() -> None:
    transfer.PROGRESS_MIN = 1 << 62  # no progress bars: the terminal is not what is measured
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(dir=REPO / "data" if (REPO / "data").is_dir() else None) as tmp:
        root = Path(tmp)
        os.environ["PLUME_CACHE_DIR"] = str(root / "cache")
        source = root / "weights.bin"
        with source.open("wb") as f:
            for _ in range(args.size_mb):
                f.write(os.urandom(1024 * 1024))

        copies, uploads, downloads, returns = [], [], [], []
        config = f"[registry]\nmax_size = {2 * size}\n"
        with PlumeProcess(root / "server", config=config) as srv:
            python_client.connect(srv.url)
            pid = srv.proc.pid  # type: ignore[union-attr]
            task = python_client.default_store().service("runs").create({"name": "bench"})["_id"]
            model = OutputModel(task=task, name="bench", framework="none")
            idle = rss_mb(pid)
            with PeakRss(pid) as peak:
                for run in range(args.runs):
                    target = root / f"copy-{run}.bin"
                    started = time.perf_counter()
                    shutil.copyfile(source, target)
                    copies.append(time.perf_counter() - started)
                    drop_file(target)

                    started = time.perf_counter()
                    model.update_weights(str(source), auto_delete_file=False, iteration=run)
                    returns.append(time.perf_counter() - started)
                    assert OutputModel.wait_for_uploads(timeout=600), "upload failed"
                    uploads.append(time.perf_counter() - started)

                    shutil.rmtree(root / "cache", ignore_errors=True)
                    started = time.perf_counter()
                    path = model.get_weights(raise_on_error=True)
                    downloads.append(time.perf_counter() - started)
                    assert path and Path(path).stat().st_size == size
            # update_weights' own cost, without the transfer: small files, many calls.
            small = root / "small.bin"
            small.write_bytes(b"x" * 1024)
            for _ in range(50):
                started = time.perf_counter()
                model.update_weights(str(small), auto_delete_file=False)
                returns.append(time.perf_counter() - started)
            assert OutputModel.wait_for_uploads(timeout=120)
            cached = time.perf_counter()
            model.get_weights(raise_on_error=True)
            cached = time.perf_counter() - cached

        floor_up, floor_down = loopback_floor(source, args.runs)
        copy = statistics.median(copies)
        up, down = statistics.median(uploads), statistics.median(downloads)
        mb = size / 1024 / 1024
        print(f"weights file: {mb:.0f} MB, {args.runs} runs (medians)")
        print(f"copy on the same disk (shutil.copyfile): {copy * 1000:8.1f} ms  {mb / copy:8.1f} MB/s")
        print(f"upload   (update_weights + wait):        {up * 1000:8.1f} ms  {mb / up:8.1f} MB/s"
              f"  ratio {copy / up:.2f}x  (target >= 0.5x)")
        print(f"download (get_weights, empty cache):     {down * 1000:8.1f} ms  {mb / down:8.1f} MB/s"
              f"  ratio {copy / down:.2f}x  (target >= 0.7x)")
        print(f"loopback HTTP floor, raw body to a bare aiohttp sink: upload {floor_up * 1000:.1f} ms "
              f"(ratio {copy / floor_up:.2f}x), download {floor_down * 1000:.1f} ms (ratio {copy / floor_down:.2f}x)")
        print(f"Plume against that floor: upload {floor_up / up:.2f}x, download {floor_down / down:.2f}x")
        print(f"get_weights again (cached):              {cached * 1000:8.1f} ms")
        print(f"update_weights returns in: median {statistics.median(returns) * 1000:.2f} ms, "
              f"max {max(returns) * 1000:.2f} ms over {len(returns)} calls  (target <= 5 ms)")
        print(f"server RSS: idle {idle:.1f} MB, peak during transfers {peak.peak:.1f} MB "
              f"(+{peak.peak - idle:.1f} MB for a {mb:.0f} MB file)")


if __name__ == "__main__":
    main()
