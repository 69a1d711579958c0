"""Core benchmark: Plume (SQLite) side by side with a reference Feathers v5 server, same workload, same run.

    .venv/bin/python bench/bench_core.py [--duration 10] [--big 1000000] [--only get,patch] [--baseline]
                                         [--profile]

* REST with ``wrk`` (64 connections; installed with apt-get when missing): get by id, find with a
  filter and ``$limit=10``, patch, create (Lua scripts make the bodies and pick random ids).
* socket.io ``get`` round-trips from a Node client (``bench/feathers_ref/sio_bench.js``): sequential
  and 50 in flight.
* Reference: ``bench/feathers_ref/server.js`` (koa + ``@feathersjs/memory`` + socket.io 5.0.50),
  copied to a scratch folder and ``npm install``-ed there.
* 1M records inserted through the SQLite adapter (batches, not HTTP) with a configured index; p50 of
  a find with filter + sort + ``$limit`` through the REST API, and the SQLite query plan.
* ``--only``: a comma list of operations to run (get, find, patch, create, sio-seq, sio-50); all by default.
* ``--baseline``: the floor under Plume's get: the same get load against bare aiohttp (a constant body)
  and against Plume serving a constant service (no storage), see ``bench/baselines.py``.
* ``--profile``: py-spy samples Plume under each REST workload run; prints the top functions.
* Beside each rate: the server's CPU time per request (all its threads, from /proc), which a busy
  machine inflates less than it deflates the rates.

Targets: Plume/Feathers >= 1.0 on every operation; 1M find p50 <= 20 ms. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from core_big import big_p50, fill_big, query_plan  # noqa: E402 - bench/ is the script's folder

REF = REPO / "bench" / "feathers_ref"
CONNECTIONS = 64
SEED = 1000
GROUPS = 10
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(wrk: str, server: Server, script: Path, duration: int) -> tuple[float, float]:
    """Requests/s over ``duration`` seconds after a 2 s warm-up, and the server's CPU µs per request;
    non-2xx answers abort the run."""
    url = server.url
    base = [wrk, "-t2", f"-c{CONNECTIONS}", "-s", str(script)]
    sh([*base, "-d2s", url])
    before = cpu_seconds(server.proc.pid)
    out = sh([*base, f"-d{duration}s", url]).stdout
    used = cpu_seconds(server.proc.pid) - before
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if bad or (sock and any(int(x) for x in sock.groups()[:3])):
        sys.exit(f"wrk saw errors against {url} with {script.name}:\n{out}")
    if sock and int(sock.group(4)):
        # Slow answers (over wrk's 2 s) on a loaded machine are a figure, not a failure.
        print(f"  ({script.name} against {url}: {sock.group(4)} requests slower than 2 s)")
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rate, 1e6 * used / max(count, 1)


def run_sio(ref: Path, url: str, ids_file: Path, calls: int, inflight: int, path: str = "items") -> float:
    out = sh(["node", "sio_bench.js", url, str(ids_file), str(calls), str(inflight), path], cwd=ref, timeout=600)
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


# ------------------------------------------------------------------------ baselines
def start_baseline(kind: str, work: Path) -> Server:
    """``bench/baselines.py``: bare aiohttp, or Plume with a constant service at /const."""
    port = free_port()
    cmd = [sys.executable, str(REPO / "bench" / "baselines.py"), kind, str(port)]
    if kind == "const":
        cfg = work / "plume.toml"
        cfg.write_text(PLUME_CONFIG)
        cmd += [str(work / f"data-{kind}"), str(cfg)]
    return Server(kind, cmd, port, work / f"{kind}.log", REPO)


def baselines(wrk: str, work: Path, duration: int, sio: list[tuple[str, int, int]], ref: Path,
              ids_file: Path) -> list[str]:
    """The floors under Plume's get, each with the load Plume had: REST (random paths, 64
    connections) against bare aiohttp and a constant Plume service; and each socket.io run of
    ``sio`` (label, calls, in flight) against stock python-socketio and that constant service."""
    script = work / "const.lua"
    script.write_text('request = function() return wrk.format("GET", "/const/" .. math.random(1000)) end\n')
    lines = []
    for kind, label in (("bare", "bare aiohttp, constant body"), ("const", "Plume, constant service (no storage)")):
        srv = start_baseline(kind, work)
        try:
            rate, cpu = run_wrk(wrk, srv, script, duration)
        finally:
            srv.stop()
        lines.append(f"  {'REST get':<18}{label:<40}{rate:>10.0f} req/s  {cpu:6.1f} us/req")
    sio_floors = (("bare-sio", "stock python-socketio, constant ack"),
                  ("const", "Plume, constant service (no storage)"))
    for kind, label in sio_floors if sio else ():
        srv = start_baseline(kind, work)
        try:
            for run, calls, inflight in sio:
                rate = run_sio(ref, srv.url, ids_file, calls, inflight, "const")
                lines.append(f"  {run:<18}{label:<40}{rate:>10.0f} calls/s")
        finally:
            srv.stop()
    return lines


# ------------------------------------------------------------------------ main
OPERATIONS = ("get", "find", "patch", "create", "sio-seq", "sio-50")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    ap.add_argument("--big", type=int, default=1_000_000, help="records for the large find (0 skips it)")
    ap.add_argument("--sio-calls", type=int, default=20_000, help="socket.io calls with 50 in flight")
    ap.add_argument("--only", default=",".join(OPERATIONS), help="operations to run (default: all)")
    ap.add_argument("--baseline", action="store_true", help="also bare aiohttp and a constant Plume service")
    ap.add_argument("--profile", action="store_true", help="py-spy profile of Plume under each REST workload")
    args = ap.parse_args()
    only = [op.strip() for op in args.only.split(",") if op.strip()]
    if unknown := set(only) - set(OPERATIONS):
        sys.exit(f"unknown operations {sorted(unknown)} (choose from {', '.join(OPERATIONS)})")
    wrk = ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="plume-bench-"))
    ref = install_reference(work)
    plume = start_plume(work, work / "data")
    feathers = start_feathers(ref, work)
    rows: list[tuple[str, float, float, str]] = []
    profile: list[str] = []
    try:
        ids = {"plume": asyncio.run(seed(plume.url, "_id")), "feathers": asyncio.run(seed(feathers.url, "id"))}
        scripts = {name: lua_scripts(work, name, ids[name]) for name in ids}
        servers = {"plume": plume, "feathers": feathers}
        for op in ("get", "find", "patch", "create"):
            if op not in only:
                continue
            rate, cpu = {}, {}
            for name, srv in servers.items():
                rate[name], cpu[name] = run_wrk(wrk, srv, scripts[name][op], args.duration)
            rows.append((f"REST {op}", rate["plume"], rate["feathers"], f"{cpu['plume']:.0f} / {cpu['feathers']:.0f}"))
            print(f"  {op}: plume {rate['plume']:.0f}/s ({cpu['plume']:.1f} us/req)  "
                  f"feathers {rate['feathers']:.0f}/s ({cpu['feathers']:.1f} us/req)", flush=True)
        sio_runs = [(label, calls, inflight) for key, label, calls, inflight in (
            ("sio-seq", "socket.io get sequential", 3000, 1),
            ("sio-50", "socket.io get 50 in flight", args.sio_calls, 50)) if key in only]
        for label, calls, inflight in sio_runs:
            rate = {}
            for name, srv in servers.items():
                ids_file = work / f"{name}-ids.json"
                ids_file.write_text(json.dumps(ids[name]))
                rate[name] = run_sio(ref, srv.url, ids_file, calls, inflight)
            rows.append((label, rate["plume"], rate["feathers"], ""))
            print(f"  {label}: plume {rate['plume']:.0f}/s  feathers {rate['feathers']:.0f}/s", flush=True)
        if args.profile:
            for op in ("get", "find", "patch", "create"):
                if op in only:
                    profile += [f"\n-- REST {op} --", *profile_rest(wrk, plume, scripts["plume"][op], work,
                                                                   max(args.duration, 10))]
    finally:
        feathers.stop()
        plume.stop()
    baseline_lines = []
    if args.baseline:
        short = [(label.replace("socket.io get ", "sio ").replace("sequential", "seq"), calls, inflight)
                 for label, calls, inflight in sio_runs]
        baseline_lines = baselines(wrk, work, args.duration, short, ref, work / "plume-ids.json")

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
    print(f"{'operation':<30}{'Plume req/s':>14}{'Feathers req/s':>16}{'ratio':>8}  {'target >= 1.0':<15}"
          "server CPU us/req (Plume / Feathers)")
    for op, p, f, cpu in rows:
        print(f"{op:<30}{p:>14.0f}{f:>16.0f}{p / f:>8.2f}  {'OK' if p >= f else 'MISSED':<15}{cpu}")
    if baseline_lines:
        print("floors under Plume's get (same loads, a constant record; python-socketio is Plume's library):")
        print("\n".join(baseline_lines))
    for line in big_lines:
        print(line)
    if profile:
        print("\nPlume profile under the REST get and find workloads (py-spy):")
        print("\n".join(profile))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
