"""Server-side model conversion: Keras (3 or tf-keras) ``.keras``/``.h5`` → TF.js layers model or ONNX.

The server uses :class:`ConversionPool` only. Everything importable from this package root is light:
TensorFlow is imported by the spawned worker processes alone (``keras_load``, ``to_tfjs``,
``to_onnx`` and ``runner`` import it; do not import those in the server).
"""

from .errors import ConversionError, ErrorKind, PoolBusyError, PoolClosedError
from .jobs import TFJS_LAYERS_MODEL, ConversionJob, ConversionResult, Target
from .pool import ConversionPool

__all__ = [
    "TFJS_LAYERS_MODEL",
    "ConversionError",
    "ConversionJob",
    "ConversionPool",
    "ConversionResult",
    "ErrorKind",
    "PoolBusyError",
    "PoolClosedError",
    "Target",
]
