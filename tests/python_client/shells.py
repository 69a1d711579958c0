"""Both client shells behind one awaitable face, so that one test body exercises each.

The ``shell`` fixture (``conftest.py``) is parametrized over ``"sync"`` and ``"async"``. A test
opens stores with ``shell.store(url, ...)`` and awaits every call::

    async with shell.store(server.url) as store:
        people = store.service("people")
        ann = await people.create({"name": "Ann"})
        names = [p["name"] for p in await people.items({"$sort": {"name": 1}})]

The async shell's coroutines are awaited as they are; the sync shell's calls run in a worker
thread (``asyncio.to_thread``), so the test's event loop, and an in-process server in it, keep
running meanwhile. Realtime callbacks of the sync shell run in its socket.io thread: an
:class:`Inbox` collects events from any thread and lets the test wait for a condition on them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from python_client import AsyncDataStore, DataStore


class Shell:
    """One flavour of the client (``kind`` is ``"sync"`` or ``"async"``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.asynchronous = kind == "async"

    def store(self, url: str, *args: Any, **kwargs: Any) -> StoreFace:
        """A DataStore or AsyncDataStore, to use with ``async with``."""
        cls = AsyncDataStore if self.asynchronous else DataStore
        return StoreFace(self, cls(url, *args, **kwargs))

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn``: awaited (async shell) or in a worker thread (sync shell)."""
        if self.asynchronous:
            return await fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    def __repr__(self) -> str:
        return self.kind


class Face:
    """Awaitable access to the methods of ``raw`` (a store or a service of either shell)."""

    awaited: frozenset[str] = frozenset()

    def __init__(self, shell: Shell, raw: Any) -> None:
        self.shell = shell
        self.raw = raw

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.raw, name)
        if name not in self.awaited:
            return value

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self.shell.run(value, *args, **kwargs)
        return call


class StoreFace(Face):
    awaited = frozenset({"login", "logout", "info", "close"})

    def service(self, name: str, id_field: str = "_id") -> ServiceFace:
        return ServiceFace(self.shell, self.raw.service(name, id_field))

    async def __aenter__(self) -> StoreFace:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class ServiceFace(Face):
    awaited = frozenset({"find", "get", "create", "update", "patch", "remove", "upload", "download", "on"})

    async def items(self, query: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        """Every record ``items()`` yields, as a list."""
        if self.shell.asynchronous:
            return [record async for record in self.raw.items(query, **kwargs)]
        return await asyncio.to_thread(lambda: list(self.raw.items(query, **kwargs)))

    async def walk(self, query: dict[str, Any] | None, page_size: int,
                   between: Callable[[list[Any]], Any]) -> list[Any]:
        """Walk ``items()`` and await ``between(seen)`` after each record (to change pages meanwhile)."""
        seen: list[Any] = []
        if self.shell.asynchronous:
            async for record in self.raw.items(query, page_size=page_size):
                seen.append(record)
                await between(seen)
            return seen
        iterator = iter(self.raw.items(query, page_size=page_size))
        while (record := await asyncio.to_thread(next, iterator, None)) is not None:
            seen.append(record)
            await between(seen)
        return seen


class Inbox:
    """Events collected from any thread; the test awaits conditions on them."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._thread = threading.get_ident()

    def add(self, item: Any) -> None:
        if threading.get_ident() == self._thread:
            self._add(item)
        else:
            self._loop.call_soon_threadsafe(self._add, item)

    def _add(self, item: Any) -> None:
        self.items.append(item)
        self._changed.set()

    def collect(self, label: str, key: str | None = "_id") -> Callable[[Any], None]:
        """A callback that adds ``(label, record[key])`` (or ``(label, record)`` when ``key`` is None)."""
        return lambda record: self.add((label, record if key is None else record[key]))

    async def until(self, check: Callable[[list[Any]], bool], timeout: float = 20.0) -> list[Any]:
        """Wait until ``check(items)`` holds (TimeoutError after ``timeout``: a guard against a hang, not a bound)."""
        async with asyncio.timeout(timeout):
            while not check(self.items):
                self._changed.clear()
                await self._changed.wait()
        return self.items


def png(path: Path, size: int = 1024) -> Path:
    """A small PNG-looking file."""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (size // 256))
    return path


async def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait until ``check()`` holds, for state no event announces (TimeoutError after ``timeout``)."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)
