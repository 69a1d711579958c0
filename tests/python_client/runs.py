"""Comparing runs: what must be equal between a connected run and the same run synced later."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SERVER_FIELDS = ("createdAt", "updatedAt")


def without_server_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """A document as its writer sent it (no server timestamps)."""
    return {k: v for k, v in doc.items() if k not in SERVER_FIELDS}


def on_disk(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "run_data.json").read_text())  # type: ignore[no-any-return]


def comparable(run: dict[str, Any]) -> dict[str, Any]:
    """A run with what differs between two trainings of the same thing taken out: ids, dates, folders,
    upload folder ids. Names, statuses, epochs, params, logs' shape, model description, checkpoint
    names/services/epochs/formats and asset names stay."""
    out = without_server_fields(run)
    out.pop("_id", None)
    out.pop("start", None)
    out["logs"] = {k: len(v) for k, v in (run.get("logs") or {}).items()}
    out["checkpoints"] = [
        {**{k: v for k, v in c.items() if k != "id"},
         "metadata": {**c["metadata"], "local_path": Path(c["metadata"]["local_path"]).name}}
        for c in run.get("checkpoints", [])
    ]
    out["assets"] = [
        {**{k: v for k, v in a.items() if k not in ("id", "url", "local_path")}, "url": bool(a.get("url"))}
        for a in run.get("assets", [])
    ]
    return out
