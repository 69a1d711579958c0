"""A throwaway ``redis-server`` on a free loopback port (Debian's package; scripts/setup installs it)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .server import PlumeProcess, free_port

needs_redis = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server is not installed (Debian package redis-server; scripts/setup installs it)")


@contextmanager
def redis_server() -> Iterator[str]:
    """Yield ``redis://127.0.0.1:<port>/0`` while a private Redis runs (no persistence)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run scripts/setup --all")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def two_processes(tmp_path: Path, config: str | None = None) -> Iterator[tuple[PlumeProcess, PlumeProcess]]:
    """Two ``plume serve`` processes on one SQLite file, their events fanned out through a private Redis."""
    db = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    with redis_server() as redis:
        args = ["--redis", redis, "--database", db]
        with PlumeProcess(tmp_path / "a", args=args, config=config) as a, \
                PlumeProcess(tmp_path / "b", args=args, config=config) as b:
            yield a, b
