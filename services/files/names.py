"""Safe names for stored files: field/file names that cannot leave their folder, and blob keys.

A blob key is ``<namespace>/<folderid>/<name>``: the namespace is the owning service
(``tfjs-models``, ``assets``...), so that a document of one service can never refer to (and, on
removal, delete) another service's files. Clients only ever see ``<folderid>/<name>``.
"""

from __future__ import annotations

import re
import unicodedata

from backend.errors import BadRequest

FOLDER_ID = re.compile(r"[0-9a-f]{24}")
MAX_NAME = 200


def unsafe_reason(name: str) -> str | None:
    """Why ``name`` may not be used as a stored file name (None when it is safe).

    Refused: empty, ``.``/``..``, path separators (``/`` and ``\\``), drive letters, leading
    dots (hidden files, ``..x``), control characters and over-long names.
    """
    if not name:
        return "is empty"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    if "/" in name or "\\" in name or ":" in name:
        return "contains a path separator"
    if name.startswith("."):
        return "starts with a dot"
    if any(unicodedata.category(c).startswith("C") for c in name):
        return "contains control characters"
    if name != name.strip():
        return "starts or ends with white space"
    return None


def check_name(name: str | None, what: str) -> str:
    """``name`` if it is a safe file name, else 400 naming ``what`` (``"field name"``, ...)."""
    reason = unsafe_reason(name or "")
    if reason is not None:
        raise BadRequest(f"Invalid {what} {name!r}: it {reason}")
    return name  # type: ignore[return-value]


def blob_key(namespace: str, folder: str, name: str) -> str:
    """The store key of file ``name`` in upload folder ``folder`` of ``namespace``."""
    return f"{namespace}/{folder}/{name}"


def parse_ref(ref: object) -> tuple[str, str] | None:
    """``"<folderid>/<name>"`` (the client-visible form) → ``(folderid, name)``; None if malformed."""
    if not isinstance(ref, str):
        return None
    folder, sep, name = ref.partition("/")
    if not sep or not FOLDER_ID.fullmatch(folder) or unsafe_reason(name) is not None:
        return None
    return folder, name
