"""Conversion scratch folders when processes share a data dir: a start-up never wipes a live process's jobs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from backend.instances import instance_name, sweep


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_keeps_live_processes_and_removes_the_dead_and_the_stale(tmp_path: Path) -> None:
    host = socket.gethostname()
    folders = {
        "mine": instance_name(),
        "live": f"{host}-{os.getppid()}",  # another running process of this host
        "dead": f"{host}-{_dead_pid()}",
        "elsewhere": "other-host-7",  # a replica on another host, recently active
        "stale": "gone-host-9",  # a replica on another host, silent for two days
    }
    for name in folders.values():
        (tmp_path / name / "job").mkdir(parents=True)
    old = time.time() - 2 * 24 * 3600
    os.utime(tmp_path / folders["stale"], (old, old))
    removed = {p.name for p in sweep(tmp_path)}
    assert removed == {folders["dead"], folders["stale"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        folders[k] for k in ("mine", "live", "elsewhere"))
    assert sweep(tmp_path / "missing") == []
