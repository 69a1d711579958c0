"""Model outputs → the ``predictions`` of an answer: one entry per instance.

A model with one output answers each instance's row; one with several answers
``{output name: row}``. An endpoint with ``top_n`` answers, from its first output, the ``top_n``
most probable classes as ``{label: probability}``, most probable first (labels from the
endpoint's or the model's label enumeration; the class index as text where there is none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .signature import TensorSpec


def top_classes(scores: np.ndarray, labels: Sequence[str] | None, n: int) -> list[list[tuple[str, float]]]:
    """Per row of ``scores``, the ``n`` best ``(label, score)`` pairs, best first."""
    flat = scores.reshape(len(scores), -1).astype(np.float64, copy=False)
    order = np.argsort(-flat, axis=1, kind="stable")[:, :n]
    names = list(labels or ())
    return [[(names[i] if i < len(names) else str(i), float(row[i])) for i in best]
            for row, best in zip(flat, order, strict=True)]


def predictions_of(outputs: list[np.ndarray], specs: Sequence[TensorSpec], labels: Sequence[str] | None,
                   top_n: int | None) -> list[Any]:
    """The ``predictions`` list for the rows of ``outputs``."""
    if top_n:
        return [dict(pairs) for pairs in top_classes(outputs[0], labels, top_n)]
    if len(outputs) == 1:
        return outputs[0].tolist()  # type: ignore[no-any-return]
    rows = len(outputs[0])
    return [{spec.name: out[i].tolist() for spec, out in zip(specs, outputs, strict=True)} for i in range(rows)]


def labels_of(value: Any) -> list[str] | None:
    """A label enumeration as a list indexed by class: from a list, or from ``{label: index}`` (the
    registry's form); None when ``value`` is neither."""
    if isinstance(value, list) and value and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    if isinstance(value, dict) and value and all(type(v) is int for v in value.values()):
        size = max(value.values()) + 1
        if size > 100_000 or min(value.values()) < 0:
            return None
        names = [str(i) for i in range(size)]
        for label, index in value.items():
            names[index] = str(label)
        return names
    return None
