"""Fixtures for the serving client: a ``plume serve`` subprocess with a few endpoints on ONNX models."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import python_client
from python_client import DataStore, FilePart
from python_client.serving import ModelEndPoint
from tests.services.serving import onnx_models
from tests.support.server import PlumeProcess

CONFIG = """
[serving]
result_ttl = 3600
"""


def upload_onnx(store: DataStore, path: Path, name: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """An ``onnx-models`` document for the file at ``path``."""
    service = store.service("onnx-models")
    files = service.upload([FilePart.of(path, field="model.onnx")])
    return service.create({"name": name, "format": "onnx", "files": files, "metadata": metadata or {}})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server with endpoints ``mlp`` (labels a/b/c), ``top`` (the MLP, top_n 2), ``cnn``, ``two``,
    ``text`` and ``sparse``; the default connection points at it. ``{"server", "files", "docs"}``."""
    tmp = tmp_path_factory.mktemp("serving")
    files = {"mlp": onnx_models.mlp(tmp / "mlp.onnx"), "cnn": onnx_models.cnn(tmp / "cnn.onnx"),
             "two": onnx_models.two_inputs(tmp / "two.onnx"), "text": onnx_models.text(tmp / "text.onnx"),
             "sparse": onnx_models.sparse_sum(tmp / "sparse.onnx")}
    with PlumeProcess(tmp / "server", config=CONFIG) as srv:
        store = python_client.connect(srv.url)
        docs = {key: upload_onnx(store, path, key, {"labels": ["a", "b", "c"]} if key == "mlp" else None)
                for key, path in files.items()}
        for key, doc in docs.items():
            ModelEndPoint.create(doc, key, f"the {key} model", 1, False)
        ModelEndPoint.create(f"onnx-models/{docs['mlp']['_id']}", "top", "ranked", 1, False, top_n=2)
        try:
            yield {"server": srv, "files": files, "docs": docs}
        finally:
            python_client.disconnect()


class Answers:
    """``serving-results created`` events as they arrive: wait for a uri's answer without polling."""

    def __init__(self, store: DataStore) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._cond = threading.Condition()
        store.service("serving-results").on("created", self._record)

    def _record(self, doc: dict[str, Any]) -> None:
        with self._cond:
            self._seen.add((doc["endpoint"], doc["uri"]))
            self._cond.notify_all()

    def wait(self, endpoint: str, uri: str, timeout: float = 30) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: (endpoint, uri) in self._seen, timeout), f"no answer to {uri}"


@pytest.fixture(scope="module")
def answers(served: dict[str, Any]) -> Answers:
    return Answers(python_client.default_store())
