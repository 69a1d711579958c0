"""What ``em.login`` raises: the client's own error, which is also a ``requests.HTTPError``.

The seed documents ``login`` as raising ``requests.HTTPError`` when the server cannot be reached or
refuses the login; the Plume client raises its typed errors (``ConnectionFailed``,
``NoPlumeServer``, ``NotAuthenticated``...). Making those general classes ``HTTPError`` subclasses
would change every call of the client, so only ``login`` converts its failure: into a subclass of
both the error's class and :class:`LoginFailed` (a ``requests.HTTPError``), with the same message,
``code`` and ``data``. ``except ConnectionFailed``, ``except NotAuthenticated``,
``except PlumeError`` and the seed's ``except requests.HTTPError`` all catch it.
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from ..errors import PlumeError


class LoginFailed(requests.HTTPError):
    """Base of what ``em.login`` raises (with the client's error class): the seed's ``requests.HTTPError``.

    ``response`` and ``request`` are None: the Plume client does not speak through ``requests``'
    response objects; ``code`` (the HTTP status) and ``message`` say what happened.
    """

    response: Any = None
    request: Any = None


_classes: dict[type[PlumeError], type[PlumeError]] = {}
_lock = threading.Lock()


def login_class(cls: type[PlumeError]) -> type[PlumeError]:
    """The subclass of ``cls`` and :class:`LoginFailed` (one per class, made on first use)."""
    with _lock:
        made = _classes.get(cls)
        if made is None:
            made = type(cls.__name__, (cls, LoginFailed), {"__module__": cls.__module__,
                                                           "__doc__": cls.__doc__,
                                                           "__qualname__": cls.__qualname__})
            _classes[cls] = made
        return made


def login_error(exc: PlumeError) -> PlumeError:
    """``exc`` as an instance of :func:`login_class` of its class: same message, fields and attempts."""
    if isinstance(exc, LoginFailed):
        return exc
    cls = login_class(type(exc))
    error = cls.__new__(cls, *exc.args)
    error.args = exc.args
    error.__dict__.update(exc.__dict__)
    return error
