"""``Params``: a run's hyperparameters, a mutable mapping with attribute access.

Every change calls the ``upload`` callback given by the run, which writes the run's file and asks
the background sender for a pass: changes made in a burst reach the server together.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from ..utils import conform_dict


class Params(MutableMapping[str, Any]):
    """Container class to hold hyperparameters of Run.

    Set them as items (``run.params["batch_size"] = 32``), as attributes (``run.params.epochs =
    10``) or all at once with :meth:`update`. Values are made JSON-plain (numpy scalars and arrays
    become numbers and lists).

    Args:
        upload: Called with no argument after every change.
        init_hparams: Initial hyperparameters.
    """

    def __init__(self, upload: Callable[[], Any], init_hparams: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_upload", upload)
        object.__setattr__(self, "_data", conform_dict(dict(init_hparams or {}), default=str))

    # ------------------------------------------------------------------ mapping
    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._check_key(key)
        self._data[key] = conform_dict(value, default=str)
        self._upload()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._upload()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Params({self._data!r})"

    # ------------------------------------------------------------------ attributes
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"no hyperparameter {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"no hyperparameter {name!r}") from None

    # ------------------------------------------------------------------ the seed API
    def update(self, new_params: Any = None, override: bool = True, **kwargs: Any) -> None:  # type: ignore[override]
        """Updates with new params; with ``override=False`` existing ones are kept. One upload."""
        items = dict(new_params or {}, **kwargs)
        for key in items:
            self._check_key(key)
        changed = False
        for key, value in items.items():
            if override or key not in self._data:
                self._data[key] = conform_dict(value, default=str)
                changed = True
        if changed:
            self._upload()

    def as_dict(self) -> dict[str, Any]:
        """A copy of the hyperparameters as a plain dict."""
        return conform_dict(dict(self._data))

    def parse(self, dist_tf_strategy: Any = None, dist_torch_model: Any = None, dist_hvd: Any = None) -> None:
        """Record what distribution objects tell about the training: a ``tf.distribute`` strategy
        (its class and replica count), a PyTorch model wrapped in ``DataParallel`` (its devices) or
        ``DistributedDataParallel`` (the world size), a Horovod module (size, local size, rank).

        Only the objects given are read; no framework is imported that the script did not import.
        """
        found: dict[str, Any] = {}
        if dist_tf_strategy is not None:
            found["dist_tf_strategy"] = type(dist_tf_strategy).__name__
            replicas = getattr(dist_tf_strategy, "num_replicas_in_sync", None)
            if replicas is not None:
                found["num_replicas"] = int(replicas)
        if dist_torch_model is not None:
            found.update(_torch_info(dist_torch_model))
        if dist_hvd is not None:
            found["dist_hvd"] = getattr(dist_hvd, "__name__", type(dist_hvd).__name__)
            for key, attr in (("world_size", "size"), ("local_size", "local_size")):
                fn = getattr(dist_hvd, attr, None)
                if callable(fn):
                    found[key] = int(fn())
        if found:
            self.update(found)

    @staticmethod
    def _check_key(key: Any) -> None:
        if not isinstance(key, str) or not key:
            raise TypeError(f"hyperparameter names are non-empty strings, got {key!r}")


def _torch_info(model: Any) -> dict[str, Any]:
    """What a (wrapped) PyTorch model tells: ``DataParallel`` devices, ``DistributedDataParallel``
    world size. torch is read from ``sys.modules``: a script that passes a model imported it."""
    kind = type(model).__name__
    info: dict[str, Any] = {"dist_torch_model": kind}
    devices = getattr(model, "device_ids", None)
    if kind == "DataParallel" and devices is not None:
        info["num_replicas"] = len(devices)
    torch = sys.modules.get("torch")
    dist = getattr(torch, "distributed", None) if torch is not None else None
    if kind == "DistributedDataParallel" and dist is not None and dist.is_available() and dist.is_initialized():
        info["world_size"] = int(dist.get_world_size())
        info["rank"] = int(dist.get_rank())
    return info
