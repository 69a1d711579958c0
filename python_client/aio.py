"""The asyncio flavour of the client: ``AsyncDataStore`` and ``AsyncService``, same API as the sync one.

    async with AsyncDataStore("http://localhost:3030") as store:
        runs = store.service("runs")
        await runs.on("patched", lambda run: print(run["name"], run["status"]))
        page = await runs.find({"query": {"$limit": 5}})
        async for run in runs.items({"basename": "mnist"}):
            ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from .aio_http import AsyncHttpClient
from .aio_realtime import AsyncRealtime
from .auth import AUTH_PATH, Credentials, login_body, token_of
from .datastore import DEFAULT_LOCATION, DEFAULT_TIMEOUT
from .errors import Conflict
from .methods import EVENTS, rest_call
from .multipart import FilePart
from .paging import DEFAULT_PAGE, PageCursor
from .retry import RetryPolicy
from .subscriptions import Callback
from .utils import conform_dict

Params = dict[str, Any] | None


class AsyncService:
    """The methods of service ``path`` on an :class:`AsyncDataStore` (see :class:`python_client.Service`)."""

    def __init__(self, store: AsyncDataStore, path: str, id_field: str = "_id") -> None:
        self.store = store
        self.path = path.strip("/")
        self.id_field = id_field

    @property
    def location(self) -> str:
        return self.store.location + self.path

    async def find(self, params: Params = None) -> Any:
        """Records matching ``params["query"]``: a page ``{total, limit, skip, data}`` (or a list)."""
        return await self.store.http.call(rest_call("find", self.path, params=params))

    async def get(self, id: Any, params: Params = None) -> Any:
        """The record ``id``."""
        return await self.store.http.call(rest_call("get", self.path, id, params=params))

    async def create(self, data: Any, params: Params = None) -> Any:
        """Create a record; repeated after a lost answer only when ``data`` carries its id."""
        data = conform_dict(data)
        record_id = data.get(self.id_field) if isinstance(data, dict) else None
        try:
            return await self.store.http.call(rest_call("create", self.path, data=data, params=params,
                                                        id_field=self.id_field))
        except Conflict as exc:
            if record_id is not None and exc.attempts > 1:
                return await self.get(record_id)
            raise

    async def update(self, id: Any, data: Any, params: Params = None) -> Any:
        """Replace record ``id`` with ``data``."""
        return await self.store.http.call(rest_call("update", self.path, id, conform_dict(data), params))

    async def patch(self, id: Any, data: Any, params: Params = None) -> Any:
        """Merge ``data`` into record ``id`` (``None``: every record matching the query, never repeated)."""
        return await self.store.http.call(rest_call("patch", self.path, id, conform_dict(data), params))

    async def remove(self, id: Any, params: Params = None) -> Any:
        """Remove record ``id`` (``None``: every record matching the query, never repeated)."""
        return await self.store.http.call(rest_call("remove", self.path, id, params=params))

    async def items(self, query: dict[str, Any] | None = None, *,
                    page_size: int = DEFAULT_PAGE) -> AsyncIterator[dict[str, Any]]:
        """Every record matching ``query``, in order, across pages."""
        cursor = PageCursor(query, self.id_field, page_size)
        while not cursor.done:
            for record in cursor.accept(await self.find({"query": cursor.next_query()})):
                yield record

    async def upload(self, parts: list[FilePart]) -> Any:
        """``POST /<path>/upload``: the server's reply (file references)."""
        return await self.store.http.upload(f"{self.path}/upload", parts)

    async def download(self, id: Any, filename: str, dest: str | Path) -> Path:
        """Save ``GET /<path>/<id>/<filename>`` to ``dest`` (a file path, or a folder)."""
        target = Path(dest)
        if target.is_dir():
            target = target / filename
        return await self.store.http.download(f"{self.path}/{quote(str(id), safe='')}/{quote(filename, safe='')}",
                                              target)

    async def on(self, event: str, callback: Callback) -> Callback:
        """Call ``callback(record)`` (a function or coroutine function) on each ``event``; returns it."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}: one of {', '.join(EVENTS)}")
        await self.store.realtime.subscribe(self.path, event, callback)
        return callback

    def off(self, event: str, callback: Callback | None = None) -> None:
        """Stop calling ``callback`` (or every callback) on ``event``."""
        self.store.realtime.subscriptions.remove(self.path, event, callback)

    def __repr__(self) -> str:
        return f"AsyncService({self.location!r})"


class AsyncDataStore:
    """Access to the services of the backend at ``location`` from asyncio code.

    Same arguments as :class:`python_client.DataStore`. Use ``async with``, or ``await close()``.
    """

    def __init__(self, location: str = DEFAULT_LOCATION, api_key: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT, retry: RetryPolicy | None = None) -> None:
        self.location = location.rstrip("/") + "/"
        self.credentials = Credentials(api_key)
        self.http = AsyncHttpClient(self.location, self.credentials, timeout, retry or RetryPolicy())
        self._realtime: AsyncRealtime | None = None
        self.user: dict[str, Any] | None = None

    def service(self, name: str, id_field: str = "_id") -> AsyncService:
        """The service at path ``name``."""
        return AsyncService(self, name, id_field)

    @property
    def realtime(self) -> AsyncRealtime:
        if self._realtime is None:
            self._realtime = AsyncRealtime(self.location, self.credentials, self.http.timeout)
        return self._realtime

    async def login(self, email: str, password: str) -> dict[str, Any]:
        """Authenticate with the local strategy; returns ``{accessToken, authentication, user}``."""
        result = await self.http.call(rest_call("create", AUTH_PATH, data=login_body(email, password)))
        self.credentials.set_token(token_of(result))
        self.user = result.get("user")
        if self._realtime is not None:
            await self._realtime.reauthenticate()
        return result  # type: ignore[no-any-return]

    async def logout(self) -> None:
        """Forget the access token (and log the realtime connection out)."""
        if self._realtime is not None:
            await self._realtime.logout()
        self.credentials.set_token(None)
        self.user = None

    @property
    def access_token(self) -> str | None:
        return self.credentials.access_token

    async def info(self) -> dict[str, Any]:
        """``GET /info``."""
        return await self.http.request("GET", "info", repeatable=True)  # type: ignore[no-any-return]

    async def close(self) -> None:
        if self._realtime is not None:
            await self._realtime.close()
        await self.http.close()

    async def __aenter__(self) -> AsyncDataStore:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncDataStore({self.location!r})"
