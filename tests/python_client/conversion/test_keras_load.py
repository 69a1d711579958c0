"""Detecting who saved a model file, and refusing bad files with a readable message.

Uses hand-made files (zip/HDF5), so TensorFlow is not needed: ``read_keras_version`` only reads
metadata. Loading real models is covered through the pool in ``test_conversion``.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest

from python_client.conversion.errors import ConversionError
from python_client.conversion.keras_load import read_keras_version


def make_keras_zip(path: Path, metadata: object | None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        if metadata is not None:
            archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("config.json", "{}")
    return path


@pytest.mark.parametrize("version", ["3.15.1", "2.21.0"])
def test_keras_zip_version(tmp_path: Path, version: str) -> None:
    path = make_keras_zip(tmp_path / "m.keras", {"keras_version": version, "date_saved": "x"})
    assert read_keras_version(path) == version


def test_h5_version(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["keras_version"] = "2.21.0"
        h5.attrs["model_config"] = "{}"
    assert read_keras_version(path) == "2.21.0"


@pytest.mark.parametrize(
    ("name", "make", "needle"),
    [
        ("a.keras", lambda p: make_keras_zip(p, None), "no metadata.json"),
        ("b.keras", lambda p: p.write_bytes(b"PK\x03\x04 truncated"), "not a valid .keras file"),
        ("c.h5", lambda p: p.write_bytes(b"not hdf5"), "not a valid HDF5"),
        ("d.onnx", lambda p: p.write_bytes(b""), "unsupported model file type '.onnx'"),
        ("e.keras", None, "model file not found"),
    ],
)
def test_bad_files_raise_conversion_error(tmp_path: Path, name: str, make: object, needle: str) -> None:
    path = tmp_path / name
    if callable(make):
        make(path)
    with pytest.raises(ConversionError) as info:
        read_keras_version(path)
    assert needle in info.value.message
    assert info.value.kind == "invalid_model"


def test_weights_only_h5_is_refused(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["keras_version"] = "3.15.1"
    with pytest.raises(ConversionError, match="no model architecture"):
        read_keras_version(path)


def test_reading_metadata_does_not_import_tensorflow() -> None:
    if "tensorflow" in sys.modules:
        pytest.skip("tensorflow was imported by another test module")
    import python_client.conversion.keras_load  # noqa: F401

    assert "tensorflow" not in sys.modules
