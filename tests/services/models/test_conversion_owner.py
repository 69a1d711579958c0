"""With authentication on, the TF.js and ONNX models made from a Keras model belong to its owner."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.auth.support import auth_server
from tests.services.files.support import form
from tests.services.files.test_ownership import call, headers


async def test_conversion_outputs_belong_to_the_owner(tmp_path: Path, models: dict[str, Any]) -> None:
    """The TF.js and ONNX models made from A's Keras model are A's (and as public as it is)."""
    path = Path(models["k3_dense"]["file"])
    async with auth_server(tmp_path) as (srv, actors), aiohttp.ClientSession() as http:
        a, b = actors["editorA"], actors["editorB"]
        async with http.post(f"{srv.url}/keras-models/upload", headers=headers(a),
                             data=form(("model.keras", path.name, path.read_bytes()))) as r:
            pairs = await r.json()
        status, doc = await call(http, "POST", f"{srv.url}/keras-models", a, {"name": "k", "files": pairs})
        assert status == 201
        for _ in range(600):
            status, current = await call(http, "GET", f"{srv.url}/keras-models/{doc['_id']}", a)
            if all(c["status"] in ("done", "error") for c in current["conversions"].values()):
                break
            await asyncio.sleep(0.2)
        assert {t: c["status"] for t, c in current["conversions"].items()} == {"tfjs": "done", "onnx": "done"}
        for target, service in (("tfjs", "tfjs-models"), ("onnx", "onnx-models")):
            url = f"{srv.url}/{service}/{current['conversions'][target]['modelId']}"
            status, output = await call(http, "GET", url, a)
            assert status == 200 and output["userId"] == a.id and output["source"] == doc["_id"]
            assert (await call(http, "GET", url, b))[0] == 404
