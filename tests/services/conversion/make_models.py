"""Build the tiny test models, save them, and record their Keras predictions.

Run as a script in its own process (``python -m tests.services.conversion.make_models <dir>``):
the test process itself must never import TensorFlow, since one test asserts it does not.
Writes ``<dir>/manifest.json`` listing, per model, its file, its input arrays and its expected
output (``<name>.npz`` with ``in0``, ``in1``, ... and ``out``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

BATCH = 3


def _randomize_batchnorm(model: Any) -> None:
    """Give BatchNormalization non-trivial moving statistics, or it would be an identity at inference."""
    rng = np.random.default_rng(7)
    for layer in model.layers:
        if "BatchNormalization" in type(layer).__name__:
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape).astype("float32"),
                    rng.normal(0, 0.5, beta.shape).astype("float32"),
                    rng.normal(0, 0.5, mean.shape).astype("float32"),
                    rng.uniform(0.5, 2.0, var.shape).astype("float32"),
                ]
            )


def k3_dense(keras: Any) -> Any:
    inputs = keras.Input((4,), name="features")
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))


def k3_conv(keras: Any) -> Any:
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


def sequential_bn(lib: Any) -> Any:
    """Sequential with BatchNorm and Dropout, started with an Input (Keras 3 or tf-keras: ``lib``)."""
    model = lib.Sequential(
        [
            lib.Input((6,)),
            lib.layers.Dense(8, activation="tanh"),
            lib.layers.BatchNormalization(),
            lib.layers.Dropout(0.5),
            lib.layers.Dense(2),
        ]
    )
    _randomize_batchnorm(model)
    return model


def two_inputs(lib: Any) -> Any:
    """Two named inputs concatenated (Keras 3 or tf-keras: ``lib``)."""
    a = lib.Input((3,), name="a")
    b = lib.Input((5,), name="b")
    merged = lib.layers.Concatenate()([a, b])
    return lib.Model([a, b], lib.layers.Dense(4, activation="sigmoid")(merged))


def k3_residual(keras: Any) -> Any:
    inputs = keras.Input((6,), name="x")
    hidden = keras.layers.Dense(6, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Add()([inputs, hidden])))


def k3_embedding_lstm(keras: Any) -> Any:
    tokens = keras.Input((5,), name="tokens")
    x = keras.layers.Embedding(20, 4)(tokens)
    return keras.Model(tokens, keras.layers.Dense(2)(keras.layers.LSTM(3)(x)))


def k3_nested(keras: Any) -> Any:
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu")], name="inner")
    inputs = keras.Input((4,), name="x")
    return keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))


def tfk_dense(tf_keras: Any) -> Any:
    return tf_keras.Sequential(
        [
            tf_keras.layers.Dense(8, activation="relu", input_shape=(4,)),
            tf_keras.layers.Dense(3, activation="softmax"),
        ]
    )


def tfk_conv(tf_keras: Any) -> Any:
    return tf_keras.Sequential(
        [
            tf_keras.layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
            tf_keras.layers.MaxPooling2D(),
            tf_keras.layers.Flatten(),
            tf_keras.layers.Dense(2),
        ]
    )


def _name(prefix: str, build: Callable[[Any], Any]) -> str:
    return prefix + build.__name__.removeprefix(prefix)


KERAS3_BUILDERS = [k3_dense, k3_conv, sequential_bn, two_inputs, k3_residual, k3_embedding_lstm, k3_nested]
TF_KERAS_BUILDERS = [tfk_dense, tfk_conv, sequential_bn, two_inputs]
# name -> (library, builder, file suffix): k3_<builder> as .keras, tfk_<builder> as .h5, and two more.
MODELS: dict[str, tuple[str, Callable[[Any], Any], str]] = {
    **{_name("k3_", build): ("keras", build, ".keras") for build in KERAS3_BUILDERS},
    "k3_dense_h5": ("keras", k3_dense, ".h5"),
    **{_name("tfk_", build): ("tf_keras", build, ".h5") for build in TF_KERAS_BUILDERS},
    "tfk_conv_keras": ("tf_keras", tfk_conv, ".keras"),
}


def build_all(out_dir: Path) -> dict[str, Any]:
    """Save every model in ``MODELS`` with inputs and Keras predictions; return the manifest."""
    import keras
    import tensorflow as tf
    import tf_keras

    libraries = {"keras": keras, "tf_keras": tf_keras}
    rng = np.random.default_rng(0)
    manifest: dict[str, Any] = {}
    for name, (library, build, suffix) in MODELS.items():
        tf.random.set_seed(1)
        model = build(libraries[library])
        inputs = [rng.normal(size=(BATCH, *t.shape[1:])).astype("float32") for t in model.inputs]
        if name == "k3_embedding_lstm":  # token ids, fed as float32 like a TF.js client would
            inputs = [rng.integers(0, 20, size=(BATCH, 5)).astype("float32")]
        expected = np.asarray(model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0))
        path = out_dir / f"{name}{suffix}"
        model.save(path)
        arrays = {f"in{i}": x for i, x in enumerate(inputs)} | {"out": expected}
        np.savez(out_dir / f"{name}.npz", **arrays)
        manifest[name] = {"file": str(path), "arrays": str(out_dir / f"{name}.npz"), "inputs": len(inputs)}
    unbuilt = keras.Sequential([keras.layers.Dense(2)])  # saved before it knows its input shape
    unbuilt.save(out_dir / "unbuilt.keras")
    manifest["unbuilt"] = {"file": str(out_dir / "unbuilt.keras"), "arrays": None, "inputs": 0}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    build_all(target)
