"""Is the store's URL a Plume server? One ``GET /info`` before its first call, without the I/O.

A URL with an extra path (``http://host:3030/api``) reaches a Plume server that reads ``api`` as a
service and ``people`` as a record id: ``NotFound: No record found for id 'people'``, or a 405 for
a create. Another web server answers 404 pages. Either way the message says nothing of the URL,
so each store first asks ``GET <url>/info``: a Plume (or Marcelle) server answers
``{"services": [...]}``. Anything else that is an answer raises :class:`NoPlumeServer` naming the
URL; a server that is down, slow or busy (a transport failure, 408, 429, 5xx) raises its own
error, retryable as ever, and is asked again on the next call. 401/403 (an ``/info`` behind
authentication) lets the calls go on. The answer is kept once it says "Plume".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .errors import FeathersError, NoPlumeServer, TransportError
from .exchange import NotJson, Request, get

INFO = get("info")


def root_of(location: str) -> str:
    """``scheme://host:port`` of a URL (where a Plume server answers)."""
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}"


class Probe:
    """The ``GET /info`` check of one store (see the module docstring)."""

    def __init__(self, location: str) -> None:
        self.location = location.rstrip("/")
        self.confirmed = False

    def needed(self, request: Request) -> bool:
        """Must the check run before ``request``?"""
        return not self.confirmed and request is not INFO

    def accept(self, result: Any) -> dict[str, Any]:
        """The ``/info`` answer when it is a Plume server's (kept); NoPlumeServer otherwise."""
        if isinstance(result, dict) and isinstance(result.get("services"), list):
            self.confirmed = True
            return result
        raise self.refusal("JSON without a service list")

    def rejected(self, error: FeathersError) -> FeathersError | None:
        """What to raise for an error answer to ``/info`` (None: raise ``error`` as it is)."""
        if isinstance(error, NotJson):
            return self.refusal("a page that is not JSON")
        if isinstance(error, TransportError) or error.code >= 500 or error.code in (408, 429):
            return None  # down, slow or busy: not an answer about what the URL is
        if error.code in (401, 403):
            self.confirmed = True  # an /info behind authentication: the calls will say more
            return None
        return self.refusal(f"{error.code} ({error.message})")

    def refusal(self, answer: str) -> NoPlumeServer:
        root = root_of(self.location)
        hint = f"did you mean {root}?" if root != self.location else "is a Plume server running there?"
        return NoPlumeServer(f"no Plume server at {self.location}: GET {self.location}/info answered {answer}; {hint}")
