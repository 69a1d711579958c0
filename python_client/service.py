"""``Service``: one service of a Plume backend, with the Feathers methods (sync shell).

``params`` is Feathers' ``{"query": {...}}``. Methods return the server's result and raise the
typed error the server answered (:mod:`python_client.errors`); nothing is printed and swallowed.
``find``, ``get``, ``create``, ``update``, ``patch`` and ``remove`` come from the method table
(:func:`python_client.servicebase.install_methods`); :class:`python_client.AsyncService` has the
same ones as coroutines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import exchange
from .errors import PlumeError
from .multipart import FilePart
from .paging import DEFAULT_PAGE, PageCursor
from .servicebase import Call, ServiceBase, install_methods
from .subscriptions import Callback

if TYPE_CHECKING:
    from .datastore import DataStore


class Service(ServiceBase):
    """The methods of service ``path`` on a :class:`~python_client.DataStore`."""

    store: DataStore

    def _send(self, call: Call) -> Any:
        try:
            return self.store.http.call(call.rest)
        except PlumeError as exc:
            instead = call.recovery(exc)
            if instead is None:
                raise
            return self.store.http.call(instead)

    def items(self, query: dict[str, Any] | None = None, *, page_size: int = DEFAULT_PAGE) -> Iterator[dict[str, Any]]:
        """Every record matching ``query``, in order, across pages (see :mod:`python_client.paging`)."""
        cursor = PageCursor(query, self.id_field, page_size)
        while not cursor.done:
            yield from cursor.accept(self.find({"query": cursor.next_query()}))  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ files
    def upload(self, parts: list[FilePart]) -> Any:
        """``POST /<path>/upload`` (models, assets): the server's reply (file references)."""
        return self.store.http.send(exchange.upload(self.upload_path, parts))

    def download(self, id: Any, filename: str, dest: str | Path) -> Path:
        """Save ``GET /<path>/<id>/<filename>`` to ``dest`` (a file path, or a folder to put it in)."""
        return self.store.http.download(self.file_path(id, filename), self.download_target(dest, filename))

    # ------------------------------------------------------------------ realtime
    def on(self, event: str, callback: Callback) -> Callback:
        """Call ``callback(record)`` on each ``event`` (``created``, ``updated``, ``patched``, ``removed``).

        Opens the DataStore's socket.io connection if needed and returns once it is live (and
        logged in, when the server has authentication on and the DataStore has credentials).
        Callbacks run in the connection's thread. Returns ``callback``.

        Raises:
            ConnectionFailed: the connection cannot be opened.
            NotAuthenticated: the server refused the API key or token.
            NoPlumeServer: the DataStore's URL is not a Plume server's.
        """
        event = self.checked_event(event)
        if not self.store.http.probe.confirmed:
            self.store.http.info()
        self.store.realtime.subscribe(self.path, event, callback)
        return callback


install_methods(Service)
