"""Keras → ONNX: moved to :mod:`python_client.conversion.onnx` (shared with the Python client); this
name stays for the conversion worker. Imports TensorFlow when called."""

from python_client.conversion.onnx import ONNX_OPSET, keras_to_onnx, keras_to_onnx_file

__all__ = ["ONNX_OPSET", "keras_to_onnx", "keras_to_onnx_file"]
