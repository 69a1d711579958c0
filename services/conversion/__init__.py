"""Server-side model conversion: the worker pool on top of :mod:`python_client.conversion`.

The server uses :class:`ConversionPool` only; jobs and results are the shared package's. Everything
importable from here is light: TensorFlow is imported by the pool's worker processes alone.
"""

from python_client.conversion import TFJS_LAYERS_MODEL, ConversionError, ConversionJob, ConversionResult, Target

from .pool import ConversionPool, PoolBusyError, PoolClosedError

__all__ = [
    "TFJS_LAYERS_MODEL",
    "ConversionError",
    "ConversionJob",
    "ConversionPool",
    "ConversionResult",
    "PoolBusyError",
    "PoolClosedError",
    "Target",
]
