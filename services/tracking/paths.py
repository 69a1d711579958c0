"""Folder paths: ``/<user>/cv/mnist``.

A path that does not start with ``/`` is relative to ``/<user>/``: the caller's ``username``, or
``anonymous`` while authentication is off (or for a caller that is not logged in). The first part
of a path is the user whose space it is: a user writes only under its own ``/<user>/``, admins
(and the server itself) anywhere. ``/<user>/default`` always exists.
"""

from __future__ import annotations

import hashlib
from typing import Any

from backend.auth.authorize import is_admin
from backend.errors import BadRequest, Forbidden
from backend.hooks import Params

ANONYMOUS = "anonymous"
DEFAULT = "default"
MAX_PART = 128
MAX_DEPTH = 32


def username_of(params: Params) -> str:
    """The caller's username (``anonymous`` without a logged-in user)."""
    user = params.user
    name = user.get("username") if isinstance(user, dict) else None
    return name if isinstance(name, str) and name else ANONYMOUS


def absolute(path: Any, params: Params, field: str = "path") -> str:
    """``path`` made absolute (relative ones under ``/<user>/``) and checked; 400 naming ``field``."""
    if not isinstance(path, str) or not path.strip("/ "):
        raise BadRequest(f"{field} must be a folder path such as 'cv/mnist' or '/<user>/cv/mnist'",
                         errors={field: "not a folder path"})
    if not path.startswith("/"):
        path = f"/{username_of(params)}/{path}"
    parts = path.strip("/").split("/")
    if len(parts) > MAX_DEPTH:
        raise BadRequest(f"{field} is deeper than {MAX_DEPTH} folders", errors={field: "too deep"})
    for part in parts:
        if (part in ("", ".", "..") or len(part) > MAX_PART or part != part.strip() or "\\" in part
                or any(ord(c) < 32 for c in part)):
            raise BadRequest(f"{field} {path[:200]!r} has an invalid part {part[:200]!r}",
                             errors={field: "invalid folder name"})
    return "/" + "/".join(parts)


def owner_of(path: str) -> str:
    """The user whose space ``path`` is in (its first part)."""
    return path.split("/", 2)[1]


def parent_of(path: str) -> str:
    """``/ann/cv/mnist`` → ``/ann/cv``; ``/ann/cv`` → ``/ann`` (a user's space, not a folder)."""
    return path.rsplit("/", 1)[0]


def check_writable(path: str, params: Params, auth_enabled: bool) -> None:
    """403 unless the caller may write under ``path``: its own ``/<user>/`` (admins anywhere)."""
    if not auth_enabled or is_admin(params):
        return
    own = username_of(params)
    if params.user is None or owner_of(path) != own:
        raise Forbidden(f"You may only write under /{own}/, not {path[:200]}")


def default_folder(params: Params) -> str:
    """The caller's ``/<user>/default``."""
    return f"/{username_of(params)}/{DEFAULT}"


def record_id(*parts: str) -> str:
    """A 24-hex id made from ``parts`` (the same parts give the same id on every process): the
    id of a folder (its path) and of a metric point (run, type, key, step)."""
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:24]
