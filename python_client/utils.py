"""JSON-plain values (``conform_dict``) and a Keras model's description (``get_model_info``).

Neither imports numpy, TensorFlow or Keras: numpy values are recognised by their type's module
and models are only asked for what every Keras version offers.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

_SCALARS = (str, int)


def normalize_value(v: Any, default: Callable[[Any], Any] | None = None) -> Any:
    """One value as JSON-plain Python (Marcelle's name for it); containers are walked.

    numpy integers/floats/booleans → ``int``/``float``/``bool``; arrays → nested lists; complex →
    ``{"real", "imag"}``; ``numpy.void`` → None; tensors (anything with ``.numpy()``) → their
    values; NaN and ±inf → None (JSON has no spelling for them and the server would refuse the
    body); ``datetime``/``date`` → ISO-8601 text; paths → text. Any other object is returned as
    is, or passed to ``default`` when given (the Writer uses ``str`` so that no parameter can
    break a run).
    """
    if v is None or isinstance(v, bool) or isinstance(v, _SCALARS):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Mapping):
        return {str(k): normalize_value(x, default) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [normalize_value(x, default) for x in v]
    if isinstance(v, complex):
        return {"real": normalize_value(v.real), "imag": normalize_value(v.imag)}
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    module = type(v).__module__ or ""
    if module == "numpy" or module.startswith("numpy."):
        if type(v).__name__ == "void":
            return None
        if hasattr(v, "tolist"):
            return normalize_value(v.tolist(), default)
    if callable(getattr(v, "numpy", None)) and not isinstance(v, type):
        try:
            return normalize_value(v.numpy(), default)
        except Exception:  # a symbolic tensor has no value: fall through to default
            pass
    return default(v) if default is not None else v


def conform_dict(d: Any, default: Callable[[Any], Any] | None = None) -> Any:
    """A JSON-plain copy of ``d`` (dicts, lists and numpy values included); see :func:`normalize_value`.

    Unlike Marcelle's, it returns a new object and leaves ``d`` unchanged.
    """
    return normalize_value(d, default)


def to_json(value: Any) -> bytes:
    """Compact JSON bytes of ``conform_dict(value)`` (TypeError names a value JSON cannot hold)."""
    return json.dumps(conform_dict(value), allow_nan=False, separators=(",", ":"), ensure_ascii=False).encode()


# ----------------------------------------------------------------------------- models
def _shape(value: Any) -> Any:
    """A tensor's (or a list of tensors') shape as JSON lists, None for unknown dimensions."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and (not value or not isinstance(value[0], (int, type(None)))):
        return [_shape(v) for v in value]
    shape = getattr(value, "shape", value)
    try:
        return [None if d is None else int(d) for d in tuple(shape)]
    except TypeError:
        return None


def _layer_shape(layer: Any, which: str) -> Any:
    # tf-keras / Keras 2 layers have ``input_shape``; Keras 3 layers only their symbolic input.
    try:
        return _shape(getattr(layer, f"{which}_shape"))
    except (AttributeError, RuntimeError, ValueError):
        pass
    try:
        return _shape(getattr(layer, which))
    except (AttributeError, RuntimeError, ValueError):
        return None


def _count(weights: Any) -> int:
    return int(sum(math.prod(int(d) for d in tuple(w.shape)) for w in weights))


def get_summary(model: Any) -> str:
    """``model.summary()`` as text."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(str(line)))
    return "\n".join(lines)


def _loss_name(loss: Any) -> Any:
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, Mapping):
        return {str(k): _loss_name(v) for k, v in loss.items()}
    if isinstance(loss, (list, tuple)):
        return [_loss_name(v) for v in loss]
    return getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__


def get_model_info(model: Any, source: str = "keras", loss: Any = None) -> dict[str, Any]:
    """Describe a Keras model as the run document's ``model`` field.

    Returns:
        ``{name, param_count: {total, trainable, non_trainable}, summary, layers: [{layer_n, name,
        input_shape, output_shape}], loss}`` (``loss`` is ``"Unknown"`` when neither given nor
        compiled in).

    Raises:
        ValueError: ``source`` is not ``"keras"`` (the only framework described so far).
    """
    if source != "keras":
        raise ValueError("Only the 'keras' source is implemented")
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    layers = [
        {"layer_n": i, "name": layer.name, "input_shape": _layer_shape(layer, "input"),
         "output_shape": _layer_shape(layer, "output")}
        for i, layer in enumerate(model.layers)
    ]
    if loss is None:
        loss = getattr(model, "loss", None)
    try:
        summary = get_summary(model)
    except Exception as exc:  # an unbuilt subclassed model cannot summarise itself
        summary = f"(no summary: {exc})"
    return {
        "name": model.name,
        "param_count": {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable},
        "summary": summary,
        "layers": layers,
        "loss": _loss_name(loss) or "Unknown",
    }
