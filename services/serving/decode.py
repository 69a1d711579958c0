"""Request values → the arrays a model's inputs take, with a 400 naming what is wrong.

An instance gives each input a value (or is the value itself when the model has one input):

* numbers, or nested lists of numbers, shaped like one row of the input;
* a base64 image, ``{"b64": "..."}`` (or a bare base64 string for a numeric input): see :mod:`.images`;
* a list of strings (or one string) for a text input (``{"b64"}`` there is UTF-8 text);
* a sparse tensor ``[indices, values, shape]`` (indices ``ndim x nnz``, as Cluster Serving's
  client takes them), ``{"sparse": [...]}`` or ``{"indices", "values", "shape"}``, made dense.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backend.errors import BadRequest, PayloadTooLarge

from .images import b64_bytes, decode_image
from .signature import TensorSpec

MAX_ELEMENTS = 16 * 1024 * 1024  # values one dense instance may have (a sparse shape may claim more)


def check_row(spec: TensorSpec, array: np.ndarray, what: str) -> None:
    """400 unless ``array`` fits one row of ``spec``."""
    row = spec.row_shape
    if array.ndim != len(row) or any(w is not None and w != g for w, g in zip(row, array.shape, strict=True)):
        got = str(tuple(array.shape))
        raise BadRequest(f"{what}: shape {got} does not fit input '{spec.name}' {spec.describe()}",
                         errors={spec.name: f"expected {spec.describe()}, got shape {got}"})


def numeric(spec: TensorSpec, value: Any, what: str) -> np.ndarray:
    """``value`` (numbers or nested lists) as ``spec``'s dtype; 400 for text, ragged lists or
    fractions given to an integer input."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise BadRequest(f"{what}: not a regular array of numbers (ragged lists?)",
                         errors={spec.name: "ragged or mixed values"}) from None
    kind = array.dtype.kind
    if kind not in "biuf":
        raise BadRequest(f"{what}: input '{spec.name}' takes numbers, got {_kind_name(array)}",
                         errors={spec.name: f"expected {spec.describe()}"})
    target = np.dtype(spec.dtype)
    if kind == "f" and target.kind in "iub":
        if not np.all(np.isfinite(array)) or not np.all(array == np.rint(array)):
            raise BadRequest(f"{what}: input '{spec.name}' takes integers, got fractions",
                             errors={spec.name: f"expected {spec.describe()}"})
    return array.astype(target, copy=False)


def _kind_name(array: np.ndarray) -> str:
    return {"U": "text", "S": "bytes", "O": "objects"}.get(array.dtype.kind, array.dtype.name)


def text(spec: TensorSpec, value: Any, what: str) -> np.ndarray:
    """Strings for a text input (a list of strings, or one)."""
    if isinstance(value, Mapping) and "b64" in value:
        value = b64_bytes(value["b64"], what).decode("utf-8", "replace")
    try:
        array = np.array(value, dtype=object)
    except (ValueError, TypeError):
        raise BadRequest(f"{what}: not a regular array of strings", errors={spec.name: "ragged lists"}) from None
    if not all(isinstance(v, str) for v in array.flat):
        raise BadRequest(f"{what}: input '{spec.name}' takes strings", errors={spec.name: "expected strings"})
    return array


def sparse(spec: TensorSpec, triple: Sequence[Any], what: str) -> np.ndarray:
    """A dense instance from ``[indices, values, shape]``."""
    try:
        indices = np.asarray(triple[0], dtype=np.int64)
        shape = tuple(int(d) for d in np.asarray(triple[2], dtype=np.int64).reshape(-1))
    except (ValueError, TypeError, OverflowError):
        raise BadRequest(f"{what}: a sparse tensor is [indices, values, shape] of integers, values and "
                         "integers", errors={spec.name: "malformed sparse tensor"}) from None
    values = numeric(spec, triple[1], what).reshape(-1)
    if indices.ndim == 1 and len(shape) == 1:
        indices = indices[None, :]
    if indices.ndim == 2 and indices.shape != (len(shape), len(values)) and indices.shape == (len(values), len(shape)):
        indices = indices.T  # (nnz, ndim), as TensorFlow's SparseTensor takes them
    if indices.ndim != 2 or indices.shape != (len(shape), len(values)):
        raise BadRequest(f"{what}: sparse indices must be ndim x nnz ({len(shape)} x {len(values)}), got "
                         f"{'x'.join(map(str, indices.shape))}", errors={spec.name: "malformed sparse tensor"})
    if any(d < 0 for d in shape) or int(np.prod(shape, dtype=np.float64)) > MAX_ELEMENTS:
        raise PayloadTooLarge(f"{what}: the sparse tensor's shape {shape} is negative or too large")
    if indices.size and (indices.min() < 0 or np.any(indices.max(axis=1) >= np.asarray(shape))):
        raise BadRequest(f"{what}: a sparse index is outside the shape {shape}",
                         errors={spec.name: "sparse index out of range"})
    dense = np.zeros(shape, dtype=spec.dtype)
    dense[tuple(indices)] = values
    return dense


def instance_value(spec: TensorSpec, value: Any, scale: float, what: str) -> np.ndarray:
    """One instance's value of input ``spec`` as an array of its row shape."""
    if isinstance(value, Mapping):
        if "sparse" in value:
            return _checked(spec, _sparse_of(spec, value["sparse"], what), what)
        if {"indices", "values", "shape"} <= value.keys():
            return _checked(spec, sparse(spec, [value["indices"], value["values"], value["shape"]], what), what)
        if "b64" in value and not spec.is_text:
            return _checked(spec, decode_image(b64_bytes(value["b64"], what), spec, scale, what), what)
        if "b64" not in value:
            raise BadRequest(f"{what}: an object value is {{\"b64\": ...}} (an image) or a sparse tensor "
                             f"({{\"sparse\": [indices, values, shape]}}), got keys {sorted(value)[:5]}",
                             errors={spec.name: "unknown value object"})
    if spec.is_text:
        return _checked(spec, text(spec, value, what), what)
    if isinstance(value, str):
        return _checked(spec, decode_image(b64_bytes(value, what), spec, scale, what), what)
    try:
        array = numeric(spec, value, what)
    except BadRequest:
        if isinstance(value, list) and len(value) == 3 and isinstance(value[0], list):
            return _checked(spec, sparse(spec, value, what), what)  # [indices, values, shape]
        raise
    return _checked(spec, array, what)


def _sparse_of(spec: TensorSpec, triple: Any, what: str) -> np.ndarray:
    if not isinstance(triple, list) or len(triple) != 3:
        raise BadRequest(f"{what}: sparse must be [indices, values, shape]", errors={spec.name: "malformed sparse"})
    return sparse(spec, triple, what)


def _checked(spec: TensorSpec, array: np.ndarray, what: str) -> np.ndarray:
    if array.size > MAX_ELEMENTS:
        raise PayloadTooLarge(f"{what}: more than {MAX_ELEMENTS} values")
    check_row(spec, array, what)
    return array


def batch(spec: TensorSpec, values: list[Any], scale: float, where: str) -> np.ndarray:
    """The rows of input ``spec`` for ``values`` (one per instance), stacked."""
    if not spec.is_text and all(isinstance(v, (list, int, float)) and not isinstance(v, bool) for v in values):
        # The common case, numbers only: one conversion for the whole request.
        try:
            stacked = np.asarray(values)
        except (ValueError, TypeError):
            stacked = None
        if stacked is not None and stacked.dtype.kind in "iuf" and stacked.ndim == len(spec.shape):
            out = numeric(spec, stacked, f"{where}input '{spec.name}'")
            for i in range(len(values)) if _mismatch(spec, out) else ():
                check_row(spec, out[i], f"{where}instance {i}, input '{spec.name}'")
            return out
    rows = [instance_value(spec, v, scale, f"{where}instance {i}, input '{spec.name}'") for i, v in enumerate(values)]
    if len({r.shape for r in rows}) > 1:
        raise BadRequest(f"{where}input '{spec.name}': the instances have different shapes "
                         f"({', '.join(str(r.shape) for r in rows[:4])}); send them in separate requests",
                         errors={spec.name: "instances of different shapes"})
    return np.stack(rows)


def _mismatch(spec: TensorSpec, stacked: np.ndarray) -> bool:
    return any(want is not None and want != got for want, got in zip(spec.row_shape, stacked.shape[1:], strict=True))


VALUE_KEYS = frozenset({"b64", "sparse", "indices", "values", "shape"})


def _keyed(instance: Any, inputs: list[TensorSpec]) -> bool:
    """Does ``instance`` name its inputs (``{input: value}``), or is it the one input's value?"""
    if len(inputs) > 1:
        return True
    return isinstance(instance, Mapping) and inputs[0].name in instance and not (
        inputs[0].name not in VALUE_KEYS and set(instance) & VALUE_KEYS == set(instance))


def feeds_of(instances: Any, inputs: list[TensorSpec], scale: float) -> tuple[dict[str, np.ndarray], int]:
    """``{"instances": [...]}`` rows → the model's feeds and the number of rows."""
    if not isinstance(instances, list) or not instances:
        raise BadRequest("instances must be a non-empty list", errors={"instances": "expected a non-empty list"})
    names = {spec.name for spec in inputs}
    keyed = [_keyed(instance, inputs) for instance in instances]
    for i, instance in enumerate(instances):
        if keyed[i] and not isinstance(instance, Mapping):
            raise BadRequest(f"instance {i} must be an object with the model's inputs: {', '.join(sorted(names))}",
                             errors={"instances": "expected objects keyed by input name"})
        extra = set(instance) - names if keyed[i] else set()
        if extra:
            raise BadRequest(f"instance {i} has unknown input(s) {', '.join(sorted(extra)[:5])} "
                             f"(inputs: {', '.join(sorted(names))})", errors={k: "unknown input" for k in extra})
    feeds: dict[str, np.ndarray] = {}
    for spec in inputs:
        values = []
        for i, instance in enumerate(instances):
            if not keyed[i]:
                values.append(instance)
            elif spec.name in instance:
                values.append(instance[spec.name])
            else:
                raise BadRequest(f"instance {i} lacks input '{spec.name}' (inputs: {', '.join(sorted(names))})",
                                 errors={spec.name: "missing"})
        feeds[spec.name] = batch(spec, values, scale, "")
    return feeds, len(instances)


def columns_of(columns: Any, inputs: list[TensorSpec]) -> tuple[dict[str, np.ndarray], int]:
    """``{"inputs": {name: [rows...]}}`` (columnar, as TF-Serving's) → feeds and rows."""
    if len(inputs) == 1 and isinstance(columns, list):
        columns = {inputs[0].name: columns}
    if not isinstance(columns, Mapping):
        raise BadRequest("inputs must be an object {input name: rows}", errors={"inputs": "expected an object"})
    names = {spec.name for spec in inputs}
    extra, missing = set(columns) - names, names - set(columns)
    if extra or missing:
        raise BadRequest(f"inputs must name exactly the model's inputs ({', '.join(sorted(names))})",
                         errors={**{k: "unknown input" for k in extra}, **{k: "missing" for k in missing}})
    feeds = {}
    for spec in inputs:
        rows = columns[spec.name]
        if not isinstance(rows, list) or not rows:
            raise BadRequest(f"inputs['{spec.name}'] must be a non-empty list of rows", errors={spec.name: "empty"})
        feeds[spec.name] = batch(spec, rows, 1.0, "")
    counts = {len(a) for a in feeds.values()}
    if len(counts) != 1:
        raise BadRequest("every input must have the same number of rows", errors={"inputs": "row counts differ"})
    return feeds, counts.pop()
