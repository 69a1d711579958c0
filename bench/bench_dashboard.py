"""The dashboard in headless chromium (Playwright, Debian's chromium) against a real server.

    .venv/bin/python bench/bench_dashboard.py [--runs 1000] [--points 100000] [--curves 10] [--events 200]

Prints, against the issue's targets:

* time to first meaningful paint of the runs page with ``--runs`` runs: from navigation start to
  the frame after the first page of the table is on screen (the app's ``plume:runs-painted``
  performance mark), median and worst of 5 fresh browser contexts (no cache); target <= 1 s;
* the same for a run page with ``--curves`` curves of ``--points`` points each: until every chart
  has drawn its (downsampled) curve; target <= 2 s;
* event-to-pixel latency over ``--events`` points: from just before the Python client's
  ``metrics.create`` of one point until the run page's chart has drawn it (the chart records
  ``performance.timeOrigin + performance.now()`` when it draws), p50 and p99; target p99 <= 250 ms.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from python_client import DataStore  # noqa: E402
from tests.services.dashboard.browser import Tab, chromium, tab  # noqa: E402
from tests.support.server import PlumeProcess  # noqa: E402

REPEATS = 5
BATCH = 10_000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def make_runs(store: DataStore, n: int) -> None:
    runs = store.service("runs")
    for i in range(n):
        runs.create({"name": f"run-{i:04d}", "status": ("success", "error", "epoch")[i % 3], "epoch": i % 10,
                     "epochs": 10, "params": {"lr": 10 ** -(i % 4), "batch": 32 * (1 + i % 3)}})


def make_big_run(store: DataStore, curves: int, points: int) -> str:
    run = store.service("runs").create({"name": "big", "status": "epoch", "hparams": {"lr": 0.01}})
    metrics = store.service("metrics")
    for c in range(curves):
        for start in range(0, points, BATCH):
            steps = range(start, min(points, start + BATCH))
            metrics.create([{"run": run["_id"], "type": "train", "key": f"metric{c}", "step": s,
                             "value": 1 / (1 + s) + c + (s % 101) / 1e3} for s in steps])
    return str(run["_id"])


def runs_paint(t: Tab, url: str) -> float:
    """ms from navigation start to the runs page's first meaningful paint."""
    t.page.goto(url + "/")
    t.page.wait_for_function("performance.getEntriesByName('plume:runs-painted').length > 0", polling="raf")
    return float(t.page.evaluate("performance.getEntriesByName('plume:runs-painted')[0].startTime"))


def run_paint(t: Tab, url: str, run: str, curves: int) -> float:
    """ms from navigation start until every chart of the run page has drawn its curve."""
    t.page.goto(f"{url}/#/runs/{run}")
    t.page.wait_for_function(f"document.querySelectorAll('.chart .plot[data-ready=\"1\"]').length >= {curves}",
                             polling="raf")
    return float(t.page.evaluate("""Math.max(...[...document.querySelectorAll('.chart .plot')]
        .map((e) => Number(e.dataset.drawnAt))) - performance.timeOrigin"""))


def event_latencies(t: Tab, store: DataStore, url: str, events: int) -> list[float]:
    run = store.service("runs").create({"name": "live", "status": "epoch"})
    metrics = store.service("metrics")
    metrics.create([{"run": run["_id"], "type": "train", "key": "loss", "step": s, "value": 1 / (1 + s)}
                    for s in range(10)])
    t.page.goto(f"{url}/#/runs/{run['_id']}")
    t.page.wait_for_selector(".chart .plot[data-last-step='9']")
    out = []
    for step in range(10, 10 + events):
        sent = time.time() * 1000
        metrics.create({"run": run["_id"], "type": "train", "key": "loss", "step": step, "value": 1 / (1 + step)})
        t.page.wait_for_function(f"document.querySelector('.chart .plot').dataset.lastStep === '{step}'",
                                 polling="raf")
        out.append(float(t.page.evaluate("Number(document.querySelector('.chart .plot').dataset.drawnAt)")) - sent)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--curves", type=int, default=10)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, PlumeProcess(Path(tmp)) as srv, DataStore(srv.url) as store, \
            chromium() as browser:
        started = time.monotonic()
        make_runs(store, args.runs)
        big = make_big_run(store, args.curves, args.points)
        print(f"data: {args.runs} runs, a run with {args.curves} x {args.points:,} points "
              f"(made in {time.monotonic() - started:.0f} s)")
        paints, runs_errors = [], []
        for _ in range(REPEATS):
            with tab(browser) as t:
                paints.append(runs_paint(t, srv.url))
                runs_errors += t.errors
        print(f"runs page, {args.runs} runs: first meaningful paint median {statistics.median(paints):.0f} ms, "
              f"worst {max(paints):.0f} ms (target <= 1000 ms)")
        pages = []
        for _ in range(REPEATS):
            with tab(browser) as t:
                pages.append(run_paint(t, srv.url, big, args.curves))
                runs_errors += t.errors
        print(f"run page, {args.curves} x {args.points:,}-point curves: drawn in median "
              f"{statistics.median(pages):.0f} ms, worst {max(pages):.0f} ms (target <= 2000 ms)")
        with tab(browser) as t:
            latencies = event_latencies(t, store, srv.url, args.events)
            runs_errors += t.errors
        print(f"event to pixel, {args.events} points: p50 {percentile(latencies, 50):.0f} ms, "
              f"p99 {percentile(latencies, 99):.0f} ms, max {max(latencies):.0f} ms (target p99 <= 250 ms)")
        print(f"console errors: {len(runs_errors)}" + (f" {runs_errors[:3]}" if runs_errors else ""))


if __name__ == "__main__":
    main()
