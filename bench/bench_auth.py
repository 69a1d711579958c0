"""What authentication costs: Plume with auth off (the baseline) vs on, same workload, same run.

    .venv/bin/python bench/bench_auth.py [--duration 8]

``wrk`` (64 connections) on get by id, find with a filter and ``$limit=10``, and create, three
ways: auth off; auth on with an editor's JWT (each request verifies the token, checks it is not
revoked, loads the user, and runs with the rules' conditions in its query); auth on with the
editor's API key. Prints requests/s and each as a ratio of the auth-off figure. Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import REPO, Server, ensure_wrk, free_port, run_wrk

SECRET = "bench-secret-0123456789abcdef0123456789"
RECORDS = 1000
CONFIG = """
log_level = "WARNING"
[services.items]
indexes = ["group", "userId"]
"""
AUTH = f"""
[authentication]
enabled = true
secret = "{SECRET}"
signup = "open"
"""


def start(work: Path, name: str, config: str) -> Server:
    data = work / name
    data.mkdir()
    (data / "plume.toml").write_text(config)
    port = free_port()
    cmd = [sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data), "--config", str(data / "plume.toml")]
    return Server(f"plume-{name}", cmd, port, work / f"{name}.log", REPO)


async def prepare(url: str, auth: bool) -> tuple[dict[str, str], list[str]]:
    """An editor (auth on) and its credentials; ``RECORDS`` records it owns. Returns (credentials, ids)."""
    creds: dict[str, str] = {}
    async with aiohttp.ClientSession() as http:
        if auth:
            user = {"email": "bench@example.org", "password": "bench password"}
            async with http.post(f"{url}/users", json=user) as r:
                assert r.status == 201, await r.text()
            async with http.post(f"{url}/authentication", json={"strategy": "local", **user}) as r:
                creds["jwt"] = (await r.json())["accessToken"]
            async with http.post(f"{url}/api-keys", json={"name": "bench"},
                                 headers={"Authorization": f"Bearer {creds['jwt']}"}) as r:
                creds["api-key"] = (await r.json())["key"]
        headers = {"Authorization": f"Bearer {creds['jwt']}"} if auth else {}

        async def one(i: int) -> str:
            async with http.post(f"{url}/items", json={"group": f"g{i % 10}", "n": i}, headers=headers) as r:
                assert r.status == 201, await r.text()
                return str((await r.json())["_id"])

        return creds, list(await asyncio.gather(*(one(i) for i in range(RECORDS))))


def scripts(work: Path, name: str, ids: list[str], credential: str | None) -> dict[str, Path]:
    table = "{" + ",".join(f'"{i}"' for i in ids) + "}"
    head = f'local ids = {table}\nwrk.headers["Content-Type"] = "application/json"\n'
    if credential:
        head += f'wrk.headers["Authorization"] = "Bearer {credential}"\n'
    bodies = {
        "get": 'request = function() return wrk.format("GET", "/items/" .. ids[math.random(#ids)]) end',
        "find": 'request = function() return wrk.format("GET", "/items?group=g" .. math.random(0, 9)'
                ' .. "&%24limit=10") end',
        "create": 'request = function() return wrk.format("POST", "/items", nil, '
                  '\'{"group": "g\' .. math.random(0, 9) .. \'", "n": \' .. math.random(1, 1000000) .. \'}\') end',
    }
    out = {}
    for op, body in bodies.items():
        out[op] = work / f"{name}-{op}.lua"
        out[op].write_text(head + body + "\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    args = ap.parse_args()
    wrk = ensure_wrk()
    rates: dict[str, dict[str, float]] = {}
    cpu: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, config, credential in (("off", CONFIG, None), ("jwt", CONFIG + AUTH, "jwt"),
                                         ("api-key", CONFIG + AUTH, "api-key")):
            server = start(work, name, config)
            try:
                creds, ids = asyncio.run(prepare(server.url, credential is not None))
                lua = scripts(work, name, ids, creds.get(credential) if credential else None)
                runs = {op: run_wrk(wrk, server, path, args.duration) for op, path in lua.items()}
                rates[name] = {op: r for op, (r, _) in runs.items()}
                cpu[name] = {op: c for op, (_, c) in runs.items()}
            finally:
                server.stop()
    print(f"\nrequests/s, {args.duration} s per run, 64 connections (ratio to auth off; server CPU us/request)")
    print(f"{'operation':<10}" + "".join(f"{n:>30}" for n in rates))
    for op in rates["off"]:
        row = "".join(f"{rates[n][op]:>12.0f} ({rates[n][op] / rates['off'][op]:4.2f}x, {cpu[n][op]:5.0f} us)"
                      for n in rates)
        print(f"{op:<10}{row}")


if __name__ == "__main__":
    main()
