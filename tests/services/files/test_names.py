"""Safe stored-file names, client-visible references and served content types."""

from __future__ import annotations

import pytest

from backend.errors import BadRequest
from services.files.names import check_name, parse_ref, unsafe_reason
from services.files.transfer import content_type


@pytest.mark.parametrize("name", ["model.json", "group1-shard1of2.bin", "photo 1.png", "é.wav", "a..b.png"])
def test_safe_names(name: str) -> None:
    assert unsafe_reason(name) is None and check_name(name, "field name") == name


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "/etc/passwd", "..\\x", "C:x", ".hidden",
                                  "x\x00y", "line\nbreak", " padded", "x" * 201])
def test_unsafe_names(name: str) -> None:
    assert unsafe_reason(name) is not None
    with pytest.raises(BadRequest):
        check_name(name, "file name")


def test_parse_ref() -> None:
    assert parse_ref("0123456789abcdef01234567/model.json") == ("0123456789abcdef01234567", "model.json")
    for bad in ("model.json", "0123456789abcdef01234567/../x", "0123456789ABCDEF01234567/x", "xyz/x", None, 3,
                "0123456789abcdef01234567/a/b"):
        assert parse_ref(bad) is None, bad


@pytest.mark.parametrize(
    ("name", "expected"),
    [("model.json", "application/json"), ("group1-shard1of1.bin", "application/octet-stream"),
     ("model.onnx", "application/octet-stream"), ("a.PNG", "image/png"), ("a.jpg", "image/jpeg"),
     ("a.wav", "audio/wav"), ("noext", "application/octet-stream")],
)
def test_content_types(name: str, expected: str) -> None:
    assert content_type(name) == expected
