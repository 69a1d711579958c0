"""Load a saved ``.keras`` / ``.h5`` model, whichever Keras saved it: the one Keras loader.

Imports Keras (and TensorFlow) when a model is loaded, so it runs where conversions run (the
conversion worker or child, a training script); reading the saver's version needs no TensorFlow.
Keras 3 loads its own ``.keras``/``.h5`` and tf-keras ``.h5``; it cannot load a tf-keras ``.keras``,
which only tf-keras reads (docs/conversion.md). The saver is told by ``keras_version`` in
``metadata.json`` (inside the ``.keras`` zip) or in the ``.h5`` root attributes.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import ConversionError
from .quiet import quiet_h5

Flavor = Literal["keras3", "tf_keras"]
SUFFIXES = (".keras", ".h5")


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded from a file, with who saved it and who loaded it.

    Attributes:
        model: The Keras model (a Keras 3 model, or a tf-keras model for tf-keras ``.keras`` files).
        saved_by_version: ``keras_version`` recorded in the file (``""`` if absent).
        loaded_with: ``"keras3"`` or ``"tf_keras"``: which library holds ``model``.
    """

    model: Any
    saved_by_version: str
    loaded_with: Flavor

    @property
    def saved_by_keras3(self) -> bool:
        """True if Keras 3 (or later) wrote the file."""
        return _major(self.saved_by_version) >= 3


def _major(version: str) -> int:
    try:
        return int(version.split(".")[0])
    except ValueError:
        return 0


def _short(exc: BaseException, limit: int = 300) -> str:
    """First line of an exception, trimmed: Keras messages can be pages of config dumps."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unreadable(path: Path) -> str:
    return f"could not load the model file {path.name}"


def read_keras_version(path: str | Path) -> str:
    """Return the ``keras_version`` recorded in a ``.keras`` or ``.h5`` file.

    Raises:
        ConversionError: the file is missing, has another suffix, or is not a readable archive.
    """
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"model file not found: {path.name}", "invalid_model")
    suffix = path.suffix.lower()
    if suffix == ".keras":
        try:
            with zipfile.ZipFile(path) as archive:
                metadata = json.loads(archive.read("metadata.json"))
        except zipfile.BadZipFile as exc:
            raise ConversionError(
                f"{_unreadable(path)}: not a valid .keras file (not a zip archive)", "invalid_model"
            ) from exc
        except KeyError as exc:
            raise ConversionError(
                f"{_unreadable(path)}: not a valid .keras file (no metadata.json)", "invalid_model"
            ) from exc
        except (ValueError, OSError) as exc:
            raise ConversionError(
                f"{_unreadable(path)}: its metadata.json is unreadable: {_short(exc)}", "invalid_model"
            ) from exc
        return str(metadata.get("keras_version", "")) if isinstance(metadata, dict) else ""
    if suffix == ".h5":
        import h5py  # a TensorFlow dependency; imported here to keep module import light

        try:
            with h5py.File(path, "r") as h5:
                if "model_config" not in h5.attrs:
                    raise ConversionError(
                        f"{_unreadable(path)}: it holds no model architecture (a weights-only .h5 file?)",
                        "invalid_model",
                    )
                raw = h5.attrs.get("keras_version", b"")
        except OSError as exc:
            raise ConversionError(f"{_unreadable(path)}: not a valid HDF5 (.h5) file", "invalid_model") from exc
        return raw.decode() if isinstance(raw, bytes) else str(raw)
    raise ConversionError(
        f"unsupported model file type {suffix or '(none)'!r}; upload a .keras or .h5 Keras model", "invalid_model"
    )


def _load_keras3(path: Path) -> Any:
    import keras

    with quiet_h5():
        return keras.saving.load_model(path, compile=False)


def _load_tf_keras(path: Path) -> Any:
    try:
        import tf_keras
    except ImportError as exc:  # tf-keras is an optional, --no-deps install
        raise ConversionError(
            f"{path.name} was saved by tf-keras in the .keras format, which needs tf-keras to load; "
            "save it as .h5 instead",
            "invalid_model",
        ) from exc
    return tf_keras.models.load_model(path, compile=False)


def _has_inputs(model: Any) -> bool:
    """True if the model knows its inputs (unbuilt Sequential models raise on ``.inputs``)."""
    try:
        return bool(model.inputs)
    except (AttributeError, ValueError):
        return False


def load_keras_model(path: str | Path) -> LoadedModel:
    """Load a Keras model file saved by Keras 3 or by tf-keras (``compile=False``).

    Keras 3 loads everything it can (its own formats and tf-keras ``.h5``), so most models come
    back as Keras 3 models whatever saved them; only a tf-keras ``.keras`` file is loaded with
    tf-keras.

    Raises:
        ConversionError: the file is corrupt, of an unsupported kind, or Keras cannot rebuild it
            (e.g. it uses custom layers this server does not know).
    """
    path = Path(path)
    version = read_keras_version(path)
    use_tf_keras = path.suffix.lower() == ".keras" and 0 < _major(version) < 3
    try:
        model = _load_tf_keras(path) if use_tf_keras else _load_keras3(path)
    except ConversionError:
        raise
    except Exception as exc:  # Keras raises anything from ValueError to TypeError on bad files
        saver = f"Keras {version}" if version else "an unknown Keras version"
        raise ConversionError(f"could not load {path.name} (saved by {saver}): {_short(exc)}", "invalid_model") from exc
    if not _has_inputs(model):
        raise ConversionError(
            f"{path.name} holds a model that was never built, so its input shape is unknown; "
            "start it with keras.Input(shape) (or call it once) before saving",
            "invalid_model",
        )
    return LoadedModel(model=model, saved_by_version=version, loaded_with="tf_keras" if use_tf_keras else "keras3")
