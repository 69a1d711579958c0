"""Value decoding and Cluster Serving's Arrow format, without a server."""

from __future__ import annotations

import base64
import io

import numpy as np
import pyarrow as pa
import pytest

from backend.errors import BadRequest
from services.serving.arrow_codec import decode_entry, encode_result
from services.serving.decode import feeds_of
from services.serving.signature import TensorSpec

IMAGE = TensorSpec("image", (None, 4, 4, 1), np.float32, "tensor(float)")
INTS = TensorSpec("ids", (None, 3), np.int64, "tensor(int64)")


def test_integer_inputs_refuse_fractions() -> None:
    feeds, rows = feeds_of([[1, 2, 3], [4.0, 5, 6]], [INTS], 1.0)
    assert rows == 2 and feeds["ids"].dtype == np.int64
    with pytest.raises(BadRequest, match="takes integers"):
        feeds_of([[1, 2.5, 3]], [INTS], 1.0)


def test_grey_images_and_scale() -> None:
    from PIL import Image

    pixels = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    feeds, _ = feeds_of([{"b64": base64.b64encode(buf.getvalue()).decode()}], [IMAGE], 0.5)
    assert feeds["image"].shape == (1, 4, 4, 1) and np.allclose(feeds["image"][0, :, :, 0], pixels * 0.5)


def test_arrow_result_reads_back_like_the_zoo_client() -> None:
    value = encode_result([np.arange(6, dtype=np.float32).reshape(2, 3), np.array([[7.0]], dtype=np.float32)])
    batches = list(pa.ipc.open_stream(base64.b64decode(value)))
    shapes = [[i for i in b[1].to_pylist() if i] for b in batches]
    assert batches[0][0].to_numpy().reshape(shapes[0]).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert batches[1][0].to_numpy().reshape(shapes[1]).tolist() == [7.0]


def test_arrow_entries_map_by_position_and_refuse_garbage() -> None:
    spec = TensorSpec("x", (None, 2), np.float32, "tensor(float)")
    struct = pa.struct([("indiceData", pa.list_(pa.int32())), ("indiceShape", pa.list_(pa.int32())),
                        ("data", pa.list_(pa.float32())), ("shape", pa.list_(pa.int32()))])
    column = pa.array([{"indiceData": []}, {"indiceShape": []}, {"data": [1.0, 2.0]}, {"shape": [2]}], type=struct)
    sink = pa.BufferOutputStream()
    batch = pa.record_batch([column], names=["anything"])
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    values = decode_entry(base64.b64encode(sink.getvalue().to_pybytes()), [spec])
    assert values["x"].tolist() == [1.0, 2.0]
    with pytest.raises(BadRequest, match="not a base64 Arrow IPC stream"):
        decode_entry(base64.b64encode(b"nope"), [spec])
