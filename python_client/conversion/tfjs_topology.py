"""Rewrite a Keras 3 layers-model topology into the Keras 2 form TF.js 4.22 can load.

Pure JSON work (no TensorFlow), so it can be tested and reused anywhere. ``tensorflowjs`` copies
the Keras config verbatim into ``model.json``; TF.js 4.22 only understands the Keras 2 spelling and
refuses Keras 3 output ("An InputLayer should be passed either a batchInputShape or an inputShape").
The rules below are the ones measured as sufficient (docs/conversion.md). Every rule only fires on the
Keras 3 spelling, so running the rewrite on a tf-keras topology (or twice) changes nothing TF.js reads.
"""

from __future__ import annotations

import copy
from typing import Any

# Keys Keras 3 adds to serialized objects that TF.js does not know; some of them (``module``,
# ``registered_name``) make TF.js's deserializer look up classes that do not exist.
_DROPPED_OBJECT_KEYS = frozenset({"module", "registered_name", "build_config", "compile_config", "shared_object_id"})


def _policy_name(value: Any) -> Any:
    """A Keras 3 dtype policy object (``{"class_name": "DTypePolicy", "config": {"name": ...}}``) → its name."""
    if isinstance(value, dict):
        config = value.get("config")
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            return config["name"]
    return value


def _collect_history(value: Any, out: list[list[Any]]) -> None:
    """Append ``[layer, node, tensor, {}]`` for every Keras 3 ``__keras_tensor__`` in ``value``, in order."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = value.get("config", {}).get("keras_history")
            if isinstance(history, list) and len(history) == 3:
                # Call kwargs are dropped: TF.js would pass them to Layer.apply, and the Keras 3 ones
                # (masks as tensors, ``training``) either mean nothing to it or are tensors themselves.
                out.append([history[0], history[1], history[2], {}])
            return
        for item in value.values():
            _collect_history(item, out)
    elif isinstance(value, list):
        for item in value:
            _collect_history(item, out)


def _rewrite_inbound_nodes(nodes: Any) -> Any:
    """Keras 3 nodes (``{"args": [...], "kwargs": {...}}``) → Keras 2 nodes (lists of 4-item lists)."""
    if not isinstance(nodes, list):
        return nodes
    rewritten: list[Any] = []
    for node in nodes:
        if isinstance(node, dict) and "args" in node:
            inputs: list[list[Any]] = []
            _collect_history(node.get("args"), inputs)
            rewritten.append(inputs)
        else:  # already Keras 2 form
            rewritten.append(node)
    return rewritten


def _wrap_single_ref(value: Any) -> Any:
    """Keras 3 writes a lone ``["name", 0, 0]`` for single input/output layers; Keras 2 always nests it."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return [value]
    return value


def _is_keras3_graph(config: dict[str, Any]) -> bool:
    """True if a functional model config still has Keras 3 (dict) inbound nodes."""
    return any(
        isinstance(node, dict) and "args" in node
        for layer in config.get("layers", [])
        if isinstance(layer, dict)
        for node in layer.get("inbound_nodes") or []
    )


def _nested_models_with_inputs(config: dict[str, Any]) -> set[str]:
    """Names of the layers of a functional model that are themselves models built on an Input."""
    names: set[str] = set()
    for layer in config.get("layers", []):
        if not isinstance(layer, dict):
            continue
        inner = layer.get("config") or {}
        inner_layers = inner.get("layers") or [{}]
        if layer.get("class_name") in ("Functional", "Model") or (
            layer.get("class_name") == "Sequential" and inner_layers[0].get("class_name") == "InputLayer"
        ):
            names.add(layer.get("name") or inner.get("name"))
    return names


def _shift_nested_model_refs(config: dict[str, Any], nested: set[str]) -> None:
    """Keras 2 (and TF.js) count the call a model built on an Input makes on its own input as that
    model's node 0, so the outer graph's calls start at 1; Keras 3 does not count it."""
    refs = [ref for layer in config.get("layers", []) for node in layer.get("inbound_nodes", []) for ref in node]
    refs += [ref for key in ("input_layers", "output_layers") for ref in config.get(key, [])]
    for ref in refs:
        if isinstance(ref, list) and len(ref) >= 3 and ref[0] in nested and isinstance(ref[1], int):
            ref[1] += 1


def _rewrite(value: Any) -> Any:
    """Apply the per-object rules recursively and return the rewritten value (input left untouched)."""
    if isinstance(value, list):
        return [_rewrite(item) for item in value]
    if not isinstance(value, dict):
        return value
    config = value.get("config")
    if value.get("class_name") in ("Functional", "Model") and isinstance(config, dict) and _is_keras3_graph(config):
        # Only on Keras 3 input (dict nodes), so a second pass does not shift the indices again.
        nested = _nested_models_with_inputs(config)
        out = _rewrite_object(value)
        if nested:
            _shift_nested_model_refs(out["config"], nested)
        return out
    return _rewrite_object(value)


def _rewrite_object(value: dict[str, Any]) -> dict[str, Any]:
    is_object = "class_name" in value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _DROPPED_OBJECT_KEYS and (is_object or key == "shared_object_id"):
            continue
        if key == "dtype":
            out[key] = _policy_name(item)
        elif key == "batch_shape" and "batch_input_shape" not in value:
            out["batch_input_shape"] = _rewrite(item)
        elif key == "inbound_nodes":
            out[key] = _rewrite_inbound_nodes(item)
        elif key in ("input_layers", "output_layers"):
            out[key] = _wrap_single_ref(item)
        else:
            out[key] = _rewrite(item)
    return out


def _strip_sequential_prefix(model_config: dict[str, Any], manifest: list[dict[str, Any]]) -> None:
    """Keras 3 names Sequential weights ``<model>/<layer>/<var>``; TF.js looks for ``<layer>/<var>``.

    Only strips when every weight carries the prefix and the prefix is not itself a layer's name,
    which keeps the rule from firing a second time or on tf-keras output.
    """
    if model_config.get("class_name") != "Sequential":
        return
    config = model_config.get("config", {})
    name = config.get("name")
    layer_names = {layer.get("config", {}).get("name") for layer in config.get("layers", []) if isinstance(layer, dict)}
    if not isinstance(name, str) or name in layer_names:
        return
    prefix = name + "/"
    weights = [weight for group in manifest for weight in group.get("weights", [])]
    if not weights or not all(str(weight.get("name", "")).startswith(prefix) for weight in weights):
        return
    for weight in weights:
        weight["name"] = weight["name"][len(prefix) :]


def rewrite_model_json(model_json: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a TF.js layers-model ``model.json`` dict that TF.js 4.22 can load.

    Converts Keras 3 topology into Keras 2 form: ``batch_shape`` → ``batch_input_shape``; dtype
    policy objects → dtype strings; ``inbound_nodes`` → ``[[layer, node, tensor, {}], ...]``; single
    ``input_layers``/``output_layers`` wrapped in a list; ``module``, ``registered_name``,
    ``build_config``, ``shared_object_id`` and ``training_config`` dropped; the ``<model>/`` prefix of
    Sequential weight names stripped. Idempotent; on a tf-keras topology only the keys TF.js ignores
    anyway (``training_config``, ``module``, ...) go away.
    """
    result = copy.deepcopy(model_json)
    topology = result.get("modelTopology")
    if not isinstance(topology, dict):
        return result
    topology.pop("training_config", None)
    if isinstance(topology.get("model_config"), dict):
        topology["model_config"] = _rewrite(topology["model_config"])
        manifest = result.get("weightsManifest")
        if isinstance(manifest, list):
            _strip_sequential_prefix(topology["model_config"], manifest)
    return result
