"""Model files checked on arrival: an upload that is not the model its field name says is refused.

* ``*.keras``: a zip archive holding a Keras ``config.json`` (a JSON object);
* ``*.h5``: an HDF5 file (its signature), as long as its superblock says (not truncated);
* ``*.onnx``: a model onnxruntime loads; without onnxruntime, one the ``onnx`` package parses;
  with neither installed (the server does not otherwise need them), only the protobuf structure of
  the file's top level is read: it must be a sequence of well-formed fields, ending at the end of
  the file, with an ``ir_version`` (field 1) and a ``graph`` (field 7);
* TF.js ``model.json``: JSON with a ``modelTopology`` object.

Weight files (``*.bin``) are not checked: they are raw numbers. A check reads the whole file at
most; none imports TensorFlow. The checks block (files up to the upload limit), so the caller runs
them in a thread.
"""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: A check: the file (and its size) → what is wrong with it, or None.
Check = Callable[[BinaryIO, int], str | None]
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MAX_CONFIG = 64 * 1024 * 1024  # bytes of config.json read from a .keras zip (a zip bomb stops here)


def check_keras(f: BinaryIO, size: int) -> str | None:
    """A ``.keras`` file: a zip archive with a ``config.json`` object."""
    try:
        with zipfile.ZipFile(f) as archive:
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                return "its zip archive has no config.json (the Keras model config of a .keras file)"
            if info.file_size > _MAX_CONFIG:
                return f"its config.json is larger than {_MAX_CONFIG} bytes"
            config = json.loads(archive.read(info))
    except zipfile.BadZipFile:
        return "it is not a zip archive (a .keras file is one)"
    except (ValueError, OSError, RuntimeError, NotImplementedError) as exc:  # bad JSON, CRC, compression
        return f"its config.json is unreadable: {_first_line(exc)}"
    if not isinstance(config, dict):
        return "its config.json is not a JSON object"
    return None


def _hdf5_end(f: BinaryIO, start: int) -> int | None:
    """The file size the HDF5 superblock at ``start`` records (its end-of-file address), or None when
    it records none (an unknown superblock version, an undefined address)."""
    f.seek(start + 8)
    head = f.read(8)
    version = head[0] if head else -1
    if version in (0, 1):  # the size of offsets at byte 13; addresses from 24 (v0) or 28 (v1)
        width, first = (head[5] if len(head) > 5 else 0), (24 if version == 0 else 28)
    elif version in (2, 3):  # the size of offsets at byte 9; addresses from 12
        width, first = (head[1] if len(head) > 1 else 0), 12
    else:
        return None
    if width not in (2, 4, 8):
        return None
    f.seek(start + first)
    raw = f.read(3 * width)  # base address, then (free-space | extension) address, end-of-file address
    if len(raw) < 3 * width:
        return start + first + 3 * width  # the superblock itself is cut
    end = int.from_bytes(raw[2 * width:], "little")
    # libhdf5 writes the end of file counted from the file's first byte, user block included
    # (whatever the base address says): the file's own size when it is whole.
    return None if end == (1 << (8 * width)) - 1 else end  # all ones: "undefined address"


def check_h5(f: BinaryIO, size: int) -> str | None:
    """An HDF5 file: the signature at 0, 512, 1024, ... (after a user block), not truncated."""
    start = 0
    while start + len(HDF5_SIGNATURE) <= size:
        f.seek(start)
        if f.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
            end = _hdf5_end(f, start)
            if end is not None and end > size:
                return f"it is truncated ({size} of its {end} bytes)"
            return None
        start = 512 if start == 0 else start * 2
    return "it is not an HDF5 file (no HDF5 signature)"


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def onnx_problem_onnxruntime(data: bytes) -> str | None:
    """What onnxruntime says when it cannot load ``data`` as a model."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # its own log would repeat the error on the server's stderr
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        onnxruntime.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for each failure
        return f"onnxruntime cannot load it: {_first_line(exc)}"
    return None


def onnx_problem_onnx(data: bytes) -> str | None:
    """What the ``onnx`` package says when ``data`` does not parse as a model with a graph."""
    import onnx

    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf's DecodeError, among others
        return f"it does not parse as an ONNX model: {_first_line(exc)}"
    return None if model.HasField("graph") else "it has no graph"


def _varint(f: BinaryIO) -> int | None:
    value, shift = 0, 0
    while shift < 64:
        byte = f.read(1)
        if not byte:
            return None
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
        shift += 7
    return None


def onnx_header_problem(f: BinaryIO, size: int) -> str | None:
    """The minimal check: the top level is well-formed protobuf with ``ir_version`` and ``graph``."""
    f.seek(0)
    seen: set[int] = set()
    while f.tell() < size:
        key = _varint(f)
        field, wire = (key >> 3, key & 7) if key is not None else (0, -1)
        if field == 0 or wire not in (0, 1, 2, 5):
            return "it is not a protobuf ONNX model (malformed field)"
        if wire == 0:
            if _varint(f) is None:
                return "it is not a protobuf ONNX model (truncated field)"
        else:
            length = _varint(f) if wire == 2 else {1: 8, 5: 4}[wire]
            if length is None or f.tell() + length > size:
                return "it is not a protobuf ONNX model (truncated field)"
            f.seek(length, io.SEEK_CUR)
        seen.add(field)
    if not {1, 7} <= seen:
        return "it is not an ONNX model (no ir_version or no graph)"
    return None


def check_onnx(f: BinaryIO, size: int) -> str | None:
    """An ONNX model, as well as the installed libraries can tell (see the module docstring)."""
    for module, parse in (("onnxruntime", onnx_problem_onnxruntime), ("onnx", onnx_problem_onnx)):
        if importlib.util.find_spec(module) is not None:
            f.seek(0)
            return parse(f.read())
    return onnx_header_problem(f, size)


def check_model_json(f: BinaryIO, size: int) -> str | None:
    """A TF.js ``model.json``: JSON with a ``modelTopology`` object."""
    try:
        doc = json.loads(f.read())
    except ValueError as exc:  # UnicodeDecodeError is one
        return f"it is not JSON ({_first_line(exc)})"
    if not isinstance(doc, dict) or not isinstance(doc.get("modelTopology"), dict):
        return "it has no modelTopology (the model's structure in a TF.js model.json)"
    return None


#: What each kind of file must be, for the message: "File 'x' (field 'y') is not <what>: <problem>".
CHECKS: dict[str, tuple[str, Check]] = {
    ".keras": ("a .keras model", check_keras),
    ".h5": ("an HDF5 (.h5) model", check_h5),
    ".onnx": ("an ONNX model", check_onnx),
    "model.json": ("a TF.js model.json", check_model_json),
}


def check_for(field: str) -> tuple[str, Check] | None:
    """The check of an upload field (its name decides), or None for files that are not checked."""
    if field == "model.json":
        return CHECKS["model.json"]
    return CHECKS.get(Path(field.lower()).suffix)


def problem(field: str, f: BinaryIO, size: int) -> str | None:
    """What is wrong with the file uploaded as ``field`` (``"is not <what>: <why>"``), or None."""
    check = check_for(field)
    if check is None:
        return None
    what, run = check
    f.seek(0)
    why = run(f, size)
    return None if why is None else f"is not {what}: {why}"
