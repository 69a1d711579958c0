"""Python values → the JSON values Plume's serving takes (the kinds Cluster Serving's client takes).

* ``np.ndarray`` (or numbers, nested lists): nested lists;
* a list of ``str``: kept (a text input);
* an image: a path (``str`` or ``os.PathLike``), ``{"path": ...}`` or ``{"b64": ...}``: ``{"b64":
  <base64 of the file>}`` (the server decodes it with Pillow and shapes it to the model's input);
* raw image bytes: ``{"b64": ...}``;
* a sparse tensor ``[indices, values, shape]`` (three arrays: indices ``ndim x nnz``):
  ``{"sparse": [...]}``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def image_b64(path: str | os.PathLike[str]) -> str:
    """The base64 text of the image file at ``path`` (FileNotFoundError when there is none)."""
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def encode_value(value: Any) -> Any:
    """One input value as JSON (see the module docstring); TypeError for a value of no known kind."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (bytes, bytearray)):
        return {"b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (str, os.PathLike)):
        return {"b64": image_b64(value)}
    if isinstance(value, Mapping):
        if "path" in value:
            return {"b64": image_b64(value["path"])}
        if "b64" in value:
            b64 = value["b64"]
            return {"b64": b64.decode("ascii") if isinstance(b64, bytes) else b64}
        raise TypeError("a dict value must hold 'path' or 'b64' (an image)")
    if isinstance(value, (list, tuple)):
        if len(value) == 3 and all(isinstance(v, np.ndarray) for v in value):
            return {"sparse": [np.asarray(v).tolist() for v in value]}
        if value and all(isinstance(v, str) for v in value):
            return list(value)
        return [encode_value(v) if isinstance(v, np.ndarray) else v for v in value]
    if isinstance(value, (int, float, bool, np.generic)):
        return value.item() if isinstance(value, np.generic) else value
    raise TypeError(f"cannot send a {type(value).__name__} as a model input: use an ndarray, a list of "
                    "strings, an image path, {'path': ...}, {'b64': ...} or [indices, values, shape]")


def encode_inputs(data: Mapping[str, Any]) -> dict[str, Any]:
    """``{input name: value}`` as JSON."""
    if not data:
        raise ValueError("give at least one input: enqueue(uri, name=value, ...)")
    return {str(key): encode_value(value) for key, value in data.items()}


def as_array(value: Any) -> Any:
    """A prediction as numpy: rows as an ndarray, ``{output: rows}`` as a dict of ndarrays,
    ``{label: probability}`` (top_n) as it is."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        if all(all(isinstance(x, (int, float)) for x in v.values()) for v in value):
            return value  # top_n answers: {label: probability} per instance
        return {key: np.asarray([v[key] for v in value]) for key in value[0]}
    if isinstance(value, dict):
        if value and all(isinstance(x, (int, float)) for x in value.values()):
            return value
        return {key: np.asarray(v) for key, v in value.items()}
    return np.asarray(value)
