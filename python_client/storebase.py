"""What ``DataStore`` and ``AsyncDataStore`` share, without I/O: the location, the credentials, the
services, and what a login or logout changes."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

from .auth import AUTH_PATH, Credentials, login_body, token_of
from .methods import RestCall, rest_call
from .retry import RetryPolicy
from .servicebase import ServiceBase

DEFAULT_LOCATION = "http://localhost:3030"
DEFAULT_TIMEOUT = 10.0

S = TypeVar("S", bound=ServiceBase)


def checked_location(location: str) -> str:
    """``location`` with one trailing ``/``; ValueError, with the fix, for a URL the client cannot use."""
    if not isinstance(location, str):
        raise TypeError(f"the backend URL must be a string, not {type(location).__name__}")
    parts = urlsplit(location)
    if parts.scheme not in ("http", "https"):
        if "://" in location:
            raise ValueError(f"the backend URL {location!r} must start with http:// or https://")
        raise ValueError(f"the backend URL {location!r} has no scheme: did you mean 'http://{location}'?")
    if not parts.hostname:
        raise ValueError(f"the backend URL {location!r} names no host: for example 'http://localhost:3030'")
    return location.rstrip("/") + "/"


class StoreBase(Generic[S]):
    """The backend at ``location``, as seen by one client (see :class:`python_client.DataStore`).

    A shell names its classes: the service (``S``), the HTTP client and the realtime connection.
    """

    service_class: type[S]
    http_class: ClassVar[type[Any]]  # HttpClient or AsyncHttpClient
    realtime_class: ClassVar[type[Any]]  # Realtime or AsyncRealtime

    def __init__(self, location: str = DEFAULT_LOCATION, api_key: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT, retry: RetryPolicy | None = None) -> None:
        self.location = checked_location(location)
        self.credentials = Credentials(api_key)
        self.user: dict[str, Any] | None = None
        self.http = self.http_class(self.location, self.credentials, timeout, retry or RetryPolicy())
        self._realtime: Any = None

    def service(self, name: str, id_field: str = "_id") -> S:
        """The service at path ``name`` (``id_field`` is the field holding its record ids)."""
        return self.service_class(self, name, id_field)

    @property
    def realtime(self) -> Any:
        """The socket.io connection (opened by the first ``service.on``)."""
        if self._realtime is None:
            self._realtime = self.realtime_class(self.location, self.credentials, self.http.timeout)
        return self._realtime

    @property
    def access_token(self) -> str | None:
        """The JWT of the last ``login`` (None before it or after ``logout``)."""
        return self.credentials.access_token

    @staticmethod
    def login_call(email: str, password: str) -> RestCall:
        """The request of a local-strategy login."""
        return rest_call("create", AUTH_PATH, data=login_body(email, password))

    def logged_in(self, result: Any) -> dict[str, Any]:
        """Keep the token and user of a login's answer; returns the answer."""
        self.credentials.set_token(token_of(result))
        self.user = result.get("user")
        return result  # type: ignore[no-any-return]

    def logged_out(self) -> None:
        self.credentials.set_token(None)
        self.user = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"
