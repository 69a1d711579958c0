"""Folders on the server: ``/<user>/cv/mnist``. A path that does not start with ``/`` is relative
to ``/<user>/`` (the server adds it: the logged-in user's ``username``, or ``anonymous`` while
authentication is off); ``/<user>/default`` always exists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Conflict, NotFound

if TYPE_CHECKING:
    from ..datastore import DataStore

SERVICE = "folders"


def find_folder(store: DataStore, path: str) -> dict[str, Any] | None:
    """The folder at ``path`` (absolute or relative), or None."""
    page = store.service(SERVICE).find({"query": {"path": path, "$limit": 1}})
    data = page["data"] if isinstance(page, dict) else page
    return data[0] if data else None


def ensure_folder(store: DataStore, path: str, make_folder: bool) -> str:
    """The absolute path of folder ``path``, made (with its parents) when missing and ``make_folder``.

    Raises:
        NotFound: the folder does not exist and ``make_folder`` is False.
    """
    found = find_folder(store, path)
    if found is not None:
        return str(found["path"])
    if not make_folder:
        raise NotFound(f"folder {path!r} does not exist on {store.location.rstrip('/')}: pass make_folder=True "
                       "to make it")
    try:
        return str(store.service(SERVICE).create({"path": path})["path"])
    except Conflict:  # made meanwhile by another client
        found = find_folder(store, path)
        if found is None:
            raise
        return str(found["path"])


def split_path(path: str) -> tuple[str, str]:
    """``"/ann/cv/run1"`` → ``("/ann/cv", "run1")``; ``"cv/run1"`` → ``("cv", "run1")``."""
    folder, _, name = path.rstrip("/").rpartition("/")
    return folder or ("/" if path.startswith("/") else ""), name
