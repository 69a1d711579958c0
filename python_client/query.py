"""Query strings as the Feathers JS client sends them: qs form, percent-encoded brackets with indices.

``{"age": {"$gt": 3}, "$sort": {"name": -1}}`` → ``age%5B%24gt%5D=3&%24sort%5Bname%5D=-1``. Every
value travels as text; the server converts it back (through the service's JSON Schema, or by
matching both the text and the typed value on schemaless services).
"""

from __future__ import annotations

import math
from typing import Any

from qs_codec import EncodeOptions, ListFormat, encode

_OPTIONS = EncodeOptions(list_format=ListFormat.INDICES)


def _plain(value: Any) -> Any:
    """Values qs cannot spell: ``None`` → ``"null"``, booleans → ``"true"``/``"false"``, tuples → lists."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot send {value!r} in a query")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        if not value:
            # qs has no spelling for [] and drops the key: {"$in": []} would then match everything.
            raise ValueError("an empty list cannot be sent in a REST query")
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays, without importing numpy
        return _plain(value.tolist())
    return value


def encode_query(query: dict[str, Any]) -> str:
    """The query string (without ``?``) of a Feathers query object."""
    if not query:
        return ""
    return encode(_plain(query), _OPTIONS)
