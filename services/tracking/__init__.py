"""Experiment tracking (README: "Experiment tracking"): the data model every front end shares.

* ``runs`` (the one run collection, registered by :mod:`services.runs`) gains the tracking fields
  (``schemas/runs.json``), appended ``associations`` and the removal of a run's metrics with it
  (:mod:`.runs`); runs with a ``folder`` are placed in folders (:mod:`.placement`).
* ``metrics``: one point per ``(run, type, key, step)``, bulk writes, the history read and its
  downsampled form (:mod:`.metrics`, :mod:`.history`, :mod:`.series`).
* ``artifacts``: named sets of objects whose bytes are content-addressed (:mod:`.artifacts`).
* ``folders``: ``/<user>/...`` paths, obeying the permission rules (:mod:`.folders`).
"""

from __future__ import annotations

from typing import Any

from backend.app import App
from backend.auth.stores import USERNAMES, Claims, internal_adapter
from backend.auth.users import backfill_usernames
from backend.hooklib.validate import load_schema
from backend.hooks import Params
from backend.plugins import Plugin, use_stored, with_files
from backend.query import Query
from backend.storage.blobs import BlobStore
from services.files.config import upload_limits

from .artifacts import REFS, UPLOADS, ObjectStore, artifact_hooks, make_download
from .config import tracking_settings
from .folders import folder_hooks, make_folder
from .metrics import metric_hooks, whole_points
from .paths import ANONYMOUS, DEFAULT
from .placement import PLACES, Places, placement_hooks
from .runs import run_hooks
from .series import SeriesIndex

__all__ = ["plugin", "setup"]
SERIES = "_metric_series"
#: The history read pages on this index: one series in step order.
SERIES_INDEX = [["run", 1], ["type", 1], ["key", 1], ["step", 1]]


async def setup(app: App) -> None:
    """Register ``metrics``, ``artifacts`` and ``folders``, and the tracking hooks of ``runs``."""
    settings = tracking_settings(app.settings)
    blobs = app.extensions.get(BlobStore)  # type: ignore[type-abstract]
    limits = upload_limits(app.settings)
    index = SeriesIndex(await internal_adapter(app, SERIES))
    places = Places(await internal_adapter(app, PLACES))

    folders = await use_stored(app, "folders", schema="folders", indexes=["path", "parent"])
    folders.hooks(folder_hooks(app))

    # The metrics schema drives REST query coercion; writes are checked by a compiled copy of it
    # (metric_hooks): jsonschema's validator would take most of a 5,000-point batch's time.
    metrics = await use_stored(app, "metrics", multi=["create", "remove"], indexes=[SERIES_INDEX],
                               paginate={"default": 1000, "max": settings.history_page})
    schema = load_schema(app.settings.schema_dirs, "metrics")
    metrics.store.options.schema = schema
    metrics.hooks(metric_hooks(app, settings, schema, index))
    metrics.publish(whole_points(app))

    objects = ObjectStore(blobs, await internal_adapter(app, UPLOADS), await internal_adapter(app, REFS))
    artifacts = await use_stored(app, "artifacts", schema="artifacts", indexes=["folder"])
    with_files(artifacts, lambda parts, params: objects.store(parts, limits, params), make_download(objects, artifacts))
    artifacts.hooks(placement_hooks(app, places))
    artifacts.hooks(artifact_hooks(app, objects))

    runs = app.service("runs")
    runs.hooks(placement_hooks(app, places))
    runs.hooks(run_hooks(app, index, settings.max_points))

    await default_folders(app)


async def default_folders(app: App) -> None:
    """``/<user>/default`` for every user (users made before usernames get one first), for each new
    user, and ``/anonymous/default`` while authentication is off."""
    if not app.auth_enabled:
        app.on_setup(lambda: make_folder(app, f"/{ANONYMOUS}/{DEFAULT}", Params()))
        return
    users = app.service("users")
    claims = Claims(await internal_adapter(app, USERNAMES), users.store, field="username")

    async def for_user(user: dict[str, Any]) -> None:
        if isinstance(user.get("username"), str):
            await make_folder(app, f"/{user['username']}/{DEFAULT}", Params(user=user))

    async def existing() -> None:
        await backfill_usernames(users.store, claims)
        for user in await users.store._find(Query()):
            await for_user(user)

    app.on_setup(existing)
    users.on("created", lambda user, ctx: for_user(user))


plugin = Plugin("tracking", setup, sections=("tracking",))
