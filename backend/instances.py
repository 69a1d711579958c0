"""Scratch folders that stay safe when several processes share one data dir (conversions'
work folders, blob uploads in progress).

Each process works in ``<root>/<hostname>-<pid>``. At start a process sweeps the folders of the
processes of its own host that are gone (killed, say, in the middle of an upload), and any folder
left untouched for a day (a replica on another host that never came back); it never touches the
folder of another process that still runs.

Its own folder goes too, the first time it sweeps a root: nothing of this process can be in it
yet, and a folder of that name is a predecessor's. A container restarted in place has the same
hostname and, as PID 1, the same pid, so it would otherwise keep its predecessor's leftovers
(uploads cut short by a kill) forever.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

STALE_AFTER = 24 * 3600.0  # seconds without a change before anyone may remove a folder
_claimed: set[Path] = set()  # roots this process has swept: its folder there is its own since


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
    """Remove the folders under ``root`` that no running process owns (this process's own too, the
    first time it sweeps ``root``: a predecessor's of the same name); return them (blocking I/O)."""
    if not root.is_dir():
        return []
    host, now, removed, own = socket.gethostname(), time.time(), [], instance_name()
    first = root.resolve() not in _claimed  # this process's start, for this root
    _claimed.add(root.resolve())
    for entry in root.iterdir():
        owner, _, pid = entry.name.rpartition("-")
        if entry.name == own and not first:
            continue  # this process's work in progress
        dead = entry.name == own or (owner == host and pid.isdigit() and not _alive(int(pid)))
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
