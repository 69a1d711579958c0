"""Model files on the training machine: checkpoints saved to disk, and the files each remote format uploads.

Disk formats (``disk_save_format`` / ``local_format``): ``"h5"``, ``"keras"`` and
``"saved_model"`` (Marcelle's spelling ``"save_model"`` is accepted). Remote formats
(``save_format``): ``"keras"`` uploads the ``.h5``/``.keras`` file itself to ``keras-models`` and the
server converts it (no tensorflowjs or tf2onnx needed here); ``"tfjs"`` and ``"onnx"`` convert
locally with :mod:`python_client.conversion`, in a child process (:mod:`.conversion.worker`).
Keras and TensorFlow are imported only inside the functions that need them.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .conversion.jobs import ConversionJob
from .conversion.quiet import quiet_h5

# Imported here, not where it is used: its atexit hook (stopping the conversion child) must be
# registered before any Writer's exit flush, which may still convert, so that it runs after it.
from .conversion.worker import convert
from .multipart import FilePart

LOCAL_FORMATS = ("h5", "keras", "saved_model")
REMOTE_FORMATS = ("tfjs", "onnx", "keras")
_SUFFIX = {"h5": ".h5", "keras": ".keras", "saved_model": ""}


def local_format(fmt: str) -> str:
    """The canonical disk format name (ValueError when unknown)."""
    fmt = "saved_model" if fmt == "save_model" else fmt
    if fmt not in LOCAL_FORMATS:
        raise ValueError(f"unknown local model format {fmt!r}: one of {', '.join(LOCAL_FORMATS)}")
    return fmt


def remote_format(fmt: str) -> str:
    """Check a remote format name (ValueError when unknown)."""
    if fmt not in REMOTE_FORMATS:
        raise ValueError(f"unknown remote model format {fmt!r}: one of {', '.join(REMOTE_FORMATS)}")
    return fmt


def checkpoint_basename(epoch: Any) -> str:
    """Marcelle's checkpoint file names: ``model_checkpoint_epoch=<n>`` or ``model_checkpoint_final``.

    Any integer counts (a numpy ``int64`` from a training loop too); ``bool`` is not an epoch.
    """
    if isinstance(epoch, numbers.Integral) and not isinstance(epoch, bool):
        return f"model_checkpoint_epoch={int(epoch)}"
    return "model_checkpoint_final"


def model_path(path: str | os.PathLike[str], fmt: str) -> Path:
    """``path`` with the suffix of ``fmt`` (Marcelle added ``.h5`` when it was missing)."""
    p = Path(path)
    suffix = _SUFFIX[local_format(fmt)]
    return p if not suffix or p.suffix == suffix else p.with_name(p.name + suffix)


def save_model(model: Any, path: str | os.PathLike[str], fmt: str) -> Path:
    """Save ``model`` to ``path`` in disk format ``fmt``; returns the path written."""
    fmt = local_format(fmt)
    target = model_path(path, fmt)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "saved_model":
        if hasattr(model, "export"):  # Keras 3: an inference SavedModel
            model.export(str(target), verbose=False)
        else:  # tf-keras
            import tensorflow as tf

            tf.saved_model.save(model, str(target))
    else:
        with quiet_h5():
            model.save(str(target))
    return target


@dataclass
class PreparedModel:
    """The files to upload for one model, the document's ``format`` and extra ``metadata``."""

    parts: list[FilePart]
    format: str
    metadata: dict[str, Any] = field(default_factory=dict)


def tfjs_parts(directory: Path) -> list[FilePart]:
    """The upload parts of a TF.js model folder: ``model.json`` and its weight files."""
    model_json = directory / "model.json"
    if not model_json.is_file():
        raise FileNotFoundError(f"{model_json} does not exist")
    parts = [FilePart.of(model_json, content_type="application/json")]
    for bin_file in sorted(directory.glob("*.bin")):
        parts.append(FilePart.of(bin_file))
    return parts


def prepare(path: Path, fmt: str, save_format: str, work_dir: Path) -> PreparedModel:
    """The files that model ``path`` (disk format ``fmt``) uploads as ``save_format``.

    ``work_dir`` receives the converted files (tfjs/onnx); the caller removes it afterwards.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the combination cannot be uploaded (a SavedModel to ``keras-models``).
        ConversionError: the local conversion failed.
    """
    fmt, save_format = local_format(fmt), remote_format(save_format)
    path = model_path(path, fmt)
    if not path.exists():
        raise FileNotFoundError(f"model file {path} does not exist")
    if save_format == "keras":
        if fmt == "saved_model":
            raise ValueError("keras-models takes .keras or .h5 files: save checkpoints as 'h5' or 'keras'")
        # The field name must end in .h5/.keras; the file name is kept for downloads.
        return PreparedModel([FilePart.of(path, field=f"model{path.suffix}")], "keras")
    # The load and conversion need TensorFlow and take tens of ms of CPU: they run in the
    # conversion child process, away from the training loop (see conversion.worker).
    out = work_dir / "tfjs" if save_format == "tfjs" else work_dir
    result = convert(ConversionJob(str(path), save_format, str(out), source_format=fmt))  # type: ignore[arg-type]
    if save_format == "tfjs":
        return PreparedModel(tfjs_parts(out), "tfjs", result.metadata)
    return PreparedModel([FilePart.of(Path(result.files[0]))], "onnx", result.metadata)
