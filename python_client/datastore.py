"""``DataStore``: a connection to a Plume (or Marcelle) backend, sync shell."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from .http import HttpClient
from .realtime import Realtime
from .service import Service
from .storebase import DEFAULT_LOCATION, DEFAULT_TIMEOUT, StoreBase

__all__ = ["DEFAULT_LOCATION", "DEFAULT_TIMEOUT", "DataStore"]


class DataStore(StoreBase[Service]):
    """Access to the services of the backend at ``location``.

    Args:
        location: The backend's URL.
        api_key: Sent as ``Authorization: Bearer <key>`` (and over socket.io when the server has
            authentication on); defaults to the ``PLUME_API_KEY`` environment variable.
        timeout: Seconds to connect, and to wait for an answer, on every call.
        retry: When and how often failed calls are repeated (see :mod:`python_client.retry`).

    Use it as a context manager, or call :meth:`close`, to release its connections.
    """

    service_class = Service
    http_class = HttpClient
    realtime_class = Realtime
    http: HttpClient
    _realtime: Realtime | None

    # ------------------------------------------------------------------ authentication
    def login(self, email: str, password: str) -> dict[str, Any]:
        """Authenticate with the local strategy; later calls carry the access token.

        Returns the server's ``{accessToken, authentication, user}``. Raises NotAuthenticated when
        the credentials are refused.
        """
        result = self.logged_in(self.http.call(self.login_call(email, password)))
        if self._realtime is not None:
            self._realtime.reauthenticate()
        return result

    def logout(self) -> None:
        """Forget the access token (and log the realtime connection out)."""
        if self._realtime is not None:
            self._realtime.logout()
        self.logged_out()

    # ------------------------------------------------------------------ lifecycle
    def info(self) -> dict[str, Any]:
        """``GET /info``: the services the backend has (NoPlumeServer when the URL is not a Plume server's)."""
        return self.http.info()

    def close(self) -> None:
        """Close the HTTP session and the realtime connection."""
        if self._realtime is not None:
            self._realtime.close()
        self.http.close()

    def __enter__(self) -> DataStore:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
