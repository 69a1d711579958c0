"""Scratch folders that stay safe when several processes share one data dir (conversions'
work folders, blob uploads in progress).

Each process works in ``<root>/<hostname>-<pid>``. At start a process sweeps the folders of the
processes of its own host that are gone (killed, say, in the middle of an upload), and any folder
left untouched for a day (a replica on another host that never came back); it never touches the
folder of a process that still runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

STALE_AFTER = 24 * 3600.0  # seconds without a change before anyone may remove a folder


def instance_name() -> str:
    """This process's folder name: ``<hostname>-<pid>``."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def sweep(root: Path, *, stale_after: float = STALE_AFTER) -> list[Path]:
    """Remove the folders under ``root`` that no running process owns; return them (blocking I/O)."""
    if not root.is_dir():
        return []
    host, now, removed = socket.gethostname(), time.time(), []
    for entry in root.iterdir():
        owner, _, pid = entry.name.rpartition("-")
        if entry.name == instance_name():
            continue
        dead = owner == host and pid.isdigit() and not _alive(int(pid))
        try:
            stale = now - entry.stat().st_mtime > stale_after
        except FileNotFoundError:
            continue
        if not (dead or stale):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
