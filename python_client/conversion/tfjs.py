"""Keras model → TF.js layers model (``model.json`` + weight shards) that TF.js 4.22 loads;
SavedModel → TF.js graph model.

Imports TensorFlow and tensorflowjs when called: use it where TensorFlow belongs (the server's
conversion worker, the training side's conversion child or a training script), never in the
server process.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ConversionError
from .quiet import quiet_h5
from .tfjs_topology import rewrite_model_json

# tensorflowjs.converters imports every converter eagerly, including the TF-Decision-Forests and
# jax ones whose packages the --no-deps install leaves out (docs/conversion.md). Empty placeholders let
# the import succeed; the Keras converter never touches them.
_PLACEHOLDER_MODULES = ("tensorflow_decision_forests", "jax", "jax.experimental", "jax.experimental.jax2tf")

_converters: Any = None


def _import_tfjs_converters() -> Any:
    """Import ``tensorflowjs.converters`` once, with placeholder modules visible only meanwhile."""
    global _converters
    if _converters is not None:
        return _converters
    # Keras 3 probes for jax at import: it must be imported before the placeholder "jax" exists,
    # or it would take the empty module for a real backend.
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

    saved = {name: sys.modules.get(name) for name in _PLACEHOLDER_MODULES}
    for name in _PLACEHOLDER_MODULES:
        if saved[name] is None:
            sys.modules[name] = types.ModuleType(name)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import tensorflowjs.converters as converters
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
    _converters = converters
    return converters


def _run_converter(convert: Callable[[str], Any], output_dir: str | Path) -> tuple[Path, dict[str, Any]]:
    """Run a tensorflowjs converter into ``output_dir``; its ``model.json`` path and content.

    tensorflowjs prints "failed to lookup keras version ..." for every Keras 3 model (its version
    check only knows Keras 2): noise, kept out of stdout. It saves a temporary ``.h5`` too (Keras
    then warns that HDF5 is legacy).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.redirect_stdout(io.StringIO()), quiet_h5():
            convert(str(output_dir))
    except Exception as exc:
        raise ConversionError(f"TF.js conversion failed: {str(exc).strip()[:300] or type(exc).__name__}") from exc
    model_json_path = output_dir / "model.json"
    return model_json_path, json.loads(model_json_path.read_text(encoding="utf-8"))


def _files(model_json_path: Path, model_json: dict[str, Any]) -> list[str]:
    """``model.json`` then its weight shards in manifest order, as absolute paths."""
    shards = [path for group in model_json.get("weightsManifest", []) for path in group.get("paths", [])]
    return [str(p.absolute()) for p in (model_json_path, *(model_json_path.parent / s for s in shards))]


def keras_to_tfjs(model: Any, output_dir: str | Path) -> list[str]:
    """Write ``model`` as a TF.js layers model into ``output_dir`` and return the files written.

    The topology is rewritten into the Keras 2 form TF.js 4.22 expects (see
    :func:`~python_client.conversion.tfjs_topology.rewrite_model_json`); tf-keras models pass
    through it unchanged in substance.

    Returns:
        Absolute paths: ``model.json`` first, then the weight shards in manifest order.

    Raises:
        ConversionError: tensorflowjs could not convert the model.
    """
    converters = _import_tfjs_converters()
    path, model_json = _run_converter(lambda out: converters.save_keras_model(model, out), output_dir)
    model_json = rewrite_model_json(model_json)
    path.write_text(json.dumps(model_json), encoding="utf-8")
    return _files(path, model_json)


def saved_model_to_tfjs(saved_model_dir: str | Path, output_dir: str | Path) -> list[str]:
    """Write a TensorFlow SavedModel (``model.export(dir)``) as a TF.js **graph** model (inference only).

    Returns:
        Absolute paths: ``model.json`` first, then the weight shards in manifest order.

    Raises:
        ConversionError: tensorflowjs could not convert the SavedModel.
    """
    converters = _import_tfjs_converters()
    return _files(*_run_converter(lambda out: converters.convert_tf_saved_model(str(saved_model_dir), out),
                                  output_dir))
