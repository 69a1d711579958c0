"""One storage name per service, and the rule that tells confusable service names apart.

SQLite compares table names without regard to case, and MongoDB refuses two collection names that
differ only in case on some platforms: a table named after the service path as given would let
``/Users`` reach the ``users`` table without the ``users`` service's hooks. So the name under
which a service is stored is an injective, case-free encoding of its path:

* lowercase ASCII letters, digits, ``_`` and ``-`` stand for themselves (so existing lowercase
  names keep their tables);
* an uppercase ASCII letter ``X`` becomes ``~x`` (``~`` is never part of a service name).

No two service names share a storage name, and a storage name never holds an uppercase letter, so
no case-insensitive comparison can make two of them meet. Any other character is refused: a
plugin that registers a stored service picks a plain name.

:func:`fold` is the looser key under which two names are *confusable* (same letters up to case,
``_`` read as ``-``): the app refuses to create a service whose fold another service already has.
"""

from __future__ import annotations

import re

ESCAPE = "~"
_PLAIN = re.compile(r"[a-z0-9_\-]")
_STORED = re.compile(r"(?:[a-z0-9_\-]|~[a-z])+")


def storage_name(service: str) -> str:
    """The table/collection name of ``service`` (ValueError for a name with other characters)."""
    out = []
    for ch in service:
        if _PLAIN.fullmatch(ch):
            out.append(ch)
        elif "A" <= ch <= "Z":
            out.append(ESCAPE + ch.lower())
        else:
            raise ValueError(f"a stored service name may hold only ASCII letters, digits, '_' and '-': {service!r}")
    if not out:
        raise ValueError("a stored service needs a name")
    return "".join(out)


def service_name(stored: str) -> str | None:
    """The service whose storage name is ``stored`` (None when ``stored`` is no such name)."""
    if not _STORED.fullmatch(stored):
        return None
    out, upper = [], False
    for ch in stored:
        if ch == ESCAPE:
            upper = True
            continue
        out.append(ch.upper() if upper else ch)
        upper = False
    return "".join(out)


def fold(service: str) -> str:
    """The key under which service names are confusable: case-folded, ``_`` read as ``-``."""
    return service.casefold().replace("_", "-")
