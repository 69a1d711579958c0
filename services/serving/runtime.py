"""onnxruntime sessions for one endpoint (its replicas) behind a :class:`~.batcher.Batcher`.

onnxruntime is optional (the ``ml`` extra): without it the server starts, endpoints end
``failed`` with the reason, and predictions answer 503 (:func:`require_onnxruntime`).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.errors import BadRequest, Unavailable, Unprocessable

from .batcher import Batcher, Feeds
from .settings import ServingSettings
from .signature import TensorSpec

GPU_PROVIDERS = ("CUDAExecutionProvider", "ROCMExecutionProvider", "DmlExecutionProvider")
NO_RUNTIME = ("onnxruntime is not installed on this server, so it cannot serve predictions: "
              "install the ml extra (pip install 'plume[ml]') and restart it")


def onnxruntime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def require_onnxruntime() -> Any:
    """The onnxruntime module; 503 Unavailable when it is not installed."""
    try:
        import onnxruntime
    except ImportError:
        raise Unavailable(NO_RUNTIME) from None
    return onnxruntime


def gpu_providers() -> list[str]:
    """The GPU execution providers onnxruntime offers here (none on a CPU-only build)."""
    if not onnxruntime_installed():
        return []
    ort = require_onnxruntime()
    return [p for p in ort.get_available_providers() if p in GPU_PROVIDERS]


class ModelError(Exception):
    """The model file cannot be served (not ONNX, unsupported types...): the endpoint fails."""


def load_sessions(onnx: bytes, replicas: int, threads: int, gpu: bool) -> list[Any]:
    """``replicas`` onnxruntime sessions of the ``onnx`` bytes (blocking: call it in a thread)."""
    ort = require_onnxruntime()
    providers = [*gpu_providers(), "CPUExecutionProvider"] if gpu else ["CPUExecutionProvider"]
    sessions = []
    for _ in range(replicas):
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # Idle intra-op threads must not spin: they would take the CPU the event loop (and the
        # other replicas) need between batches.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        try:
            sessions.append(ort.InferenceSession(onnx, sess_options=options, providers=providers))
        except Exception as exc:  # onnxruntime has its own exception types for every failure
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"onnxruntime cannot load the model: {first}") from None
    return sessions


@dataclass
class Deployment:
    """One loaded endpoint: its sessions, signature, labels and batcher."""

    name: str
    sessions: list[Any]
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    labels: list[str] | None
    top_n: int | None
    image_scale: float
    config: tuple[Any, ...]  # what was loaded (model, replicas, gpu): a change reloads the endpoint
    batcher: Batcher = field(init=False)

    @classmethod
    async def load(cls, name: str, onnx: bytes, *, replicas: int, gpu: bool, labels: list[str] | None,
                   top_n: int | None, image_scale: float, settings: ServingSettings,
                   config: tuple[Any, ...]) -> Deployment:
        sessions = await asyncio.to_thread(load_sessions, onnx, replicas, settings.threads_per_replica, gpu)
        try:
            inputs = [TensorSpec.of(a) for a in sessions[0].get_inputs()]
            outputs = [TensorSpec.of(a) for a in sessions[0].get_outputs()]
        except ValueError as exc:
            raise ModelError(str(exc)) from None
        deployment = cls(name, sessions, inputs, outputs, labels, top_n, image_scale, config)
        batchable = all(spec.batchable for spec in inputs)
        deployment.batcher = Batcher(name, deployment._run_batch, replicas, max_batch=settings.max_batch,
                                     max_wait=settings.max_wait_ms / 1000, max_queue=settings.max_queue,
                                     batchable=batchable)
        return deployment

    def _run_batch(self, replica: int, feeds: Feeds) -> Sequence[np.ndarray]:
        """One ``session.run`` (on the replica's thread)."""
        try:
            return self.sessions[replica].run(None, feeds)  # type: ignore[no-any-return]
        except Exception as exc:  # the values passed our checks but the model refused them
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise Unprocessable(f"the model could not run on this input: {first}") from None

    async def run(self, feeds: Feeds, rows: int) -> list[np.ndarray]:
        """The outputs for ``rows`` rows of ``feeds`` (batched with other callers')."""
        if set(feeds) != {spec.name for spec in self.inputs}:
            raise BadRequest(f"the model's inputs are {', '.join(spec.name for spec in self.inputs)}")
        return await self.batcher.submit(feeds, rows)

    def describe(self) -> dict[str, Any]:
        """The server-written fields of the endpoint document."""
        return {"inputs": [s.to_json() for s in self.inputs], "outputs": [s.to_json() for s in self.outputs]}

    async def close(self) -> None:
        await self.batcher.close()
        self.sessions.clear()
