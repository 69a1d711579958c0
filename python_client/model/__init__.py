"""The model registry from Python: the trains (ClearML) ``OutputModel`` API, and ``Model``.

    import python_client
    from python_client.model import Model, OutputModel

    python_client.connect("http://localhost:3030")          # or $PLUME_URL, or em.login(...)
    model = OutputModel(task=run, config_dict={"units": 64}, label_enumeration={"cat": 0, "dog": 1})
    model.update_weights("weights.keras", iteration=1)      # returns at once; uploads in the background
    OutputModel.wait_for_uploads()
    model.publish()
    best = Model.query_models(only_published=True)[0]
    path = best.get_weights()                               # downloaded once into the local cache

See :mod:`python_client.model.output` and :mod:`python_client.model.base`.
"""

from __future__ import annotations

from .base import Model
from .output import OutputModel
from .transfer import WeightsMismatch

__all__ = ["Model", "OutputModel", "WeightsMismatch"]
