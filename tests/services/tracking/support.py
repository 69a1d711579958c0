"""Plain HTTP calls to a running server, answering ``(status, JSON body)`` (failures included)."""

from __future__ import annotations

from typing import Any

import aiohttp


class Http:
    """An aiohttp session to ``url``, optionally with a bearer token."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str | None = None) -> None:
        self.session = session
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def __call__(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                       data: Any = None) -> tuple[int, Any]:
        headers = dict(self.headers)
        kwargs: dict[str, Any] = {"json": body} if raw is None and data is None else {"data": raw or data}
        if raw is not None:
            headers["Content-Type"] = "application/json"
        async with self.session.request(method, f"{self.url}{path}", headers=headers, **kwargs) as r:
            return r.status, await r.json(content_type=None) if r.content_type == "application/json" else await r.read()

    def as_user(self, token: str | None) -> Http:
        return Http(self.session, self.url, token)


async def new_run(http: Http, **fields: Any) -> dict[str, Any]:
    """A run created over REST (201 checked)."""
    status, run = await http("POST", "/runs", {"name": "r", **fields})
    assert status == 201, run
    return run  # type: ignore[no-any-return]


def points(run: str, n: int, *, kind: str = "train", key: str = "loss", start: int = 0,
           value: Any = None) -> list[dict[str, Any]]:
    """``n`` points of one series (value 1/(step+1) unless given)."""
    return [{"run": run, "type": kind, "key": key, "step": s, "epoch": s // 10,
             "value": (1 / (s + 1)) if value is None else value, "timestamp": f"t{s}"}
            for s in range(start, start + n)]
