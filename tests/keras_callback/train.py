"""Train a tiny Keras model for 3 epochs with the KerasCallback (run as a subprocess by the tests).

The test processes never import TensorFlow (other test modules check that), so training, and
loading downloaded ``.keras``/``.h5`` files, happen here:

    python -m tests.keras_callback.train train --url URL --logs DIR --out result.json [--format tfjs] ...
    python -m tests.keras_callback.train load MODEL_FILE INPUTS_JSON     # prints Keras' predictions
    python -m tests.keras_callback.train save MODEL_FILE OUT_JSON        # the untrained tiny model

    python -m tests.keras_callback.train mistakes --url URL --no-scheme URL --logs DIR

``mistakes`` makes a callback on the URL without a scheme (printing the ValueError it raises),
then trains with one on ``--url`` (a URL that is not the server's root, say).

``--pause-after 1`` waits for the uploads after epoch 1, prints ``PAUSED`` and reads a line from
stdin before going on (the test kills the backend meanwhile). ``--flush-each-epoch`` waits for the
uploads after every epoch (so a subscriber sees every epoch's patch).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EPOCHS = 3


def _data() -> tuple[Any, Any, Any]:
    import numpy as np

    rng = np.random.default_rng(7)
    x = rng.random((64, 4), dtype=np.float32)
    y = np.stack([x.sum(axis=1), x[:, 0] - x[:, 1]], axis=1).astype(np.float32)
    probe = rng.random((5, 4), dtype=np.float32)
    return x, y, probe


def _model() -> Any:
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)],
                             name="tiny")
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def train(args: argparse.Namespace) -> int:
    import keras

    from keras_callback import KerasCallback

    callback = KerasCallback(args.name, args.url, disk_save_format=args.disk, remote_save_format=args.format,
                             model_checkpoint_freq=args.freq, base_log_dir=args.logs, run_params={"seed": 3},
                             upload_timeout=60)

    class Steer(keras.callbacks.Callback):
        """Runs after the KerasCallback in each epoch: flushes, or pauses for the test."""

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if args.flush_each_epoch:
                callback.writer.wait_for_uploads(60)
            if args.pause_after == epoch + 1:
                callback.writer.wait_for_uploads(60)
                print("PAUSED", flush=True)
                sys.stdin.readline()

    x, y, probe = _data()
    model = _model()
    model.fit(x, y, epochs=EPOCHS, batch_size=16, verbose=0, callbacks=[callback, Steer()])
    result = {"run_dir": str(callback.writer.log_folder), "probe": probe.tolist(),
              "expected": model.predict(probe, verbose=0).tolist()}
    Path(args.out).write_text(json.dumps(result))
    print("DONE", flush=True)
    return 0


def mistakes(args: argparse.Namespace) -> int:
    """A new user's URL mistakes, through the callback itself."""
    from keras_callback import KerasCallback

    try:
        KerasCallback(args.name, args.no_scheme, base_log_dir=args.logs)
    except ValueError as exc:
        print(f"ValueError: {exc}", flush=True)
    callback = KerasCallback(args.name, args.url, base_log_dir=args.logs, model_checkpoint_freq=None,
                             final_checkpoint=False, upload_timeout=60)
    x, y, _ = _data()
    _model().fit(x, y, epochs=EPOCHS, batch_size=16, verbose=0, callbacks=[callback])
    print("DONE", flush=True)
    return 0


def load(path: str, inputs_json: str) -> int:
    import numpy as np

    from python_client.conversion.keras_load import load_keras_model

    model = load_keras_model(path).model
    probe = np.asarray(json.loads(Path(inputs_json).read_text()), dtype=np.float32)
    print(json.dumps(model.predict(probe, verbose=0).tolist()))
    return 0


def save(path: str, out: str) -> int:
    """Save the tiny model (untrained) to ``path``; write its probe inputs and predictions to ``out``."""
    _, _, probe = _data()
    model = _model()
    model.save(path)
    Path(out).write_text(json.dumps({"probe": probe.tolist(), "expected": model.predict(probe, verbose=0).tolist()}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--url", required=True)
    t.add_argument("--logs", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--name", default="kt")
    t.add_argument("--format", default="tfjs")
    t.add_argument("--disk", default="h5")
    t.add_argument("--freq", type=int, default=1)
    t.add_argument("--pause-after", type=int, default=0)
    t.add_argument("--flush-each-epoch", action="store_true")
    ld = sub.add_parser("load")
    ld.add_argument("path")
    ld.add_argument("inputs")
    sv = sub.add_parser("save")
    sv.add_argument("path")
    sv.add_argument("out")
    mk = sub.add_parser("mistakes")
    mk.add_argument("--url", required=True)
    mk.add_argument("--no-scheme", required=True)
    mk.add_argument("--logs", required=True)
    mk.add_argument("--name", default="kt")
    args = parser.parse_args(argv)
    if args.command == "mistakes":
        return mistakes(args)
    if args.command == "save":
        return save(args.path, args.out)
    return train(args) if args.command == "train" else load(args.path, args.inputs)


if __name__ == "__main__":
    sys.exit(main())
