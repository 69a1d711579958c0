"""Run one conversion job in the current process (the worker's per-job entry point).

Imports TensorFlow (through the converters): never call this from the server process; go through
:class:`~services.conversion.pool.ConversionPool`.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from .errors import ConversionError
from .jobs import TFJS_LAYERS_MODEL, ConversionJob, ConversionResult
from .keras_load import load_keras_model

ONNX_FILE_NAME = "model.onnx"


def _publish(staging: Path, output_dir: Path, files: list[str]) -> list[str]:
    """Move the staged files into ``output_dir``, keeping their order; return the new paths."""
    published: list[str] = []
    for file in files:
        target = output_dir / Path(file).name
        os.replace(file, target)  # same filesystem (staging lives inside output_dir): atomic
        published.append(str(target))
    shutil.rmtree(staging, ignore_errors=True)
    return published


def convert(job: ConversionJob) -> list[str]:
    """Convert ``job.input_path`` to ``job.target`` and return the produced files.

    Files are written to ``job.staging_dir`` and moved into ``job.output_dir`` only when the whole
    conversion succeeded, so a failed job never leaves a half-written model where the server
    would serve it.

    Raises:
        ConversionError: the model could not be loaded or converted.
    """
    output_dir = Path(job.output_dir)
    staging = Path(job.staging_dir)
    staging.mkdir(parents=True, exist_ok=True)
    try:
        loaded = load_keras_model(job.input_path)
        if job.target == "tfjs":
            from .to_tfjs import keras_to_tfjs

            files = keras_to_tfjs(loaded.model, staging)
        else:
            from .to_onnx import keras_to_onnx_file

            files = [keras_to_onnx_file(loaded.model, staging / ONNX_FILE_NAME)]
        return _publish(staging, output_dir, files)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_job(job_data: dict[str, Any]) -> dict[str, Any]:
    """Worker entry point: run a job given as a dict and return the result as a dict.

    Never raises for a failed conversion: the failure is reported in the result, so one bad model
    cannot take the worker down.
    """
    job = ConversionJob.from_dict(job_data)
    started = time.perf_counter()
    try:
        files = convert(job)
    except ConversionError as exc:
        result = ConversionResult.failure(job, exc.message, exc.kind)
    except Exception as exc:  # an unexpected converter bug: report it, keep the worker alive
        result = ConversionResult.failure(
            job, f"conversion failed: {type(exc).__name__}: {exc}"[:400], "conversion_failed"
        )
    else:
        result = ConversionResult(
            job_id=job.job_id,
            target=job.target,
            files=files,
            tfjs_model_format=TFJS_LAYERS_MODEL if job.target == "tfjs" else None,
        )
    result.seconds = time.perf_counter() - started
    result.worker_pid = os.getpid()
    return result.to_dict()


def warm_up() -> None:
    """Import everything a job needs, so the first job does not pay for it (about 3 s)."""
    import keras  # noqa: F401
    import tensorflow  # noqa: F401
    import tf2onnx  # noqa: F401

    from .to_tfjs import _import_tfjs_converters

    _import_tfjs_converters()
