"""The asyncio shell of the client: ``AsyncDataStore`` and ``AsyncService``, same API as the sync one.

    async with AsyncDataStore("http://localhost:3030") as store:
        runs = store.service("runs")
        await runs.on("patched", lambda run: print(run["name"], run["status"]))
        page = await runs.find({"query": {"$limit": 5}})
        async for run in runs.items({"basename": "mnist"}):
            ...

The six methods come from the method table, as the sync :class:`python_client.Service`'s do
(:func:`python_client.servicebase.install_methods`), and both shells share one core (requests,
retries, paging, the realtime state machine): only the I/O differs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any

from . import exchange
from .aio_http import AsyncHttpClient
from .aio_realtime import AsyncRealtime
from .errors import PlumeError
from .multipart import FilePart
from .paging import DEFAULT_PAGE, PageCursor
from .servicebase import Call, ServiceBase, install_methods
from .storebase import StoreBase
from .subscriptions import Callback


class AsyncService(ServiceBase):
    """The methods of service ``path`` on an :class:`AsyncDataStore` (see :class:`python_client.Service`)."""

    store: AsyncDataStore

    async def _send(self, call: Call) -> Any:
        try:
            return await self.store.http.call(call.rest)
        except PlumeError as exc:
            instead = call.recovery(exc)
            if instead is None:
                raise
            return await self.store.http.call(instead)

    async def items(self, query: dict[str, Any] | None = None, *,
                    page_size: int = DEFAULT_PAGE) -> AsyncIterator[dict[str, Any]]:
        """Every record matching ``query``, in order, across pages (see :mod:`python_client.paging`)."""
        cursor = PageCursor(query, self.id_field, page_size)
        while not cursor.done:
            for record in cursor.accept(await self.find({"query": cursor.next_query()})):  # type: ignore[attr-defined]
                yield record

    async def upload(self, parts: list[FilePart]) -> Any:
        """``POST /<path>/upload``: the server's reply (file references)."""
        return await self.store.http.send(exchange.upload(self.upload_path, parts))

    async def download(self, id: Any, filename: str, dest: str | Path) -> Path:
        """Save ``GET /<path>/<id>/<filename>`` to ``dest`` (a file path, or a folder to put it in)."""
        return await self.store.http.download(self.file_path(id, filename), self.download_target(dest, filename))

    async def on(self, event: str, callback: Callback) -> Callback:
        """Call ``callback(record)`` (a function or coroutine function) on each ``event``; returns it.

        Raises as :meth:`python_client.Service.on` does (ConnectionFailed, NotAuthenticated, NoPlumeServer).
        """
        event = self.checked_event(event)
        if not self.store.http.probe.confirmed:
            await self.store.http.info()
        await self.store.realtime.subscribe(self.path, event, callback)
        return callback


install_methods(AsyncService, asynchronous=True)


class AsyncDataStore(StoreBase[AsyncService]):
    """Access to the services of the backend at ``location`` from asyncio code.

    Same arguments as :class:`python_client.DataStore`. Use ``async with``, or ``await close()``.
    """

    service_class = AsyncService
    http_class = AsyncHttpClient
    realtime_class = AsyncRealtime
    http: AsyncHttpClient
    _realtime: AsyncRealtime | None

    async def login(self, email: str, password: str) -> dict[str, Any]:
        """Authenticate with the local strategy; returns ``{accessToken, authentication, user}``."""
        result = self.logged_in(await self.http.call(self.login_call(email, password)))
        if self._realtime is not None:
            await self._realtime.reauthenticate()
        return result

    async def logout(self) -> None:
        """Forget the access token (and log the realtime connection out)."""
        if self._realtime is not None:
            await self._realtime.logout()
        self.logged_out()

    async def info(self) -> dict[str, Any]:
        """``GET /info``: the services the backend has (NoPlumeServer when the URL is not a Plume server's)."""
        return await self.http.info()

    async def close(self) -> None:
        """Close the HTTP session and the realtime connection."""
        if self._realtime is not None:
            await self._realtime.close()
        await self.http.close()

    async def __aenter__(self) -> AsyncDataStore:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
