"""``DataStore``: a connection to a Plume (or Marcelle) backend, sync flavour."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from .auth import AUTH_PATH, Credentials, login_body, token_of
from .http import HttpClient
from .methods import rest_call
from .realtime import Realtime
from .retry import RetryPolicy
from .service import Service

DEFAULT_LOCATION = "http://localhost:3030"
DEFAULT_TIMEOUT = 10.0


class DataStore:
    """Access to the services of the backend at ``location``.

    Args:
        location: The backend's URL.
        api_key: Sent as ``Authorization: Bearer <key>`` (and over socket.io when the server has
            authentication on); defaults to the ``PLUME_API_KEY`` environment variable.
        timeout: Seconds to connect, and to wait for an answer, on every call.
        retry: When and how often failed calls are repeated (see :mod:`python_client.retry`).

    Use it as a context manager, or call :meth:`close`, to release its connections.
    """

    def __init__(self, location: str = DEFAULT_LOCATION, api_key: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT, retry: RetryPolicy | None = None) -> None:
        self.location = location.rstrip("/") + "/"
        self.credentials = Credentials(api_key)
        self.http = HttpClient(self.location, self.credentials, timeout, retry or RetryPolicy())
        self._realtime: Realtime | None = None
        self.user: dict[str, Any] | None = None

    def service(self, name: str, id_field: str = "_id") -> Service:
        """The service at path ``name`` (``id_field`` is the field holding its record ids)."""
        return Service(self, name, id_field)

    @property
    def realtime(self) -> Realtime:
        """The socket.io connection (opened by the first ``service.on``)."""
        if self._realtime is None:
            self._realtime = Realtime(self.location, self.credentials, self.http.timeout)
        return self._realtime

    # ------------------------------------------------------------------ authentication
    def login(self, email: str, password: str) -> dict[str, Any]:
        """Authenticate with the local strategy; later calls carry the access token.

        Returns the server's ``{accessToken, authentication, user}``. Raises NotAuthenticated when
        the credentials are refused.
        """
        result = self.http.call(rest_call("create", AUTH_PATH, data=login_body(email, password)))
        self.credentials.set_token(token_of(result))
        self.user = result.get("user")
        if self._realtime is not None:
            self._realtime.reauthenticate()
        return result  # type: ignore[no-any-return]

    def logout(self) -> None:
        """Forget the access token (and log the realtime connection out)."""
        if self._realtime is not None:
            self._realtime.logout()
        self.credentials.set_token(None)
        self.user = None

    @property
    def access_token(self) -> str | None:
        return self.credentials.access_token

    # ------------------------------------------------------------------ lifecycle
    def info(self) -> dict[str, Any]:
        """``GET /info``: the services the backend has."""
        return self.http.request("GET", "info", repeatable=True)  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the HTTP session and the realtime connection."""
        if self._realtime is not None:
            self._realtime.close()
        self.http.close()

    def __enter__(self) -> DataStore:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DataStore({self.location!r})"
