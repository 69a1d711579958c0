"""What ``Run.mark_input`` / ``mark_output`` record: ``{"kind", "id", "name"}`` of a resource.

The shape is shared with the model registry (which appends ``{"kind": "model", ...}`` to a run's
``associations.outputs`` when a model names the run as its task): ``kind`` is ``artifact``,
``model`` or ``dataset``; a run lists each ``(kind, id)`` once.

A resource is an :class:`~python_client.em.Artifact`; a registry model or dataset version (any
object with ``id`` and ``name``, whose ``association_kind`` attribute, or else its class name,
says ``model`` or ``dataset``); or a dict ``{"kind", "id", "name"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KINDS = ("artifact", "model", "dataset")


def association_of(resource: Any) -> tuple[dict[str, str], str | None]:
    """``({kind, id, name}, local folder of an artifact or None)``; TypeError/ValueError otherwise."""
    from .artifact import Artifact

    if isinstance(resource, Artifact):
        return {"kind": "artifact", "id": resource.id, "name": resource.name}, resource.local
    if isinstance(resource, Mapping):
        kind, id, name = resource.get("kind"), resource.get("id"), resource.get("name")
    else:
        kind = getattr(resource, "association_kind", None) or _kind_of_class(type(resource))
        id, name = getattr(resource, "id", None), getattr(resource, "name", None)
    if kind not in KINDS:
        raise TypeError(f"cannot mark {type(resource).__name__} as a run's input or output: give an Artifact, "
                        f"a model, a dataset, or {{'kind': one of {KINDS}, 'id', 'name'}}")
    if not isinstance(id, str) or not id:
        raise ValueError(f"the {kind} to mark has no id (upload it first)")
    return {"kind": str(kind), "id": id, "name": str(name) if name is not None else ""}, None


def _kind_of_class(cls: type) -> str | None:
    for klass in cls.__mro__:
        name = klass.__name__.lower()
        if "dataset" in name:
            return "dataset"
        if "model" in name:
            return "model"
    return None
