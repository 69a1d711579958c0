"""One local conversion job: a saved checkpoint → the TF.js or ONNX files its ``save_format`` uploads.

Runs in the conversion child process (:mod:`.worker`), or in the caller's thread when
``PLUME_CONVERT_IN_PROCESS=1``. Imports Keras, TensorFlow and tensorflowjs / tf2onnx when called.
A job and its answer are JSON-plain dicts, so that they cross the child's pipes unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..model_files import TFJS_GRAPH_MODEL, TFJS_LAYERS_MODEL, load_keras_model, quiet_h5
from .errors import ConversionError


def _load(path: Path) -> Any:
    """The Keras model in ``path``; a file Keras cannot read is an unusable model, not a crash."""
    try:
        return load_keras_model(path)
    except Exception as exc:
        detail = str(exc).strip()[:300] or type(exc).__name__
        raise ConversionError(f"could not load the model file {path}: {detail}", "invalid_model") from exc


def convert_checkpoint(path: Path, local_format: str, save_format: str,
                       work_dir: Path) -> tuple[list[str], dict[str, Any]]:
    """Convert checkpoint ``path`` (disk format ``local_format``) to ``save_format`` under ``work_dir``.

    Returns:
        The files written (TF.js: ``<work_dir>/tfjs/model.json`` first, then its shards; ONNX:
        ``<work_dir>/model.onnx``) and the metadata the model document gets.

    Raises:
        ConversionError: the checkpoint cannot be loaded or converted.
    """
    if save_format == "tfjs":
        from .tfjs import keras_to_tfjs, saved_model_to_tfjs

        out = work_dir / "tfjs"
        if local_format == "saved_model":
            return saved_model_to_tfjs(path, out), {"tfjsModelFormat": TFJS_GRAPH_MODEL}
        model = _load(path)
        with quiet_h5():  # tensorflowjs saves a temporary .h5 itself
            return keras_to_tfjs(model, out), {"tfjsModelFormat": TFJS_LAYERS_MODEL}
    if save_format == "onnx":
        from .onnx import keras_to_onnx, saved_model_to_onnx

        work_dir.mkdir(parents=True, exist_ok=True)
        onnx_path = work_dir / "model.onnx"
        saved = local_format == "saved_model"
        onnx_path.write_bytes(saved_model_to_onnx(path) if saved else keras_to_onnx(_load(path)))
        return [str(onnx_path.absolute())], {}
    raise ConversionError(f"no local conversion to {save_format!r}", "invalid_model")


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Answer one job (``path``, ``local_format``, ``save_format``, ``work_dir``).

    Returns:
        ``{"files": [...], "metadata": {...}}``, or ``{"error": message, "kind": kind}`` when the
        conversion failed (any exception: the caller only ever sees a :class:`ConversionError`).
    """
    try:
        files, metadata = convert_checkpoint(Path(job["path"]), job["local_format"], job["save_format"],
                                             Path(job["work_dir"]))
    except ConversionError as exc:
        return {"error": exc.message, "kind": exc.kind}
    except Exception as exc:  # a converter's bug or a broken file: the message is what the user can act on
        detail = str(exc).strip()[:300] or type(exc).__name__
        return {"error": f"{job.get('save_format')} conversion failed: {type(exc).__name__}: {detail}",
                "kind": "conversion_failed"}
    return {"files": files, "metadata": metadata}
