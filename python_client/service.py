"""``Service``: one service of a Plume backend, with the Feathers methods (sync flavour).

``params`` is Feathers' ``{"query": {...}}``. Methods return the server's result and raise the
typed error the server answered (:mod:`python_client.errors`); nothing is printed and swallowed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import Conflict
from .methods import EVENTS, rest_call
from .multipart import FilePart, MultipartBody
from .paging import DEFAULT_PAGE, PageCursor
from .subscriptions import Callback
from .utils import conform_dict

if TYPE_CHECKING:
    from .datastore import DataStore

Params = dict[str, Any] | None


class Service:
    """The methods of service ``path`` on a :class:`~python_client.DataStore`."""

    def __init__(self, store: DataStore, path: str, id_field: str = "_id") -> None:
        self.store = store
        self.path = path.strip("/")
        self.id_field = id_field

    @property
    def location(self) -> str:
        """The service's URL (Marcelle's attribute)."""
        return self.store.location + self.path

    # ------------------------------------------------------------------ the six methods
    def find(self, params: Params = None) -> Any:
        """Records matching ``params["query"]``: a page ``{total, limit, skip, data}`` (or a list)."""
        return self.store.http.call(rest_call("find", self.path, params=params))

    def get(self, id: Any, params: Params = None) -> Any:
        """The record ``id`` (NotFound if it does not exist or does not match the query)."""
        return self.store.http.call(rest_call("get", self.path, id, params=params))

    def create(self, data: Any, params: Params = None) -> Any:
        """Create one record (or several from a list) and return it.

        A create is repeated after a lost answer only when ``data`` carries its id: a repeat that
        answers 409 then means the first attempt created the record, which is fetched and returned.
        """
        data = conform_dict(data)
        record_id = data.get(self.id_field) if isinstance(data, dict) else None
        try:
            return self.store.http.call(rest_call("create", self.path, data=data, params=params,
                                                  id_field=self.id_field))
        except Conflict as exc:
            if record_id is not None and exc.attempts > 1:
                return self.get(record_id)
            raise

    def update(self, id: Any, data: Any, params: Params = None) -> Any:
        """Replace record ``id`` with ``data`` (the id is kept)."""
        return self.store.http.call(rest_call("update", self.path, id, conform_dict(data), params))

    def patch(self, id: Any, data: Any, params: Params = None) -> Any:
        """Merge ``data`` into record ``id`` (``id=None``: every record matching the query, never repeated)."""
        return self.store.http.call(rest_call("patch", self.path, id, conform_dict(data), params))

    def remove(self, id: Any, params: Params = None) -> Any:
        """Remove record ``id`` (``id=None``: every record matching the query, never repeated) and return it."""
        return self.store.http.call(rest_call("remove", self.path, id, params=params))

    def items(self, query: dict[str, Any] | None = None, *, page_size: int = DEFAULT_PAGE) -> Iterator[dict[str, Any]]:
        """Every record matching ``query``, in order, across pages (see :mod:`python_client.paging`)."""
        cursor = PageCursor(query, self.id_field, page_size)
        while not cursor.done:
            yield from cursor.accept(self.find({"query": cursor.next_query()}))

    # ------------------------------------------------------------------ files
    def upload(self, parts: list[FilePart]) -> Any:
        """``POST /<path>/upload`` (models, assets): the server's reply (file references)."""
        return self.store.http.upload(f"{self.path}/upload", lambda: MultipartBody(parts))

    def download(self, id: Any, filename: str, dest: str | Path) -> Path:
        """Save ``GET /<path>/<id>/<filename>`` to ``dest`` (a file path, or a folder to put it in)."""
        target = Path(dest)
        if target.is_dir():
            target = target / filename
        return self.store.http.download(f"{self.path}/{quote(str(id), safe='')}/{quote(filename, safe='')}", target)

    # ------------------------------------------------------------------ realtime
    def on(self, event: str, callback: Callback) -> Callback:
        """Call ``callback(record)`` on each ``event`` (``created``, ``updated``, ``patched``, ``removed``).

        Opens the DataStore's socket.io connection if needed (ConnectionFailed if it cannot) and
        returns once it is live. Callbacks run in the connection's thread. Returns ``callback``.
        """
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}: one of {', '.join(EVENTS)}")
        self.store.realtime.subscribe(self.path, event, callback)
        return callback

    def off(self, event: str, callback: Callback | None = None) -> None:
        """Stop calling ``callback`` (or every callback) on ``event``."""
        self.store.realtime.subscriptions.remove(self.path, event, callback)

    def __repr__(self) -> str:
        return f"Service({self.location!r})"
