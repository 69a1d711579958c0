"""Credentials of one DataStore: an API key or the access token of a ``login``.

REST calls carry ``Authorization: Bearer <token or key>``. A socket.io connection authenticates
itself with ``("create", "authentication", payload, {})`` after each (re)connection, when the
server's ``init`` says authentication is on; ``logout`` forgets the token.
"""

from __future__ import annotations

import os
import threading
from typing import Any

AUTH_PATH = "authentication"
API_KEY_ENV = "PLUME_API_KEY"


class Credentials:
    """What a DataStore authenticates with (thread-safe: the realtime thread reads it too)."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key: str | None = api_key or os.environ.get(API_KEY_ENV) or None
        self._token: str | None = None
        self._lock = threading.Lock()

    @property
    def access_token(self) -> str | None:
        """The JWT of the last successful ``login`` (None before it or after ``logout``)."""
        with self._lock:
            return self._token

    def set_token(self, token: str | None) -> None:
        with self._lock:
            self._token = token

    def headers(self) -> dict[str, str]:
        """Headers of a REST call: the access token first, else the API key, else none."""
        secret = self.access_token or self.api_key
        return {"Authorization": f"Bearer {secret}"} if secret else {}

    def socket_payload(self) -> dict[str, Any] | None:
        """The ``authentication`` create payload for a socket.io connection (None: stay anonymous)."""
        token = self.access_token
        if token:
            return {"strategy": "jwt", "accessToken": token}
        if self.api_key:
            return {"strategy": "api-key", "apiKey": self.api_key}
        return None


def login_body(email: str, password: str) -> dict[str, str]:
    """The body of ``POST /authentication`` for the local strategy."""
    return {"strategy": "local", "email": email, "password": password}


def token_of(result: Any) -> str:
    """The ``accessToken`` of an authentication result (NotAuthenticated when there is none)."""
    from .errors import NotAuthenticated

    token = result.get("accessToken") if isinstance(result, dict) else None
    if not isinstance(token, str) or not token:
        raise NotAuthenticated("The server answered the login without an access token")
    return token
