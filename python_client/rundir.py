"""A run's data in memory and on disk (``<base_log_dir>/<run folder>/run_data.json``), behind one lock.

The file is the run's record of truth: the Writer changes the data only through
:meth:`RunState.update`, which writes the file before returning, and everything the backend holds
is derived from it (by the background sender while training, by ``Uploader``/``plume sync``
later). Writes are atomic (a temporary file, then a rename), so a crash mid-write leaves the
previous version.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .utils import conform_dict

RUN_FILE = "run_data.json"
T = TypeVar("T")


def run_folder_name(start: str) -> str:
    """Marcelle's folder name for a run: its start date with ``:`` replaced (``2026-12-01T10-00-00``)."""
    return start.replace(":", "-")


def new_run_directory(base_log_dir: str | Path, start: str) -> Path:
    """Create a fresh folder for a run under ``base_log_dir`` (``_2``, ``_3``... when the second is taken)."""
    base = Path(base_log_dir)
    base.mkdir(parents=True, exist_ok=True)
    stem = run_folder_name(start)
    for n in range(1, 10_000):
        candidate = base / (stem if n == 1 else f"{stem}_{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"no free run folder for {stem} in {base}")


#: Set (True) in a run's data once the backend has accepted the run under its ``name``. A name
#: picked before that may be another run's by now: Marcelle's package names every run it keeps
#: offline ``<basename>-1``, and a name picked just before the backend went away is picked again by
#: the next run. A sync gives a run that is not on the backend and whose name is not confirmed a
#: fresh ``<basename>-<n>``.
NAME_CONFIRMED = "name_confirmed"


def apply_run_name(data: dict[str, Any], name: str) -> None:
    """Set the run's name, and name its checkpoints ``<run>@<epoch>``: those without a name yet, and
    those named after the run's previous name (``<old>@3`` becomes ``<name>@3``)."""
    old = data.get("name")
    data["name"] = name
    for checkpoint in data.get("checkpoints") or []:
        current = checkpoint.get("name")
        if not current:
            checkpoint["name"] = f"{name}@{checkpoint.get('metadata', {}).get('epoch')}"
        elif old and old != name and isinstance(current, str) and current.startswith(f"{old}@"):
            checkpoint["name"] = f"{name}@{current[len(old) + 1:]}"


class RunState:
    """The data of one run and its folder; thread-safe (the training thread and the sender share it)."""

    def __init__(self, directory: Path, data: dict[str, Any]) -> None:
        self.directory = Path(directory)
        self.data = data
        self.version = 0
        self._lock = threading.RLock()

    @property
    def path(self) -> Path:
        return self.directory / RUN_FILE

    @classmethod
    def load(cls, directory: str | Path) -> RunState:
        """The run kept in ``directory``.

        Raises:
            FileNotFoundError: there is no run there.
            ValueError: ``run_data.json`` is not a run (truncated, or lacking what finds the run).
        """
        directory = Path(directory)
        path = directory / RUN_FILE
        if not directory.is_dir() or not path.is_file():
            raise FileNotFoundError(f"{directory} is not a run directory (no {RUN_FILE})")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError: a file cut short by a crash?
            raise ValueError(f"{path} is not valid JSON ({exc})") from exc
        if not isinstance(data, dict) or "basename" not in data:
            raise ValueError(f"{path} does not hold a run (no basename)")
        if not data.get("_id") and not data.get("start"):
            raise ValueError(f"{path} has neither an _id nor a start date: its run cannot be looked up")
        for key in ("checkpoints", "assets"):
            if data.get(key) is None:
                data[key] = []
            elif not isinstance(data[key], list) or not all(isinstance(item, dict) for item in data[key]):
                raise ValueError(f"{path}: {key} is not a list of objects")
        return cls(directory, data)

    def update(self, change: Callable[[dict[str, Any]], T]) -> T:
        """Apply ``change(data)`` under the lock, write the file, and return what ``change`` returned."""
        with self._lock:
            result = change(self.data)
            self.data = conform_dict(self.data, default=str)
            self.version += 1
            self._write()
            return result

    def snapshot(self) -> tuple[int, dict[str, Any]]:
        """``(version, deep copy of the data)``."""
        with self._lock:
            return self.version, copy.deepcopy(self.data)

    def save(self) -> None:
        """Write the file (after building the state in memory)."""
        with self._lock:
            self._write()

    def _write(self) -> None:
        tmp = self.path.with_name(RUN_FILE + ".tmp")
        tmp.write_text(json.dumps(self.data, allow_nan=False, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)

    def resolve(self, local_path: str) -> Path:
        """A file the run refers to: as recorded, else by its name inside the run folder (moved folders)."""
        recorded = Path(local_path)
        if recorded.exists():
            return recorded
        return self.directory / recorded.name
