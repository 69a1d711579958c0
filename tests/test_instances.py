"""Conversion scratch folders when processes share a data dir: a start-up never wipes a live process's jobs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from backend.instances import instance_name, sweep
from tests.support.inprocess import running


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
    assert sweep(tmp_path) == []  # this process's start: its own folder there is its own from now on
    for name in folders.values():
        (tmp_path / name / "job").mkdir(parents=True)
    old = time.time() - 2 * 24 * 3600
    os.utime(tmp_path / folders["stale"], (old, old))
    removed = {p.name for p in sweep(tmp_path)}
    assert removed == {folders["dead"], folders["stale"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        folders[k] for k in ("mine", "live", "elsewhere"))
    assert sweep(tmp_path / "missing") == []


def test_the_first_sweep_empties_a_predecessors_folder_of_the_same_name(tmp_path: Path) -> None:
    """A container restarted in place has the same hostname and pid (PID 1): the folder named
    after this process is a predecessor's at start, and its leftovers go; later sweeps (this
    process's own work in progress by then) keep it."""
    own = tmp_path / instance_name()
    own.mkdir()
    (own / ".plume-upload-left-by-a-kill").write_bytes(b"x")
    assert [p.name for p in sweep(tmp_path)] == [instance_name()]
    assert not own.exists()
    own.mkdir()
    (own / "in-progress").write_bytes(b"y")
    assert sweep(tmp_path) == []
    assert (own / "in-progress").exists()


async def test_a_server_starting_empties_the_folders_named_after_it(tmp_path: Path) -> None:
    """What a restarted container (same hostname, PID 1) finds: its predecessor's upload, upload
    check and conversion folders under its own name. Starting removes them all."""
    data = tmp_path / "data"
    leftovers = [data / "files" / ".plume-tmp" / instance_name() / ".plume-upload-x",
                 data / "tmp" / "uploads" / instance_name() / "copy",
                 data / "tmp" / "conversion" / instance_name() / "job" / "model.keras"]
    for path in leftovers:
        path.parent.mkdir(parents=True)
        path.write_bytes(b"left by a kill")
    async with running(data):
        assert [p for p in leftovers if p.parent.exists()] == []
