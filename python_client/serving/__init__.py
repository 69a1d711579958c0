"""Serving from Python: the seed APIs of Analytics Zoo Cluster Serving (``InputQueue``,
``OutputQueue``) and SBrain (``ModelEndPoint``, ``ModelInferenceJob``) over a Plume server.

    from python_client.serving import InputQueue, OutputQueue, ModelEndPoint
    endpoint = ModelEndPoint.create("onnx-models/<id>", "mnist", "digits", 2, False)
    InputQueue(name="mnist").enqueue("img-1", image={"path": "seven.png"})
    OutputQueue(name="mnist").query("img-1")

Without ``host``/``port`` (or ``frontend_url``) the classes use the process's default connection
(:func:`python_client.connect`, ``PLUME_URL``). numpy is the only extra import; no TensorFlow.
"""

from __future__ import annotations

from .endpoint import ModelEndPoint
from .jobs import ModelInferenceJob
from .queues import InputQueue, OutputQueue

__all__ = ["InputQueue", "ModelEndPoint", "ModelInferenceJob", "OutputQueue"]
