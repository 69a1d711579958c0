"""Model conversion, one package for the server's worker pool and the training side's child alike.

Keras (3 or tf-keras) ``.keras``/``.h5`` → TF.js layers model or ONNX, and a SavedModel → TF.js
graph model or ONNX. One job format (:mod:`.jobs`), one Keras loader (:mod:`.keras_load`), one
runner (:mod:`.runner`), one worker protocol (:mod:`.process`, whose child is :mod:`.child`). The
server's :class:`services.conversion.ConversionPool` runs bounded pools of such children; the
Python client converts ``save_format="tfjs"``/``"onnx"`` checkpoints in one (:mod:`.worker`).

What this package root exports is light (no TensorFlow), and so are :mod:`.errors`, :mod:`.jobs`,
:mod:`.quiet`, :mod:`.process`, :mod:`.worker` and :mod:`.tfjs_topology`: the server process
imports them. :mod:`.keras_load`, :mod:`.tfjs`, :mod:`.onnx` and :mod:`.runner` import TensorFlow
(and tensorflowjs / tf2onnx) when called: they run in a conversion process or a training script,
never in the server. docs/conversion.md holds the facts about the ML stack the code relies on.
"""

from .errors import ConversionError, ErrorKind
from .jobs import TARGETS, TFJS_GRAPH_MODEL, TFJS_LAYERS_MODEL, ConversionJob, ConversionResult, Target

__all__ = [
    "TARGETS",
    "TFJS_GRAPH_MODEL",
    "TFJS_LAYERS_MODEL",
    "ConversionError",
    "ConversionJob",
    "ConversionResult",
    "ErrorKind",
    "Target",
]
