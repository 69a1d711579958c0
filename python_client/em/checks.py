"""What the ``em`` API accepts: metric types, keys, values and steps, conflict strategies, object
paths. Each check raises ``ValueError``/``TypeError`` with the reason, before anything is written.

The metric checks run on ``Run.log``'s hot path: plain type tests, no JSON Schema.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

#: Metric types and their canonical name (the server normalises with the same table:
#: ``tests/python_client/em/test_local.py::test_the_type_table_is_the_servers`` keeps the two equal).
TYPE_ALIASES = {
    "train": "train", "training": "train",
    "val": "val", "validate": "val", "validation": "val",
    "test": "test", "testing": "test", "eval": "test", "evaluate": "test", "evaluation": "test",
}
MAX_TYPE = 64  # characters of a metric type
MAX_KEY = 256  # characters of a metric name
CONFLICT_STRATEGIES = ("skip", "error", "new", "replace")
#: A file an artifact keeps its metadata in, beside its objects: no object may take its name.
ARTIFACT_FILE = ".em_artifact.json"


def metric_type(value: Any) -> str:
    """The canonical metric type of ``value`` (``training`` → ``train``; other names as given)."""
    if not isinstance(value, str) or not value or len(value) > MAX_TYPE:
        raise ValueError(f"a metric type is a non-empty string of at most {MAX_TYPE} characters, got "
                         f"{_short(value)}")
    return TYPE_ALIASES.get(value, value)


def step_number(value: Any, what: str = "step") -> int:
    """A step or epoch: an integer ≥ 0 (numpy integers too; not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an integer, got {_short(value)}")
    number = int(value)
    if number < 0:
        raise ValueError(f"{what} must be 0 or more, got {number}")
    return number


def metric_values(metrics: Any) -> dict[str, int | float]:
    """``{key: finite number}``: the logged metrics, numpy scalars made plain (the hot path: plain
    floats and ints with short string keys are checked with a few type tests)."""
    if metrics.__class__ is not dict:
        if not isinstance(metrics, dict):
            raise TypeError(f"metrics must be a non-empty dict of name → number, got {_short(metrics)}")
    if not metrics:
        raise TypeError("metrics must be a non-empty dict of name → number, got {}")
    out: dict[str, int | float] = {}
    isfinite = math.isfinite
    for key, value in metrics.items():
        if key.__class__ is not str or not 0 < len(key) <= MAX_KEY:
            raise ValueError(f"a metric name is a non-empty string of at most {MAX_KEY} characters, got "
                             f"{_short(key)}")
        cls = value.__class__
        if cls is float:
            if not isfinite(value):
                raise ValueError(f"metric {key!r} is {value}: only finite numbers can be logged")
            out[key] = value
        elif cls is int:
            out[key] = value
        else:
            out[key] = _other_number(key, value)
    return out


def _other_number(key: str, value: Any) -> int | float:
    """A metric value that is not a plain float or int: a numpy scalar, a Fraction... or an error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"metric {key!r} must be a number, got {_short(value)}")
    if isinstance(value, numbers.Integral):
        return int(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"metric {key!r} is {number}: only finite numbers can be logged")
    return number


def conflict_strategy(value: Any) -> str:
    """One of :data:`CONFLICT_STRATEGIES` (ValueError naming them otherwise)."""
    if value not in CONFLICT_STRATEGIES:
        raise ValueError(f"conflict_strategy must be one of {', '.join(CONFLICT_STRATEGIES)}, got {value!r}")
    return str(value)


def object_path(path: str) -> str:
    """A relative ``/``-separated object path inside an artifact; ValueError for absolute paths,
    ``..``, empty parts, backslashes or control characters (nothing may leave the artifact)."""
    if not isinstance(path, str) or not path:
        raise ValueError(f"an object path is a non-empty string, got {_short(path)}")
    if path.startswith("/") or "\\" in path or (len(path) > 1 and path[1] == ":"):
        raise ValueError(f"object path {path!r} must be relative (no leading '/', drive or backslash)")
    if any(ord(c) < 32 for c in path):
        raise ValueError(f"object path {path!r} contains control characters")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"object path {path!r} may not contain '..', '.' or empty parts")
    if parts[0] == ARTIFACT_FILE:
        raise ValueError(f"object path {path!r} is reserved for the artifact's metadata")
    return path


def join_object_path(obj_path: str | None, source_name: str) -> str:
    """The seed's ``obj_path`` rule: None → the source's name; ending in ``/`` → a folder that
    receives the source under its name; anything else → the object's path itself."""
    if obj_path is None:
        return object_path(source_name)
    if not isinstance(obj_path, str):
        raise ValueError(f"obj_path must be a string, got {_short(obj_path)}")
    if obj_path.endswith("/"):
        return object_path(f"{obj_path[:-1]}/{source_name}")  # "/" alone stays absolute: refused
    return object_path(obj_path)


def resource_name(value: Any, what: str = "name") -> str:
    """A run's or artifact's name: 1 to 200 characters, usable as a file name (no ``/``, ``\\``,
    control characters, nor ``.``/``..``)."""
    if (not isinstance(value, str) or not value or len(value) > 200 or "/" in value or "\\" in value
            or value in (".", "..") or any(ord(c) < 32 for c in value)):
        raise ValueError(f"{what} must be 1 to 200 characters without '/', '\\' or control characters, "
                         f"got {_short(value)}")
    return value


def labels_list(value: Any) -> list[str]:
    """Labels: a sequence of strings (None: none)."""
    if value is None:
        return []
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"labels must be a sequence of strings, got {_short(value)}")
    return list(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"
