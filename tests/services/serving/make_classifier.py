"""Build a small Keras image classifier and save it (run in its own process: the test process never
imports TensorFlow). ``python -m tests.services.serving.make_classifier <out.keras>``"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(path: str) -> None:
    import keras
    import numpy as np

    keras.utils.set_random_seed(5)
    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.integers(0, 256, (32, 8, 8, 3)).astype("float32"), rng.integers(0, 3, 32), epochs=1, verbose=0)
    model.save(path)


if __name__ == "__main__":
    main(sys.argv[1])
