"""Core benchmark: Plume (SQLite) side by side with a reference Feathers v5 server, same workload, same run.

    .venv/bin/python bench/bench_core.py [--duration 10] [--big 1000000] [--profile]

* REST with ``wrk`` (64 connections; installed with apt-get when missing): get by id, find with a
  filter and ``$limit=10``, patch, create (Lua scripts make the bodies and pick random ids).
* socket.io ``get`` round-trips from a Node client (``bench/feathers_ref/sio_bench.js``): sequential
  and 50 in flight.
* Reference: ``bench/feathers_ref/server.js`` (koa + ``@feathersjs/memory`` + socket.io 5.0.50),
  copied to a scratch folder and ``npm install``-ed there.
* 1M records inserted through the SQLite adapter (batches, not HTTP) with a configured index; p50 of
  a find with filter + sort + ``$limit`` through the REST API, and the SQLite query plan.
* ``--profile``: py-spy samples Plume under the get and find workloads; prints the top functions.

Targets: Plume/Feathers >= 1.0 on every operation; 1M find p50 <= 20 ms. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REF = REPO / "bench" / "feathers_ref"
CONNECTIONS = 64
SEED = 1000
GROUPS = 10
BIG_GROUPS = 1000
PLUME_CONFIG = """
log_level = "WARNING"
[services.items]
indexes = ["group"]
[services.big]
indexes = [[["group", 1], ["n", -1]]]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sh(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def ensure_wrk() -> str:
    """``wrk`` from Debian (installed when missing and we are root)."""
    if shutil.which("wrk") is None:
        if os.geteuid() != 0:
            sys.exit("wrk is missing: apt-get install wrk (needs root)")
        print("installing wrk with apt-get ...", flush=True)
        sh(["apt-get", "update", "-q"])
        sh(["apt-get", "install", "-y", "-q", "wrk"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return str(shutil.which("wrk"))


def install_reference(work: Path) -> Path:
    """Copy the reference server into ``work`` and install its npm packages there."""
    dest = work / "feathers_ref"
    dest.mkdir()
    for name in ("package.json", "server.js", "sio_bench.js"):
        shutil.copy(REF / name, dest / name)
    print("npm install (Feathers 5.0.50 reference) ...", flush=True)
    sh(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=dest)
    return dest


class Server:
    """A server subprocess that is ready once ``GET /items`` answers."""

    def __init__(self, name: str, cmd: list[str], port: int, log: Path, cwd: Path) -> None:
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"{name} exited:\n{log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        sys.exit(f"{name} did not start:\n{log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_plume(work: Path, data: Path) -> Server:
    port = free_port()
    cfg = work / "plume.toml"
    cfg.write_text(PLUME_CONFIG)
    cmd = [sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data), "--config", str(cfg)]
    return Server("plume", cmd, port, work / "plume.log", REPO)


def start_feathers(ref: Path, work: Path) -> Server:
    port = free_port()
    return Server("feathers", ["node", "server.js", str(port)], port, work / "feathers.log", ref)


async def seed(url: str, id_field: str) -> list[Any]:
    """``SEED`` records over REST; returns their ids."""
    async with aiohttp.ClientSession() as http:
        async def one(i: int) -> Any:
            body = {"name": f"item {i}", "group": f"g{i % GROUPS}", "n": i, "tags": ["a", "b"]}
            async with http.post(f"{url}/items", json=body) as r:
                assert r.status == 201, await r.text()
                return (await r.json())[id_field]

        return list(await asyncio.gather(*(one(i) for i in range(SEED))))


def lua_scripts(work: Path, name: str, ids: list[Any]) -> dict[str, Path]:
    """wrk scripts for the four operations (random ids, JSON bodies)."""
    table = "{" + ",".join(json.dumps(str(i)) for i in ids) + "}"
    head = f'local ids = {table}\nwrk.headers["Content-Type"] = "application/json"\n'
    bodies = {
        "get": 'request = function() return wrk.format("GET", "/items/" .. ids[math.random(#ids)]) end',
        "find": f'request = function() return wrk.format("GET", "/items?group=g" .. math.random(0, {GROUPS - 1})'
                ' .. "&%24limit=10") end',
        "patch": 'request = function() return wrk.format("PATCH", "/items/" .. ids[math.random(#ids)], nil, '
                 '\'{"n": \' .. math.random(1, 1000000) .. \', "seen": true}\') end',
        "create": 'request = function() return wrk.format("POST", "/items", nil, '
                  '\'{"name": "bench", "group": "g\' .. math.random(0, 9) .. \'", "n": \' .. math.random(1, 1000000)'
                  ' .. \', "tags": ["x"]}\') end',
    }
    out = {}
    for op, body in bodies.items():
        path = work / f"{name}-{op}.lua"
        path.write_text(head + body + "\n")
        out[op] = path
    return out


def run_wrk(wrk: str, url: str, script: Path, duration: int) -> float:
    """Requests/s over ``duration`` seconds after a 2 s warm-up; non-2xx answers abort the run."""
    base = [wrk, "-t2", f"-c{CONNECTIONS}", "-s", str(script)]
    sh([*base, "-d2s", url])
    out = sh([*base, f"-d{duration}s", url]).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if bad or (sock and any(int(x) for x in sock.groups()[:3])):
        sys.exit(f"wrk saw errors against {url} with {script.name}:\n{out}")
    if sock and int(sock.group(4)):
        # Slow answers (over wrk's 2 s) on a loaded machine are a figure, not a failure.
        print(f"  ({script.name} against {url}: {sock.group(4)} requests slower than 2 s)")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def run_sio(ref: Path, url: str, ids_file: Path, calls: int, inflight: int) -> float:
    out = sh(["node", "sio_bench.js", url, str(ids_file), str(calls), str(inflight)], cwd=ref, timeout=600)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["rate"])


def profile_rest(wrk: str, plume: Server, script: Path, work: Path, seconds: int) -> list[str]:
    """py-spy samples Plume while wrk runs ``script``; returns the top lines (self and inclusive time)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return ["py-spy not installed (pip install py-spy): profile skipped"]
    raw = work / "profile.txt"
    load = subprocess.Popen([wrk, "-t2", f"-c{CONNECTIONS}", f"-d{seconds + 2}s", "-s", str(script), plume.url],
                            stdout=subprocess.DEVNULL)
    sh([spy, "record", "--pid", str(plume.proc.pid), "--duration", str(seconds), "--format", "raw",
        "--rate", "200", "--nonblocking", "--output", str(raw)])
    load.wait()
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [f for f in stack.split(";") if f]
        samples += n
        if frames:
            own[_short(frames[-1])] += n
        for frame in {_short(f) for f in frames}:
            total[frame] += n
    lines = [f"{samples} samples; self time:"]
    lines += [f"  {100 * n / samples:5.1f}%  {f}" for f, n in own.most_common(15)]
    lines += ["inclusive time (top, excluding the event loop's own frames):"]
    skip = ("run_forever", "_run_once", "run_until_complete", "<module>", "main", "_run_module", "_run_code",
            "run_app", "_serve", "_run")
    lines += [f"  {100 * n / samples:5.1f}%  {f}" for f, n in total.most_common(60)
              if not f.split(" ")[0].endswith(skip)][:25]
    return lines


def _short(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)`` relative to site-packages or the repo."""
    m = re.match(r"(.*) \((.*?):?(\d*)\)$", frame)
    if not m:
        return frame
    func, path = m.group(1), m.group(2)
    path = path.split("site-packages/")[-1].replace(str(REPO) + "/", "")
    return f"{func} ({path})"


# ------------------------------------------------------------------------ 1M records
async def fill_big(data: Path, count: int) -> float:
    """Insert ``count`` records into service ``big`` through the SQLite adapter, in batches."""
    from backend.config import load_settings
    from backend.storage import open_storage
    from backend.storage.base import new_id

    cfg = data.parent / "plume.toml"
    settings = load_settings(cfg, {"data_dir": str(data)}, environ={})
    storage = open_storage(settings.database_url)
    adapter = storage.adapter("big", settings.adapter_options("big"))
    await adapter.setup(None, "big")
    rnd = random.Random(7)
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    t0 = time.perf_counter()
    batch = 20_000
    for start in range(0, count, batch):
        records = [{"_id": new_id(), "name": f"record {i}", "group": f"g{i % BIG_GROUPS}",
                    "n": rnd.randrange(1_000_000), "score": rnd.random(), "createdAt": now, "updatedAt": now}
                   for i in range(start, min(count, start + batch))]
        await adapter._insert(records)  # the adapter primitive: no per-record hooks or events
    await storage.close()
    return time.perf_counter() - t0


def query_plan(db_file: Path) -> list[str]:
    """SQLite's plan for the SQL the adapter issues for ``group = ? ORDER BY n DESC LIMIT 10``."""
    from backend.query import Cmp
    from backend.storage.sql import SqlBuilder

    b = SqlBuilder("_id")
    where = b.where(Cmp(("group",), "$eq", "g42"))
    sql = f'SELECT doc FROM "svc_big" WHERE {where} {b.order_by([(("n",), -1)])} LIMIT 10 OFFSET 0'
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, b.params).fetchall()
        count_rows = conn.execute(f'EXPLAIN QUERY PLAN SELECT count(*) FROM "svc_big" WHERE {where}',
                                  b.params).fetchall()
    return [sql, *(f"  rows:  {r[-1]}" for r in rows), *(f"  count: {r[-1]}" for r in count_rows)]


async def big_p50(url: str, requests: int = 300) -> tuple[float, int]:
    """p50 latency (ms) of sequential finds with filter + sort + $limit over REST."""
    times = []
    async with aiohttp.ClientSession() as http:
        for i in range(requests + 20):
            params = {"group": f"g{(i * 37) % BIG_GROUPS}", "$sort[n]": "-1", "$limit": "10"}
            t0 = time.perf_counter()
            async with http.get(f"{url}/big", params=params) as r:
                body = await r.json()
            if i >= 20:
                times.append((time.perf_counter() - t0) * 1000)
            assert r.status == 200 and len(body["data"]) == 10, body
            ns = [d["n"] for d in body["data"]]
            assert ns == sorted(ns, reverse=True)
    return statistics.median(times), body["total"]


# ------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    ap.add_argument("--big", type=int, default=1_000_000, help="records for the large find (0 skips it)")
    ap.add_argument("--sio-calls", type=int, default=20_000, help="socket.io calls with 50 in flight")
    ap.add_argument("--profile", action="store_true", help="py-spy profile of Plume under get and find")
    args = ap.parse_args()
    wrk = ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="plume-bench-"))
    ref = install_reference(work)
    plume = start_plume(work, work / "data")
    feathers = start_feathers(ref, work)
    rows: list[tuple[str, float, float]] = []
    profile: list[str] = []
    try:
        ids = {"plume": asyncio.run(seed(plume.url, "_id")), "feathers": asyncio.run(seed(feathers.url, "id"))}
        scripts = {name: lua_scripts(work, name, ids[name]) for name in ids}
        servers = {"plume": plume, "feathers": feathers}
        for op in ("get", "find", "patch", "create"):
            rate = {name: run_wrk(wrk, srv.url, scripts[name][op], args.duration) for name, srv in servers.items()}
            rows.append((f"REST {op}", rate["plume"], rate["feathers"]))
            print(f"  {op}: plume {rate['plume']:.0f}/s  feathers {rate['feathers']:.0f}/s", flush=True)
        for label, calls, inflight in (("socket.io get sequential", 3000, 1),
                                       ("socket.io get 50 in flight", args.sio_calls, 50)):
            rate = {}
            for name, srv in servers.items():
                ids_file = work / f"{name}-ids.json"
                ids_file.write_text(json.dumps(ids[name]))
                rate[name] = run_sio(ref, srv.url, ids_file, calls, inflight)
            rows.append((label, rate["plume"], rate["feathers"]))
            print(f"  {label}: plume {rate['plume']:.0f}/s  feathers {rate['feathers']:.0f}/s", flush=True)
        if args.profile:
            for op in ("get", "find"):
                profile += [f"\n-- REST {op} --", *profile_rest(wrk, plume, scripts["plume"][op], work,
                                                               max(args.duration, 10))]
    finally:
        feathers.stop()
        plume.stop()

    big_lines: list[str] = []
    if args.big:
        print(f"inserting {args.big:,} records through the SQLite adapter ...", flush=True)
        seconds = asyncio.run(fill_big(work / "data", args.big))
        plume = start_plume(work, work / "data")
        try:
            p50, total = asyncio.run(big_p50(plume.url))
        finally:
            plume.stop()
        verdict = "OK" if p50 <= 20 else "MISSED"
        big_lines = [f"1M find (group filter + $sort[n]=-1 + $limit=10, {args.big:,} records, {total} match, "
                     f"inserted in {seconds:.1f} s): p50 {p50:.2f} ms vs target 20 ms -> {verdict}",
                     "query plan:", *query_plan(work / "data" / "plume.sqlite3")]

    print()
    print(f"{'operation':<30}{'Plume req/s':>14}{'Feathers req/s':>16}{'ratio':>8}  target >= 1.0")
    for op, p, f in rows:
        print(f"{op:<30}{p:>14.0f}{f:>16.0f}{p / f:>8.2f}  {'OK' if p >= f else 'MISSED'}")
    for line in big_lines:
        print(line)
    if profile:
        print("\nPlume profile under the REST get and find workloads (py-spy):")
        print("\n".join(profile))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
