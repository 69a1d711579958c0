"""``KerasCallback``: log a Keras training run to Plume while it trains (thin, over :mod:`python_client`).

    from keras_callback import KerasCallback
    model.fit(x, y, epochs=10, callbacks=[KerasCallback("mnist", "http://localhost:3030",
                                                        model_checkpoint_freq=1)])

Keras is imported when ``KerasCallback`` is first used, not when this package is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["KerasCallback"]

if TYPE_CHECKING:
    from .callback import KerasCallback


def __getattr__(name: str) -> Any:
    if name == "KerasCallback":
        from .callback import KerasCallback

        return KerasCallback
    raise AttributeError(f"module 'keras_callback' has no attribute {name!r}")
