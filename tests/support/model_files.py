"""Small model files that pass the server's upload checks, for tests that store models without
converting them (the real models come from ``tests.services.conversion.make_models``)."""

from __future__ import annotations

import io
import json
import zipfile


def tiny_onnx(name: str = "x") -> bytes:
    """A valid ONNX model (``y = Identity(<name>)``); ``name`` makes the bytes differ."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", [name], ["y"])], "tiny",
                              [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def keras_zip(config: object | None = None) -> bytes:
    """A ``.keras`` archive with a Keras config (not a model Keras can build unless ``config`` is one)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config if config is not None else {"class_name": "Sequential"}))
    return buffer.getvalue()
