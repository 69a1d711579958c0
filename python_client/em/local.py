"""The local side of runs and artifacts: their folders, files and timestamps.

A run's folder (``$EM_RUN_PARENT_DIR/<name>_<yymmdd_hhmmss>_<6 random>``) holds

* ``run.json``: everything but the metrics (rewritten whole, atomically, on each change);
* ``metrics.jsonl``: one line per ``Run.log`` call, appended and flushed to the OS (no fsync:
  a crash of the machine may lose the last lines, a crash of the script loses nothing);
* ``upload.json``: per server, how far the run was uploaded (:mod:`python_client.em.upload`).

An artifact's folder holds its objects at their object paths and ``.em_artifact.json``.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import time
from datetime import datetime
from pathlib import Path
from typing import Any

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
UPLOAD_FILE = "upload.json"
RUN_PARENT_ENV, RUN_PARENT_DEFAULT = "EM_RUN_PARENT_DIR", ".em/runs"
ARTIFACT_PARENT_ENV, ARTIFACT_PARENT_DEFAULT = "EM_ARTIFACT_PARENT_DIR", ".em/artifacts"
_ALPHABET = string.ascii_lowercase + string.digits


_second: tuple[int, str] = (-1, "")  # the last whole second formatted (now_iso runs on every log)


def now_iso() -> str:
    """The current time as ISO-8601 UTC with microseconds (``2026-12-04T17:30:35.123456Z``)."""
    global _second
    now = time.time()
    whole = int(now)
    cached = _second
    if cached[0] != whole:
        cached = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{cached[1]}.{int((now - whole) * 1e6):06d}Z"


_JSON_KEYS: dict[str, str] = {}  # metric names and types as JSON strings, made once each


def _json_key(key: str) -> str:
    text = _JSON_KEYS.get(key)
    if text is None:
        text = json.dumps(key, ensure_ascii=False)
        if len(_JSON_KEYS) < 10_000:
            _JSON_KEYS[key] = text
    return text


def metric_line(kind: str, step: int, epoch: int | None, timestamp: str, values: dict[str, int | float]) -> str:
    """One ``metrics.jsonl`` line, ``{"type", "step", "epoch", "timestamp", "metrics"}``: written by
    hand because it is on ``Run.log``'s hot path (the values are checked finite ints and floats,
    whose ``repr`` is their JSON)."""
    body = ",".join(f"{_json_key(k)}:{v!r}" for k, v in values.items())
    epoch_text = "null" if epoch is None else str(epoch)
    return (f'{{"type":{_json_key(kind)},"step":{step},"epoch":{epoch_text},"timestamp":"{timestamp}",'
            f'"metrics":{{{body}}}}}\n')


def alternative_name(name: str) -> str:
    """``<name>_<yymmdd_hhmmss>_<6 random>``: the local folder's name, and the name a resource is
    uploaded under with ``conflict_strategy="new"``."""
    stamp = datetime.now().strftime("%y%m%d_%H%M%S")
    return f"{name}_{stamp}_{''.join(secrets.choice(_ALPHABET) for _ in range(6))}"


def parent_dir(env: str, default: str) -> Path:
    """The parent folder named by ``env`` (``default`` when unset)."""
    return Path(os.environ.get(env) or default)


def new_folder(parent: Path, name: str) -> Path:
    """Create ``parent/name`` (and ``parent``); FileExistsError if it exists."""
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / name
    folder.mkdir()
    return folder


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file, then a rename; no fsync)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """The JSON in ``path`` (ValueError naming the file when it does not parse)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from exc


def read_lines(path: Path, offset: int = 0, max_bytes: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """The complete JSON lines of ``path`` from byte ``offset`` (at most about ``max_bytes``), and the
    offset after the last one read. A line still being written (no newline yet) is left for later."""
    if not path.exists():
        return [], offset
    with path.open("rb") as handle:
        handle.seek(offset)
        chunk = handle.read() if max_bytes is None else handle.read(max_bytes)
    end = chunk.rfind(b"\n")
    if end < 0:
        if max_bytes is not None and len(chunk) == max_bytes:  # one line longer than max_bytes
            return read_lines(path, offset, None)
        return [], offset
    body = chunk[:end + 1]
    return [json.loads(line) for line in body.splitlines() if line.strip()], offset + len(body)


class LineLog:
    """An append-only JSON-lines file, flushed to the OS after each line (the ``Run.log`` hot path)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("a", encoding="utf-8")

    def append(self, line: str) -> None:
        self._handle.write(line)
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()
