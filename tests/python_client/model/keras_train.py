"""A training script for the end-to-end test (run as a subprocess: the test process never imports
TensorFlow).

    python -m tests.python_client.model.keras_train train URL OUT_DIR RUN     # RUN: "em" or a run id
    python -m tests.python_client.model.keras_train predict URL OUT_DIR NAME

``train`` fits a small Keras model for 2 epochs, adds its weights after each epoch with
``OutputModel.update_weights``, waits for the uploads, publishes the model and saves its predictions
and ``{"model": id, "run": id}`` in OUT_DIR. ``predict`` (a fresh process) finds the published model
NAME, downloads its weights with ``get_weights``, loads them with Keras and saves its predictions.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.random((64, 4), dtype=np.float32)
    return x, (x.sum(axis=1) > 2).astype("int64")


def task_for(spec: str) -> tuple[Any, str]:
    """The run the model is made by: an em run, or the id of a run document."""
    if spec == "em":
        from python_client import em

        run = em.create_run(name="keras-e2e", auto_upload=True, make_folder=True)
        return run, run.id
    return spec, spec


def train(url: str, out: Path, spec: str) -> None:
    import keras

    import python_client
    from python_client.model import OutputModel

    python_client.connect(url)
    task, run_id = task_for(spec)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    registry = OutputModel(task=task, name="keras-e2e", config_dict=model.get_config(),
                           label_enumeration={"low": 0, "high": 1}, framework="keras")

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            path = out / f"epoch-{epoch + 1}.keras"
            self.model.save(path)
            registry.update_weights(str(path), iteration=epoch + 1)

    x, y = data()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[Snapshot()])
    assert OutputModel.wait_for_uploads(timeout=120), "the uploads did not finish"
    registry.publish()
    if spec == "em":
        task.finish()  # the em run's last changes reach the server: its associations must keep the model
        assert task.wait_for_upload(timeout=60), "the em run did not reach the server"
    np.save(out / "trained.npy", model.predict(x, verbose=0))
    (out / "ids.json").write_text(json.dumps({"model": registry.id, "run": run_id}))


def predict(url: str, out: Path, name: str) -> None:
    import keras

    import python_client
    from python_client.model import Model

    python_client.connect(url)
    (found,) = Model.query_models(model_name=name, only_published=True)
    path = found.get_weights(raise_on_error=True)
    loaded = keras.models.load_model(path)
    np.save(out / "loaded.npy", loaded.predict(data()[0], verbose=0))
    (out / "loaded.json").write_text(json.dumps({"model": found.id, "path": path, "labels": found.labels,
                                                 "config": found.config_dict}))


if __name__ == "__main__":
    command, url, out, arg = sys.argv[1:5]
    (train if command == "train" else predict)(url, Path(out), arg)
