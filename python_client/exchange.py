"""One HTTP exchange with a Plume server, without the I/O: what to send, and what an answer means.

The sync shell (:mod:`python_client.http`, ``requests``) and the async one
(:mod:`python_client.aio_http`, aiohttp) only move bytes: they build their request from a
:class:`Request`, report each attempt as an :data:`~python_client.retry.Outcome` made here
(:func:`answer`), and let :func:`python_client.retry.steps` decide what follows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .auth import Credentials
from .errors import FeathersError, error_from_response
from .methods import RestCall
from .multipart import FilePart
from .retry import Answered, Refused, parse_retry_after
from .utils import to_json

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Request:
    """One request to the server: ``path`` is relative to the DataStore's location.

    ``parts`` (an upload) are sent as a multipart body, rebuilt for each attempt; ``body`` is
    JSON bytes otherwise. ``repeatable``: may it be sent again (see :mod:`python_client.retry`).
    """

    verb: str
    path: str
    repeatable: bool
    query: str = ""
    body: bytes | None = None
    parts: tuple[FilePart, ...] | None = None

    def url(self, location: str) -> str:
        """The full URL under ``location`` (which ends with ``/``)."""
        return location + self.path.lstrip("/") + (f"?{self.query}" if self.query else "")

    def headers(self, credentials: Credentials) -> dict[str, str]:
        """Credentials, plus the JSON content type when there is a JSON body (multipart sets its own)."""
        headers = credentials.headers()
        if self.body is not None:
            headers["Content-Type"] = JSON_TYPE
        return headers

    @property
    def label(self) -> str:
        """``VERB path`` for messages."""
        return f"{self.verb} {self.path}"


def for_call(call: RestCall) -> Request:
    """The request of a service call (a JSON body for the methods that carry data)."""
    body = None if call.body is None and call.verb in ("GET", "DELETE") else to_json(call.body)
    return Request(call.verb, call.path, call.repeatable, call.query, body)


def get(path: str) -> Request:
    """``GET <path>`` (repeatable: reads and downloads)."""
    return Request("GET", path, repeatable=True)


def upload(path: str, parts: list[FilePart]) -> Request:
    """``POST <path>`` with files: never repeated once it may have reached the server."""
    return Request("POST", path, repeatable=False, parts=tuple(parts))


def refused(status: int, body: bytes, reason: str, retry_after: str | None) -> Refused:
    """The outcome of an error answer (``status`` >= 400): its typed error and ``Retry-After``."""
    return Refused(error_from_response(status, body, reason), status, parse_retry_after(retry_after))


class NotJson(FeathersError):
    """A success answer whose body is not JSON (a web page where an API was expected)."""


def decode(request: Request, status: int, body: bytes) -> Any:
    """The result of a success answer: its JSON, or None for 204 / an empty body."""
    if status == 204 or not body:
        return None
    try:
        return json.loads(body)
    except ValueError as exc:
        raise NotJson(f"The server answered {request.label} with a body that is not JSON") from exc


def answer(request: Request, status: int, body: bytes, reason: str = "",
           retry_after: str | None = None) -> Answered | Refused:
    """The outcome of a whole answer read in memory."""
    if status >= 400:
        return refused(status, body, reason, retry_after)
    return Answered(decode(request, status, body))


def part_path(dest: Path) -> Path:
    """Where a download is written before it is complete (renamed to ``dest`` once whole)."""
    return dest.with_name(dest.name + ".part")

