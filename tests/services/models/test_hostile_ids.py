"""A client-chosen document id never becomes a path: conversions work in their own folder."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import aiohttp

from services.models import ConversionManager
from tests.services.files.support import post_form
from tests.support.inprocess import running

from .test_lease_takeover import FakeConverter


def keras_zip() -> bytes:
    """A file shaped like a ``.keras`` archive (the fake converter never opens it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", '{"class_name": "Sequential", "config": {}}')
        zf.writestr("metadata.json", '{"keras_version": "3.15.1"}')
    return buf.getvalue()


async def test_a_traversing_document_id_stays_inside_the_work_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    async with running(data) as srv, aiohttp.ClientSession() as http:
        converter = FakeConverter()
        outputs: list[Path] = []

        async def convert(job):  # type: ignore[no-untyped-def]
            outputs.append(Path(job.output_dir))
            return await converter(job)

        manager = srv.app.extensions.get(ConversionManager)
        manager.converter = convert
        status, pairs = await post_form(http, f"{srv.url}/keras-models/upload", ("model.keras", "m.keras", keras_zip()))
        assert status == 200, pairs
        doc_id = "../../../../escape"
        async with http.post(f"{srv.url}/keras-models", json={"_id": doc_id, "name": "k", "files": pairs}) as r:
            assert r.status == 201, await r.text()
        await manager.wait_idle()
        doc = await srv.app.service("keras-models").get(doc_id)
        assert {t: c["status"] for t, c in doc["conversions"].items()} == {"tfjs": "done", "onnx": "done"}
        work = manager.work_dir.resolve()
        assert outputs and all(work in p.resolve().parents for p in outputs), outputs
    assert not list(tmp_path.rglob("escape*"))
