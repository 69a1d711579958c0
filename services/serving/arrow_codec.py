"""Cluster Serving's wire format (``analytics-zoo-serving`` 0.11.2, ``zoo/serving/client.py``).

Requests are stream entries ``{uri, data}``; ``data`` is a base64 Arrow IPC stream holding one
record batch with one column per input:

* a tensor (``np.ndarray``): a struct column ``{indiceData, indiceShape, data, shape}`` of four
  rows, each setting one field: ``data`` the float32 values, ``shape`` the dimensions;
* a sparse tensor (``[indices, values, shape]``): the same struct, ``indiceData`` holding the
  flattened ``ndim x nnz`` indices and ``indiceShape`` their shape;
* an image (a path, ``{"path"}`` or ``{"b64"}``): a string column with the base64 JPEG;
* a list of strings: a string column with the strings joined by ``|``.

A string column is an image for a numeric model input, and ``|``-separated text for a text input.
Columns map to the model's inputs by name, else by position (the client lets users name them freely).

Each answer is the hash ``cluster-serving_<stream>:<uri>`` with the field ``value``: a base64 Arrow
IPC stream with one record batch per model output, two columns ``data`` (float32 values) and
``shape`` (int32 dimensions, padded with nulls to the length of ``data``), which the client
reshapes; or the text ``NaN`` when the request failed.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from backend.errors import BadRequest

from .signature import TensorSpec

RESULT_PREFIX = "cluster-serving_"
FAILED = "NaN"


def result_key(stream: str, uri: str) -> str:
    """The hash holding the answer to ``uri`` on ``stream``."""
    return f"{RESULT_PREFIX}{stream}:{uri}"


def _tensor(rows: list[Any]) -> Any:
    """The value of one struct column: a dense array or ``{"indices", "values", "shape"}``."""
    merged: dict[str, Any] = {}
    for row in rows:
        for key, value in (row or {}).items():
            if value is not None and key not in merged:
                merged[key] = value
    shape = [int(d) for d in merged.get("shape") or []]
    values = np.asarray(merged.get("data") or [], dtype=np.float32)
    indices = merged.get("indiceData") or []
    if indices:
        index_shape = [int(d) for d in merged.get("indiceShape") or [len(shape), len(values)]]
        return {"indices": np.asarray(indices, dtype=np.int64).reshape(index_shape), "values": values, "shape": shape}
    if int(np.prod(shape)) != values.size:
        raise BadRequest(f"a tensor of {values.size} values cannot have the shape {shape}")
    return values.reshape(shape)


def decode_entry(data: bytes | str, inputs: list[TensorSpec]) -> dict[str, Any]:
    """A stream entry's ``data`` → ``{model input name: value}`` (in :mod:`.decode`'s vocabulary)."""
    import pyarrow as pa

    try:
        raw = base64.b64decode(data, validate=True)
        table = pa.ipc.open_stream(raw).read_all()
    except (binascii.Error, ValueError, pa.ArrowException) as exc:
        raise BadRequest(f"the entry's data is not a base64 Arrow IPC stream: {str(exc)[:200]}") from None
    if table.num_columns == 0:
        raise BadRequest("the entry holds no input")
    by_name = {spec.name: spec for spec in inputs}
    names = table.column_names
    if set(names) == set(by_name):
        specs = [by_name[n] for n in names]
    elif len(names) == len(inputs):
        specs = list(inputs)  # user-chosen keys: the model's inputs in order
    else:
        raise BadRequest(f"the entry has {len(names)} input(s) ({', '.join(names)}), the model takes "
                         f"{len(inputs)} ({', '.join(by_name)})")
    values: dict[str, Any] = {}
    for name, spec in zip(names, specs, strict=True):
        column = table.column(name)
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            text = column[0].as_py() or ""
            values[spec.name] = text.split("|") if spec.is_text else {"b64": text}
        elif pa.types.is_struct(kind):
            values[spec.name] = _tensor(column.to_pylist())
        else:
            raise BadRequest(f"input '{name}' has the Arrow type {kind}, which Cluster Serving does not send")
    return values


def _record_batch(array: np.ndarray) -> Any:
    import pyarrow as pa

    data = np.asarray(array, dtype=np.float32).reshape(-1)
    shape = [int(d) for d in np.shape(array)] or [1]
    while len(shape) > max(len(data), 1) and 1 in shape:
        shape.remove(1)  # the client pads shape to data's length: a few values cannot carry many dims
    length = max(len(data), len(shape))
    shape_column = pa.array(shape + [None] * (length - len(shape)), type=pa.int32())
    return pa.record_batch([pa.array(data, type=pa.float32()), shape_column], names=["data", "shape"])


def encode_result(outputs: list[np.ndarray]) -> str:
    """One instance's outputs (one array per model output) as the ``value`` of its answer."""
    import pyarrow as pa

    batches = [_record_batch(out) for out in outputs]
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batches[0].schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")
