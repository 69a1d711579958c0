"""The model registry (README: "Model registry"): ``models`` and their immutable ``model-versions``.

* ``models``: name, tags, comment, ``config_text``, ``labels``, ``framework``, ``task`` (the run that
  made it), ``published``/``publishedAt``, and the current weights (``uri``, ``version``) that the
  server moves as versions are added (:mod:`.models`).
* ``model-versions``: one record per weights update, from a file uploaded to
  ``POST /model-versions/upload?version=<id>`` (streamed to the blob store, SHA-256 computed on the
  way: :mod:`.weights`) or from a URI stored elsewhere (:mod:`.versions`); the stored file is served
  at ``GET /model-versions/<id>/<filename>`` (with Range).
* The run named in ``task`` lists the model in ``associations.outputs`` (:mod:`.associations`).
* Keras weights are converted to TF.js and ONNX by the models plugin's conversion manager
  (:mod:`.conversion`).

``[registry]`` (:mod:`.config`): ``max_size`` of one weights upload, default ``convert`` formats.
"""

from __future__ import annotations

from backend.app import App
from backend.hooks import HookContext, Params
from backend.plugins import Plugin, use_stored, with_files
from backend.storage.blobs import BlobStore
from services.files.cleanup import cleanup_hooks
from services.files.config import UploadLimits

from .associations import association_hooks
from .config import RegistrySettings
from .conversion import KERAS, RegistryConversions, removed_versions
from .models import model_hooks
from .versions import version_hooks
from .weights import MAX_PARTS, NAMESPACE, STALE_UPLOAD, Uploads, make_download, make_upload, version_keys

__all__ = ["RegistrySettings", "plugin", "setup"]


async def setup(app: App) -> None:
    """Register ``models`` and ``model-versions`` with their hooks."""
    settings = RegistrySettings.from_settings(app.settings)
    blobs = app.extensions.get(BlobStore)  # type: ignore[type-abstract]
    uploads = app.extensions.add(Uploads, await Uploads.create(app))
    conversions = RegistryConversions(app, blobs, settings.convert)

    models = await use_stored(app, "models", schema="models", indexes=["task", "name"])
    models.hooks(model_hooks(app, settings.convert))
    versions = await use_stored(app, NAMESPACE, schema=NAMESPACE, indexes=["model"])
    limits = UploadLimits(max_size=settings.max_size, max_parts=MAX_PARTS)
    with_files(versions, make_upload(blobs, versions, uploads, limits), make_download(blobs, versions))
    versions.hooks(version_hooks(app, uploads, conversions.start))
    versions.hooks(cleanup_hooks(blobs, version_keys, fields=("ref",)))
    versions.hooks({"after": {"remove": [removed_versions(conversions.drop)]}})

    async def remove_versions(ctx: HookContext) -> None:
        """After a model is removed: its versions (and their files) go too."""
        for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if not isinstance(doc, dict):
                continue
            for version in await versions.store.find(Params(query={"model": str(doc["_id"])},
                                                            extra={"paginate": False})):
                await versions.remove(version["_id"])

    models.hooks({"after": {"remove": [remove_versions]}})
    model_links, run_links = association_hooks(app)
    models.hooks(model_links)
    runs = app.services.get("runs")
    if runs is not None:
        runs.hooks(run_links)
    if KERAS in app.services:
        app.service(KERAS).on("patched", conversions.mirror)

    async def sweep() -> None:
        await uploads.sweep(blobs, STALE_UPLOAD)

    app.on_setup(sweep)


plugin = Plugin("registry", setup, sections=("registry",))
