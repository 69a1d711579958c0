"""A run's files for the dashboard tests: an ONNX checkpoint and an artifact, stored through the
Python client, and their downloads from the run page compared byte for byte."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from python_client import DataStore, FilePart, Remote
from tests.support.model_files import tiny_onnx


@dataclass
class RunFiles:
    """The local files and the documents that hold them on the server."""

    model: Path
    weights: Path
    sha256: str
    checkpoint: dict[str, Any]
    artifact: dict[str, Any]


def store_run_files(url: str, store: DataStore, folder: Path, tag: str, payload: bytes,
                    *extra_objects: dict[str, Any]) -> RunFiles:
    """Upload checkpoint ``<tag>@1`` and artifact ``weights`` (``ckpt/weights.bin`` = ``payload``)."""
    model = folder / "checkpoint.onnx"
    model.write_bytes(tiny_onnx(tag))
    checkpoint = Remote(url, store=store).upload_onnx_model(model, name=f"{tag}@1")
    weights = folder / "weights.bin"
    weights.write_bytes(payload)
    sha = hashlib.sha256(payload).hexdigest()
    store.service("artifacts").upload([FilePart.of(weights, field=sha)])
    artifact = store.service("artifacts").create({"name": "weights", "folder": "default", "objects": [
        {"path": "ckpt/weights.bin", "size": len(payload), "sha256": sha}, *extra_objects]})
    return RunFiles(model, weights, sha, checkpoint, artifact)


def download_both(page: Page, files: RunFiles, folder: Path) -> None:
    """Click the run page's two download buttons; each saved file equals the one uploaded."""
    for button, expected in (("Download checkpoint.onnx", files.model), ("Download weights.bin", files.weights)):
        with page.expect_download() as info:
            page.get_by_role("button", name=button).click()
        saved = folder / f"saved-{expected.name}"
        info.value.save_as(saved)
        assert saved.read_bytes() == expected.read_bytes(), button
