"""A model's design (its configuration, kept as text) and label enumeration, checked on the client.

``config_dict`` is kept as JSON text and parsed back; ``config_text`` is kept as given (a prototxt,
an ini file...), and reads back as a dict only when it is a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def design_text(config_text: str | None = None, config_dict: Mapping[str, Any] | None = None) -> str | None:
    """The text to store for ``config_text`` or ``config_dict`` (ValueError when both are given)."""
    if config_text is not None and config_dict is not None:
        raise ValueError("give config_text or config_dict, not both")
    if config_dict is not None:
        if not isinstance(config_dict, Mapping):
            raise ValueError(f"config_dict must be a dict, not {type(config_dict).__name__}")
        try:
            return json.dumps(dict(config_dict), indent=2, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"config_dict cannot be kept as JSON text: {exc}") from None
    if config_text is not None and not isinstance(config_text, str):
        raise ValueError(f"config_text must be a string, not {type(config_text).__name__}")
    return config_text


def parse_design(text: str | None) -> dict[str, Any] | None:
    """The configuration as a dict: ``text`` parsed as a JSON object; None when it is not one."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def checked_labels(labels: Mapping[str, int] | None) -> dict[str, int] | None:
    """``labels`` as a plain dict ``{str: int}`` with unique values (ValueError otherwise)."""
    if labels is None:
        return None
    if not isinstance(labels, Mapping):
        raise ValueError(f"the label enumeration must be a dict {{label: int}}, not {type(labels).__name__}")
    out: dict[str, int] = {}
    seen: dict[int, str] = {}
    for label, value in labels.items():
        if not isinstance(label, str):
            raise ValueError(f"label {label!r} is not a string")
        if type(value) is not int and not _numpy_int(value):
            raise ValueError(f"label {label!r} has the value {value!r}: label values must be integers")
        value = int(value)
        if value in seen:
            raise ValueError(f"labels {seen[value]!r} and {label!r} have the same value {value}: values must be unique")
        seen[value] = label
        out[label] = value
    return out


def _numpy_int(value: Any) -> bool:
    """A numpy integer (checked by name: the client does not import numpy for this)."""
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__.startswith(("int", "uint"))
