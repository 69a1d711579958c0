"""Keras model → ONNX.

Imports TensorFlow and tf2onnx when called (the server's conversion worker, the training side's
conversion child or a training script; never the server process). ``tf2onnx.convert.from_keras``
breaks on Keras 3 Sequential models (``KeyError: 'keras_tensor_N'``); tracing a ``tf.function``
that calls the model with ``training=False`` works for every model tried (docs/conversion.md), so
that is the one path used.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import ConversionError

#: Opsets 13-18 work with tf2onnx 1.17 + onnxruntime 1.31; 19 is rejected. 17 is widely supported.
ONNX_OPSET = 17


def _input_names(model: Any, count: int) -> list[str]:
    """Stable, unique ONNX input names taken from the Keras input names.

    Names must be explicit: otherwise tf2onnx derives them from TensorFlow's global tensor counter,
    and they would depend on what the worker converted before.
    """
    names: list[str] = []
    raw_names = list(getattr(model, "input_names", None) or [])
    for index in range(count):
        raw = raw_names[index] if index < len(raw_names) else ""
        if not raw:
            tensor = model.inputs[index]
            raw = getattr(tensor, "name", "") or ""
        name = re.sub(r"[^0-9A-Za-z_]", "_", str(raw).split(":")[0]) or f"input_{index}"
        if name in names:
            name = f"{name}_{index}"
        names.append(name)
    return names


def _trace(serve: Any, signature: list[Any], opset: int) -> bytes:
    """The serialized ONNX model of ``tf.function`` ``serve``, traced by tf2onnx."""
    import tf2onnx

    try:
        proto, _ = tf2onnx.convert.from_function(serve, input_signature=signature, opset=opset)
    except Exception as exc:
        raise ConversionError(f"ONNX conversion failed: {str(exc).strip()[:300] or type(exc).__name__}") from exc
    return proto.SerializeToString()


def keras_to_onnx(model: Any, opset: int = ONNX_OPSET) -> bytes:
    """Convert a Keras (3 or tf-keras) model to a serialized ONNX model.

    The ONNX inputs are named after the Keras inputs and keep their batch dimension dynamic.

    Raises:
        ConversionError: the model has no defined inputs, or tf2onnx could not convert it.
    """
    import tensorflow as tf

    inputs = list(getattr(model, "inputs", None) or [])
    if not inputs:
        raise ConversionError("the model has no defined inputs (build it with an Input layer before saving)")
    names = _input_names(model, len(inputs))
    signature = [
        tf.TensorSpec(tuple(tensor.shape), tf.as_dtype(tensor.dtype), name=name)
        for tensor, name in zip(inputs, names, strict=True)
    ]

    if len(signature) == 1:

        @tf.function(input_signature=signature)
        def serve(x: Any) -> Any:
            return model(x, training=False)

    else:

        @tf.function(input_signature=signature)
        def serve(*xs: Any) -> Any:
            return model(list(xs), training=False)

    return _trace(serve, signature, opset)


def saved_model_to_onnx(saved_model_dir: str | Path, opset: int = ONNX_OPSET) -> bytes:
    """Convert a TensorFlow SavedModel (``model.export(dir)``) to a serialized ONNX model.

    The model's ``serving_default`` signature is traced; the ONNX inputs keep the signature's names.

    Raises:
        ConversionError: the SavedModel has no serving signature, or tf2onnx could not convert it.
    """
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(saved_model_dir))
        serving = loaded.signatures["serving_default"]
    except (KeyError, OSError, ValueError) as exc:
        raise ConversionError(f"not a SavedModel with a serving signature: {exc}", "invalid_model") from exc
    specs = serving.structured_input_signature[1]
    names = list(specs)
    signature = [tf.TensorSpec(specs[n].shape, specs[n].dtype, name=n) for n in names]

    @tf.function(input_signature=signature)
    def serve(*xs: Any) -> Any:
        return serving(**dict(zip(names, xs, strict=True)))

    return _trace(serve, signature, opset)
