"""Fixtures: a server per (adapter, transport), with the options the suite needs."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backend.storage import Storage
from tests.conformance.adapters import ADAPTER_URLS
from tests.conformance.clients import RestClient, SocketClient
from tests.support.inprocess import running

CONFIG = """
[services.multi]
multi = true
[services.patchonly]
multi = ["patch", "remove"]
[services.flat]
paginate = false
[services.small]
paginate = { default = 2, max = 3 }
[services.nototal]
paginate = { default = 2, max = 10, total = false }
[services.custom]
id = "id"
[services.typed]
schema = "typed"
[services.indexed]
indexes = ["name", "age", "v", ["createdAt", -1]]  # SQLite answers from expression indexes
"""

TYPED_SCHEMA = {
    "type": "object",
    "properties": {"n": {"type": "integer"}, "x": {"type": "number"}, "ok": {"type": "boolean"},
                   "s": {"type": "string"}},
    "required": ["n"],
}


@pytest.fixture(params=ADAPTER_URLS, ids=lambda u: u.split(":")[0])
def adapter_url(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["rest", "socketio"])
async def client(request: pytest.FixtureRequest, tmp_path: Path, adapter_url: str) -> AsyncIterator[Any]:
    """A client over one transport, to a fresh server on one adapter."""
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "typed.json").write_text(json.dumps(TYPED_SCHEMA))
    overrides: dict[str, Any] = {"schemas_dir": str(schemas)}
    if adapter_url.startswith(("mongodb:", "mongodb+srv:")):
        # A real server keeps data between tests: one fresh database per test, dropped after.
        base = adapter_url.split("?")[0].rsplit("/", 1)[0]
        overrides["database"] = f"{base}/plume_test_{uuid.uuid4().hex[:12]}"
    elif adapter_url != "sqlite":
        overrides["database"] = adapter_url
    async with running(tmp_path, config=CONFIG, **overrides) as srv:
        c: Any = RestClient(srv.url) if request.param == "rest" else await SocketClient(srv.url).connect()
        c.server = srv
        try:
            yield c
        finally:
            await c.close()
            if adapter_url.startswith(("mongodb:", "mongodb+srv:")):
                storage: Any = srv.app.extensions.get(Storage)
                await storage.client.drop_database(storage.db.name)
