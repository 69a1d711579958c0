"""Typed errors: the Feathers error table, rebuilt from the server's error JSON, and transport failures.

``python_client`` never imports ``backend`` (it installs alone on a training machine), so it keeps
its own copy of the table; ``tests/python_client/test_errors.py`` keeps it equal to the server's.

Every exception raised by the client derives from :class:`PlumeError`:

* :class:`FeathersError` and its subclasses (``NotFound``, ``BadRequest``...): the server answered
  with an error (``code`` is the HTTP status; ``data``/``errors`` carry details).
* :class:`TransportError`: no usable answer — :class:`ConnectionFailed` (refused, reset, DNS;
  also an ``Unavailable``) and :class:`RequestTimeout` (no answer in time; also a ``Timeout``).
* Errors the client itself finds in an answer: :class:`NoPlumeServer` (the URL answers, but not
  as a Plume server; a ``BadRequest``), and, from ``Remote.wait_for_conversion``,
  :class:`ConversionFailed` (an ``Unprocessable``) and :class:`ConversionTimeout` (a ``Timeout``).
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar


class PlumeError(Exception):
    """Base class of every exception the Plume client raises.

    ``attempts`` is how many times the call was tried before this error was raised.
    """

    attempts: int = 1


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class FeathersError(PlumeError):
    """An error answered by the server. ``data`` carries extra context; ``errors`` per-field failures."""

    code: ClassVar[int] = 500
    class_name: ClassVar[str] = "general-error"
    name: ClassVar[str] = "GeneralError"

    def __init__(self, message: str = "Error", data: Any = None, errors: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        self.errors = errors

    def to_json(self) -> dict[str, Any]:
        """The wire form ``{name, message, code, className, data?, errors?}``."""
        out: dict[str, Any] = {"name": self.name, "message": self.message, "code": self.code,
                               "className": self.class_name}
        if self.data is not None:
            out["data"] = self.data
        if self.errors is not None:
            out["errors"] = self.errors
        return out

    def __repr__(self) -> str:
        return f"{self.name}({self.message!r})"

    def __str__(self) -> str:
        return f"{self.name} ({self.code}): {self.message}"


ERRORS: dict[str, type[FeathersError]] = {}


def _define(name: str, code: int) -> type[FeathersError]:
    cls = type(name, (FeathersError,), {"code": code, "class_name": _kebab(name), "name": name})
    cls.__doc__ = f"Feathers ``{name}`` ({code})."
    cls.__module__ = __name__
    ERRORS[name] = cls
    return cls


BadRequest = _define("BadRequest", 400)
NotAuthenticated = _define("NotAuthenticated", 401)
PaymentError = _define("PaymentError", 402)
Forbidden = _define("Forbidden", 403)
NotFound = _define("NotFound", 404)
MethodNotAllowed = _define("MethodNotAllowed", 405)
NotAcceptable = _define("NotAcceptable", 406)
Timeout = _define("Timeout", 408)
Conflict = _define("Conflict", 409)
Gone = _define("Gone", 410)
LengthRequired = _define("LengthRequired", 411)
PayloadTooLarge = _define("PayloadTooLarge", 413)
Unprocessable = _define("Unprocessable", 422)
TooManyRequests = _define("TooManyRequests", 429)
NotImplementedFeathers = _define("NotImplemented", 501)  # not ``NotImplemented``: that is a builtin
BadGateway = _define("BadGateway", 502)
Unavailable = _define("Unavailable", 503)
ERRORS["GeneralError"] = GeneralError = FeathersError  # the base class is GeneralError itself

_BY_CODE: dict[int, type[FeathersError]] = {cls.code: cls for cls in ERRORS.values()}


class TransportError(PlumeError):
    """The backend gave no usable answer (it may be down, unreachable or too slow).

    ``maybe_sent`` is False when the request never reached the server (connection refused,
    unknown host, connect timeout): the backend is plainly unreachable, not merely slow.
    """

    maybe_sent: bool = True


class ConnectionFailed(TransportError, Unavailable):  # type: ignore[misc,valid-type]
    """The backend could not be reached: connection refused or reset, unknown host, TLS failure."""


class RequestTimeout(TransportError, Timeout):  # type: ignore[misc,valid-type]
    """The backend did not answer within the client's timeout."""


class NoPlumeServer(BadRequest):  # type: ignore[misc,valid-type]
    """The URL answers, but not as a Plume (or Marcelle) server: its ``GET /info`` has no service list.

    Raised by a store's first call (see :mod:`python_client.probe`): a URL with an extra path
    (``http://host:3030/api``) or another web server's port. Not retried: the URL must change.
    """

    name: ClassVar[str] = "NoPlumeServer"


class ConversionFailed(Unprocessable):  # type: ignore[misc,valid-type]
    """A server-side conversion of a ``keras-models`` document ended in ``error``.

    ``conversions`` is the document's ``conversions`` map (each format's status, and ``error``).
    """

    name: ClassVar[str] = "ConversionFailed"

    def __init__(self, message: str, conversions: dict[str, Any]) -> None:
        super().__init__(message, {"conversions": conversions})
        self.conversions = conversions


class ConversionTimeout(Timeout):  # type: ignore[misc,valid-type]
    """The server's conversions of a ``keras-models`` document had not ended when the wait did.

    ``conversions`` is the last ``conversions`` map seen (the conversion goes on on the server).
    """

    name: ClassVar[str] = "ConversionTimeout"

    def __init__(self, message: str, conversions: dict[str, Any]) -> None:
        super().__init__(message, {"conversions": conversions})
        self.conversions = conversions


def error_from_json(payload: Any, status: int | None = None) -> FeathersError:
    """Rebuild the error class named in a Feathers error JSON (by ``code``/``status`` when unnamed)."""
    if isinstance(payload, dict) and isinstance(payload.get("name"), str) and payload["name"] in ERRORS:
        cls = ERRORS[payload["name"]]
    else:
        code = payload.get("code") if isinstance(payload, dict) else None
        cls = _class_for_status(code if isinstance(code, int) else status)
    if isinstance(payload, dict):
        return cls(str(payload.get("message", "Error")), payload.get("data"), payload.get("errors"))
    return cls(str(payload) if payload is not None else "Error")


def error_from_response(status: int, body: bytes, reason: str = "") -> FeathersError:
    """The typed error for an HTTP error answer, whether or not its body is Feathers error JSON.

    A proxy in front of the server may answer a plain or HTML page (a 502 from nginx): the class
    then follows the status and the message is the start of the body.
    """
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    if isinstance(payload, dict) and ("name" in payload or "message" in payload):
        return error_from_json(payload, status)
    text = body[:200].decode("utf-8", "replace").strip() if body else ""
    return _class_for_status(status)(text or reason or f"HTTP {status}")


def _class_for_status(status: int | None) -> type[FeathersError]:
    if status is None:
        return GeneralError
    if status in _BY_CODE:
        return _BY_CODE[status]
    return BadRequest if 400 <= status < 500 else GeneralError


__all__ = [
    "ERRORS",
    "BadGateway",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "ConversionFailed",
    "ConversionTimeout",
    "FeathersError",
    "Forbidden",
    "GeneralError",
    "Gone",
    "LengthRequired",
    "MethodNotAllowed",
    "NoPlumeServer",
    "NotAcceptable",
    "NotAuthenticated",
    "NotFound",
    "NotImplementedFeathers",
    "PayloadTooLarge",
    "PaymentError",
    "PlumeError",
    "RequestTimeout",
    "Timeout",
    "TooManyRequests",
    "TransportError",
    "Unavailable",
    "Unprocessable",
    "error_from_json",
    "error_from_response",
]
