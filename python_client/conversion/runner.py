"""Run one conversion job in the current process: the per-job entry point of every conversion process.

The server's worker processes and the training side's conversion child run :func:`run_job` for
each job they read; an in-process conversion (``PLUME_CONVERT_IN_PROCESS=1``, Windows) calls
:func:`run`. Imports TensorFlow (through the loader and the converters): never call this from the
server process.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from .errors import ConversionError
from .jobs import TFJS_GRAPH_MODEL, TFJS_LAYERS_MODEL, ConversionJob, ConversionResult

ONNX_FILE_NAME = "model.onnx"


def _publish(staging: Path, output_dir: Path, files: list[str]) -> list[str]:
    """Move the staged files into ``output_dir``, keeping their order; return the new paths."""
    published: list[str] = []
    for file in files:
        target = output_dir / Path(file).name
        os.replace(file, target)  # same filesystem (staging lives inside output_dir): atomic
        published.append(str(target))
    return published


def _convert_into(job: ConversionJob, staging: Path) -> tuple[list[str], str | None]:
    """Convert ``job``'s input into ``staging``; the files written and the TF.js model format."""
    saved_model = job.source_format == "saved_model"
    if job.target == "tfjs":
        from .tfjs import keras_to_tfjs, saved_model_to_tfjs

        if saved_model:
            return saved_model_to_tfjs(job.input_path, staging), TFJS_GRAPH_MODEL
        return keras_to_tfjs(_load(job.input_path), staging), TFJS_LAYERS_MODEL
    from .onnx import keras_to_onnx, saved_model_to_onnx

    onnx = saved_model_to_onnx(job.input_path) if saved_model else keras_to_onnx(_load(job.input_path))
    path = staging / ONNX_FILE_NAME
    path.write_bytes(onnx)
    return [str(path)], None


def _load(path: str) -> Any:
    from .keras_load import load_keras_model

    return load_keras_model(path).model


def run(job: ConversionJob) -> ConversionResult:
    """Convert ``job.input_path`` to ``job.target``; the result says what was produced or what failed.

    Files are written to ``job.staging_dir`` and moved into ``job.output_dir`` only when the whole
    conversion succeeded, so a failed job never leaves a half-written model where it would be
    served or uploaded. Never raises for a failed conversion: one bad model must not take the
    process that converts down.
    """
    started = time.perf_counter()
    staging = Path(job.staging_dir)
    try:
        staging.mkdir(parents=True, exist_ok=True)
        files, tfjs_format = _convert_into(job, staging)
        result = ConversionResult(job.job_id, job.target, _publish(staging, Path(job.output_dir), files),
                                  tfjs_model_format=tfjs_format)
    except ConversionError as exc:
        result = ConversionResult.failure(job, exc)
    except Exception as exc:  # a converter's bug, or a file no check foresaw: what the user can act on
        detail = str(exc).strip()[:300] or type(exc).__name__
        result = ConversionResult.failure(job, ConversionError(
            f"{job.target} conversion failed: {type(exc).__name__}: {detail}"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    result.worker_pid = os.getpid()
    return result


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """:func:`run` for a job given as a dict (:meth:`ConversionJob.to_dict`); the result as a dict."""
    return run(ConversionJob.from_dict(job)).to_dict()


def warm_up() -> None:
    """Import everything a job needs, so that the first job does not pay for it (about 3 s)."""
    import keras  # noqa: F401
    import tensorflow  # noqa: F401
    import tf2onnx  # noqa: F401

    from .tfjs import _import_tfjs_converters

    _import_tfjs_converters()
