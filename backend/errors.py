"""Feathers errors: the full table, with their JSON form and a round-trip from it.

Every failure that leaves Plume, over any transport, is one of these classes serialised with
:meth:`FeathersError.to_json`; the HTTP status is its ``code``. Clients rebuild the class from ``name``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class FeathersError(Exception):
    """Base class. ``data`` carries extra context; ``errors`` carries per-field failures."""

    code: ClassVar[int] = 500
    class_name: ClassVar[str] = "general-error"
    name: ClassVar[str] = "GeneralError"

    def __init__(self, message: str = "Error", data: Any = None, errors: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        self.errors = errors

    def to_json(self) -> dict[str, Any]:
        """The wire form: ``{name, message, code, className, data?, errors?}``."""
        out: dict[str, Any] = {
            "name": self.name,
            "message": self.message,
            "code": self.code,
            "className": self.class_name,
        }
        if self.data is not None:
            out["data"] = self.data
        if self.errors is not None:
            out["errors"] = self.errors
        return out

    @staticmethod
    def from_json(payload: dict[str, Any]) -> FeathersError:
        """Rebuild the error class named in ``payload`` (GeneralError when unknown)."""
        cls = ERRORS.get(str(payload.get("name")), GeneralError)
        return cls(str(payload.get("message", "Error")), payload.get("data"), payload.get("errors"))

    def __repr__(self) -> str:
        return f"{self.name}({self.message!r})"


ERRORS: dict[str, type[FeathersError]] = {}


def _define(name: str, code: int) -> type[FeathersError]:
    cls = type(name, (FeathersError,), {"code": code, "class_name": _kebab(name), "name": name})
    cls.__doc__ = f"Feathers ``{name}`` ({code})."
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
NotImplementedFeathers = _define("NotImplemented", 501)
BadGateway = _define("BadGateway", 502)
Unavailable = _define("Unavailable", 503)
ERRORS["GeneralError"] = GeneralError = FeathersError  # the base class is GeneralError itself


def convert(exc: BaseException) -> FeathersError:
    """Any exception as a Feathers error; unexpected ones become a bare 500 without internals."""
    if isinstance(exc, FeathersError):
        return exc
    return GeneralError("Internal server error")
