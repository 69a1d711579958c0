"""The upload checks one by one, on files made here: each ONNX parser the server may fall back on, HDF5
superblock versions and user blocks, and what a check reads of a file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import h5py
import pytest

from services.models.checks import (
    check_h5,
    check_model_json,
    check_onnx,
    onnx_header_problem,
    onnx_problem_onnx,
    onnx_problem_onnxruntime,
    problem,
)
from tests.support.model_files import tiny_onnx


def stream(data: bytes) -> tuple[io.BytesIO, int]:
    return io.BytesIO(data), len(data)


def header(data: bytes) -> str | None:
    return onnx_header_problem(*stream(data))


PARSERS = {"onnxruntime": onnx_problem_onnxruntime, "onnx": onnx_problem_onnx, "header": header}


@pytest.mark.parametrize("parser", PARSERS)
def test_every_onnx_parser_accepts_real_models(parser: str, converted: dict[str, Path]) -> None:
    for data in (tiny_onnx(), converted["onnx"].read_bytes()):
        assert PARSERS[parser](data) is None


@pytest.mark.parametrize(
    ("parser", "data", "why"),
    [
        ("onnx", b"onnx bytes", "it does not parse as an ONNX model: Error parsing message with type "
                                "'onnx.ModelProto': Wire format was corrupt"),
        ("header", b"onnx bytes", "it is not a protobuf ONNX model (malformed field)"),
        ("header", b"\x08\x07\x12", "it is not a protobuf ONNX model (truncated field)"),
        ("header", b"\x08\x07", "it is not an ONNX model (no ir_version or no graph)"),  # ir_version alone
        ("onnx", b"\x08\x07", "it has no graph"),
        ("onnxruntime", b"\x08\x07", "onnxruntime cannot load it: [ONNXRuntimeError] : 2 : INVALID_ARGUMENT : "
                                     "No graph was found in the protobuf."),
    ],
)
def test_onnx_parsers_name_the_problem(parser: str, data: bytes, why: str) -> None:
    assert PARSERS[parser](data) == why


def test_a_truncated_onnx_model_fails_the_minimal_check(converted: dict[str, Path]) -> None:
    data = converted["onnx"].read_bytes()
    assert header(data[: len(data) - 10]) == "it is not a protobuf ONNX model (truncated field)"


def test_check_onnx_uses_the_best_installed_parser() -> None:
    assert check_onnx(*stream(b"\x08\x07")) == onnx_problem_onnxruntime(b"\x08\x07")


def h5_file(path: Path, **options: Any) -> bytes:
    with h5py.File(path, "w", **options) as h5:
        h5.create_dataset("weights", data=list(range(1000)))
        h5.attrs["model_config"] = "{}"
    return path.read_bytes()


@pytest.mark.parametrize("options", [{}, {"libver": "latest"}, {"userblock_size": 512}],
                         ids=["superblock-v0", "superblock-v3", "user-block"])
def test_h5_files_are_accepted_whole_and_refused_cut(tmp_path: Path, options: dict[str, Any]) -> None:
    data = h5_file(tmp_path / "m.h5", **options)
    assert check_h5(*stream(data)) is None
    cut = data[: len(data) - 100]
    assert check_h5(*stream(cut)) == f"it is truncated ({len(cut)} of its {len(data)} bytes)"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b'{"modelTopology": "a string"}', "it has no modelTopology (the model's structure in a TF.js model.json)"),
        (b'{"a": "\xff"}', "it is not JSON ('utf-8' codec can't decode byte 0xff in position 7: invalid start byte)"),
        (b'{"modelTopology": {"node": []}, "format": "graph-model"}', None),
    ],
)
def test_model_json(content: bytes, why: str | None) -> None:
    assert check_model_json(*stream(content)) == why


@pytest.mark.parametrize("field", ["model.weights.bin", "group1-shard1of2.bin", "notes.txt"])
def test_only_model_files_are_checked(field: str) -> None:
    assert problem(field, *stream(b"anything")) is None
