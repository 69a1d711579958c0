"""Keras → TF.js layers / graph model and Keras → ONNX, shared by the client and the server's worker.

The Python client converts locally for ``save_format="tfjs"``/``"onnx"``; the server's conversion
worker (:mod:`services.conversion`) uses the same functions for ``keras-models``. Only
:mod:`.errors` and :mod:`.tfjs_topology` are importable without TensorFlow: :mod:`.tfjs` and
:mod:`.onnx` import it (and tensorflowjs / tf2onnx) when called, so load them where TensorFlow
belongs (a training script, a conversion worker), never in the server process.
"""

from .errors import ConversionError, ErrorKind

__all__ = ["ConversionError", "ErrorKind"]
