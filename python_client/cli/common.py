"""What the server-talking commands share: the connection flags, the store, records, and failures
reported as one line.

Exit status: 0 on success, 1 when the server could not be reached, refused the request or has no
such record (the message says which), 2 on bad usage (argparse).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from ..auth import API_KEY_ENV
from ..datastore import DataStore
from ..errors import PlumeError, RequestTimeout, TransportError
from ..failures import explain
from ..retry import RetryPolicy

DEFAULT_URL = "http://localhost:3030"
URL_ENV = "PLUME_URL"
#: A command fails fast on a server that is down: one retry, not the training client's four tries.
CLI_RETRY = RetryPolicy(attempts=2)


class CommandError(Exception):
    """A failure a command reports as one line (exit status 1)."""


def connection_parser() -> argparse.ArgumentParser:
    """The flags of every server-talking command, as an argparse parent."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--url", default=None, help=f"server URL (default ${URL_ENV} or {DEFAULT_URL})")
    parser.add_argument("--api-key", default=None, help=f"API key (default ${API_KEY_ENV})")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    parser.add_argument("--json", action="store_true", help="print JSON (for scripts) instead of a table")
    return parser


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def server_url(args: argparse.Namespace) -> str:
    """The server the command talks to: ``--url``, else ``$PLUME_URL``, else localhost:3030."""
    return str(args.url or os.environ.get(URL_ENV) or DEFAULT_URL)


def open_store(args: argparse.Namespace) -> DataStore:
    """A DataStore on the command's server, with its API key (``--api-key`` or ``$PLUME_API_KEY``)."""
    return DataStore(server_url(args), args.api_key, timeout=args.timeout, retry=CLI_RETRY)


def records(result: Any) -> list[dict[str, Any]]:
    """The records of a ``find`` answer (a page or, on an unpaginated service, a list)."""
    data = result.get("data") if isinstance(result, dict) else result
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def unreachable(exc: TransportError, args: argparse.Namespace) -> str:
    """Why the server did not answer, in one line (the HTTP library's report is a paragraph)."""
    url = server_url(args)
    if isinstance(exc, RequestTimeout):
        return f"no answer from {url} within {args.timeout:g}s (--timeout)"
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
    reason = found.group(1).strip() if found else "no connection"
    return f"cannot reach a server at {url} ({reason}): is Plume running there? (--url or ${URL_ENV})"


def report_failures(prog: str, args: argparse.Namespace, body: Callable[[], int | None]) -> int:
    """Run ``body``; a failure the user can act on becomes one line on stderr and exit status 1."""
    try:
        return body() or 0
    except CommandError as exc:
        message = str(exc)
    except BrokenPipeError:  # the reader went away (| head): nothing more to say, to nobody
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except TransportError as exc:
        message = unreachable(exc, args)
    except PlumeError as exc:
        message = explain(exc, api_key_hint="pass --api-key")
    except (ValueError, OSError) as exc:  # a bad URL, a folder that cannot be written
        message = str(exc)
    print(f"{prog}: {message}", file=sys.stderr)
    return 1
