"""``conform_dict``: numpy and friends become JSON-plain values, without touching the input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from python_client.ids import object_id
from python_client.model_files import checkpoint_basename
from python_client.utils import conform_dict, to_json


def test_numpy_values_become_plain() -> None:
    data = {
        "i": np.int64(3), "u": np.uint8(7), "f": np.float32(0.5), "h": np.float16(2.0), "b": np.bool_(True),
        "arr": np.arange(6).reshape(2, 3), "farr": np.array([0.25, np.nan]), "c": np.complex64(1 + 2j),
        "v": np.void(b"\x00"), "nested": [{"x": (np.int32(1), np.float64(np.inf))}], "s": np.str_("txt"),
        3: "int key", "when": dt.datetime(2026, 1, 2, 3, 4, 5), "path": Path("/tmp/x"), "set": {1},
    }
    out = conform_dict(data)
    assert out == {
        "i": 3, "u": 7, "f": 0.5, "h": 2.0, "b": True, "arr": [[0, 1, 2], [3, 4, 5]], "farr": [0.25, None],
        "c": {"real": 1.0, "imag": 2.0}, "v": None, "nested": [{"x": [1, None]}], "s": "txt", "3": "int key",
        "when": "2026-01-02T03:04:05", "path": "/tmp/x", "set": [1],
    }
    assert type(out["i"]) is int and type(out["f"]) is float and type(out["b"]) is bool
    json.loads(to_json(data))  # strict JSON: NaN and inf are gone
    assert isinstance(data["i"], np.int64)  # the input is left alone


def test_unknown_objects_pass_or_go_through_default() -> None:
    marker = object()
    assert conform_dict({"o": marker})["o"] is marker
    assert conform_dict({"o": marker}, default=lambda v: "obj")["o"] == "obj"


def test_object_ids_are_unique_and_server_shaped() -> None:
    ids = {object_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) == 24 and int(i, 16) >= 0 for i in ids)


def test_checkpoint_file_names_take_any_integer_epoch() -> None:
    for epoch in (3, np.int64(3), np.int32(3), np.uint8(3)):  # a training loop's counter may be numpy's
        assert checkpoint_basename(epoch) == "model_checkpoint_epoch=3"
    for other in ("final", None, True, 2.5):
        assert checkpoint_basename(other) == "model_checkpoint_final"
