"""Why sending a run failed, and what follows: retry soon, stop waiting for now, or stop and say why.

The background sender (:mod:`python_client.sender`) and the sync step
(:mod:`python_client.reconcile`) sort every failure into one of three kinds:

* ``TRANSIENT``: the backend answered 429 or a 5xx, did not answer in time, or the connection broke
  mid-way; the next try may well succeed, so it is worth waiting for.
* ``UNREACHABLE``: the request never reached the backend (connection refused, unknown host,
  connect timeout); the sender keeps trying in the background, but nobody should wait for it.
* ``LASTING``: the same request will fail the same way: the backend refused it with a 4xx (401/403
  credentials, 400/422 data it rejects, 413 too large...), the URL is not a Plume server's
  (:class:`~python_client.errors.NoPlumeServer`), a file is gone, a conversion failed,
  or the client itself has a bug. Retrying only hides the cause, so it is reported instead.
"""

from __future__ import annotations

from enum import Enum

from .auth import API_KEY_ENV
from .conversion.errors import ConversionError
from .errors import (
    BadRequest,
    FeathersError,
    Forbidden,
    NoPlumeServer,
    NotAuthenticated,
    PayloadTooLarge,
    PlumeError,
    TransportError,
    Unprocessable,
)


class Kind(Enum):
    """How a failure behaves if the same request is sent again (see the module docstring)."""

    TRANSIENT = "transient"
    UNREACHABLE = "unreachable"
    LASTING = "lasting"


def classify(exc: BaseException) -> Kind:
    """The kind of ``exc``, raised by a sync pass or one of its uploads."""
    if isinstance(exc, TransportError):  # before FeathersError: ConnectionFailed is also a 503
        return Kind.TRANSIENT if exc.maybe_sent else Kind.UNREACHABLE
    if isinstance(exc, FeathersError):
        # 408 and 429 ask for a later try; 501 is the one permanent 5xx.
        if (400 <= exc.code < 500 and exc.code not in (408, 429)) or exc.code == 501:
            return Kind.LASTING
        return Kind.TRANSIENT
    if isinstance(exc, PlumeError):
        return Kind.TRANSIENT
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return Kind.TRANSIENT
    if isinstance(exc, ConnectionError):  # refused, outside the HTTP layer
        return Kind.UNREACHABLE
    if isinstance(exc, (FileNotFoundError, ConversionError)):
        return Kind.LASTING
    if isinstance(exc, OSError):  # a full disk or a locked file may clear up
        return Kind.TRANSIENT
    # ValueError (data that cannot be sent) and any other exception (a bug here): a retry repeats it.
    return Kind.LASTING


def expected(exc: BaseException) -> bool:
    """A failure of the world (the backend's answer, a file, a conversion, data that cannot be sent)
    rather than a bug in the client: its message explains it, with no traceback needed."""
    return isinstance(exc, (PlumeError, OSError, ConversionError, ValueError))


def lasting(exc: BaseException) -> bool:
    """A failure that retrying the same request will not fix."""
    return classify(exc) is Kind.LASTING


def explain(exc: BaseException, *, api_key_hint: str = "pass api_key") -> str:
    """The cause of ``exc`` in words a user can act on (``api_key_hint``: how this caller sets a key)."""
    if isinstance(exc, NoPlumeServer):
        return exc.message
    if isinstance(exc, NotAuthenticated):
        return f"authentication failed ({exc}): set {API_KEY_ENV} or {api_key_hint}"
    if isinstance(exc, Forbidden):
        return f"permission denied ({exc}): the API key's user may not write these records"
    if isinstance(exc, PayloadTooLarge):
        return f"the backend refused a request as too large ({exc})"
    if isinstance(exc, (BadRequest, Unprocessable)):
        return f"the backend rejected the data ({exc})"
    if isinstance(exc, FeathersError) and not isinstance(exc, TransportError) and lasting(exc):
        return f"the backend refused the request ({exc})"
    if expected(exc):
        return f"{type(exc).__name__}: {exc}"
    return f"an error in the Plume client ({type(exc).__name__}: {exc})"
