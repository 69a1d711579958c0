"""Why ``plume serve`` could not start, in one line a user can act on (never a traceback).

Two things commonly stop a start: the port (in use, privileged, an address this machine does not
have) and the database (a URL Plume does not know, a SQLite file it cannot open, a MongoDB server
it cannot reach). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import re
import socket
import sqlite3

from ..errors import FeathersError
from ..logs import database_label
from ..storage import sqlite_path

#: What pymongo appends to the reason a server cannot be reached (its timeouts and topology).
_DRIVER_DETAIL = re.compile(r" \(configured timeouts[^)]*\)|, Timeout: .*$")


def bind_failure(exc: OSError, host: str, port: int) -> str:
    """The message for ``exc``, raised while binding ``host:port``."""
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use (is another Plume running? use --port)"
    if exc.errno == errno.EACCES:
        return f"no permission to listen on port {port} on {host} (ports below 1024 need privileges; use --port)"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}:{port}: {_reason(exc)} (use --host with an address of this machine)"
    return f"cannot listen on {host}:{port}: {_reason(exc)}"


def open_failure(exc: BaseException, database_url: str) -> str | None:
    """The message for ``exc``, raised while the app was assembled on ``database_url`` (None: a bug)."""
    url = database_label(database_url)
    if isinstance(exc, sqlite3.Error) or (isinstance(exc, OSError) and _on_sqlite_path(exc, database_url)):
        return f"cannot open the database {url}: {_reason(exc)}"
    if isinstance(exc, FeathersError) and exc.code == 503:  # a database server that does not answer
        cause = f" ({_DRIVER_DETAIL.sub('', _reason(exc.__cause__))})" if exc.__cause__ is not None else ""
        return f"the database {url} is unreachable{cause}"
    if isinstance(exc, (ValueError, OSError)):  # an unknown URL scheme; a folder that cannot be made...
        return _reason(exc).replace(database_url, url)
    return None


def _on_sqlite_path(exc: OSError, database_url: str) -> bool:
    """Is ``exc`` about the SQLite file of ``database_url`` or a folder above it?"""
    if not database_url.startswith("sqlite:") or exc.filename is None:
        return False
    return sqlite_path(database_url).startswith(str(exc.filename))


def _reason(exc: BaseException) -> str:
    """The first line of ``exc``'s message, at most 300 characters (drivers write whole reports)."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 300 else line[:300] + "..."
