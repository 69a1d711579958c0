"""Helpers for the registry's server tests: a REST client that uploads weights and makes versions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import aiohttp

from python_client.ids import object_id


@dataclass
class Answer:
    status: int
    body: Any


class Registry:
    """REST calls on the registry's services (``headers``: e.g. a bearer token)."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self.http = aiohttp.ClientSession(headers=headers)

    async def close(self) -> None:
        await self.http.close()

    async def __aenter__(self) -> Registry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(self, verb: str, path: str, body: Any = None, **kwargs: Any) -> Answer:
        async with self.http.request(verb, self.url + path, json=body, **kwargs) as resp:
            data = await resp.read()
            try:
                parsed: Any = await resp.json(content_type=None) if data else None
            except ValueError:
                parsed = data
            return Answer(resp.status, parsed)

    async def model(self, **fields: Any) -> dict[str, Any]:
        answer = await self.call("POST", "/models", {"name": "m", **fields})
        assert answer.status == 201, answer.body
        return answer.body  # type: ignore[no-any-return]

    async def upload(self, version_id: str, content: bytes, field: str = "w.bin", **extra: Any) -> Answer:
        form = aiohttp.FormData()
        form.add_field(field, content, filename=field, content_type="application/octet-stream")
        for name, value in extra.items():
            form.add_field(name, value, filename=name)
        async with self.http.post(f"{self.url}/model-versions/upload", params={"version": version_id},
                                  data=form) as resp:
            return Answer(resp.status, await resp.json(content_type=None))

    async def version(self, model_id: str, content: bytes = b"weights", field: str = "w.bin",
                      **fields: Any) -> Answer:
        """Upload ``content`` and create the version from it."""
        version_id = object_id()
        up = await self.upload(version_id, content, field)
        if up.status != 200:
            return up
        return await self.call("POST", "/model-versions",
                               {"_id": version_id, "model": model_id, "ref": up.body["ref"], **fields})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
