"""``Model``: a registry model, read-only (properties, versions, weights) and ``Model.query_models``.

The server is the process's default connection (:func:`python_client.default_store`: set by
``python_client.connect(url, api_key=None)`` or ``em.login``, else ``$PLUME_URL``/``$PLUME_API_KEY``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..datastore import DataStore
from ..default import default_store
from .cache import cache_key, cached_file, extracted
from .design import parse_design
from .transfer import VERSIONS, download_from_server, download_from_url

log = logging.getLogger("python_client")
MODELS = "models"


class Model:
    """A model of the registry, read-only: ``Model(model_id)``.

    Properties come from the model as it was read (:meth:`reload` reads it again); :meth:`get_weights`
    always looks up the model's current weights.
    """

    def __init__(self, model_id: str) -> None:
        self._store: DataStore = default_store()
        self._doc: dict[str, Any] = self._store.service(MODELS).get(model_id)

    @classmethod
    def _of(cls, store: DataStore, doc: dict[str, Any]) -> Model:
        model = cls.__new__(cls)
        model._store, model._doc = store, doc
        return model

    # ------------------------------------------------------------------ properties
    @property
    def id(self) -> str:
        """The model's id."""
        return str(self._doc["_id"])

    @property
    def name(self) -> str:
        """The model's name."""
        return str(self._doc.get("name") or "")

    @property
    def comment(self) -> str | None:
        """The comment (description) of the model."""
        return self._doc.get("comment")

    @property
    def tags(self) -> list[str]:
        """The tags of the model."""
        return list(self._doc.get("tags") or [])

    @property
    def config_text(self) -> str | None:
        """The configuration, as text."""
        return self._doc.get("config_text")

    @property
    def config_dict(self) -> dict[str, Any] | None:
        """The configuration parsed from :attr:`config_text` (None when it is not a JSON object)."""
        return parse_design(self.config_text)

    @property
    def labels(self) -> dict[str, int]:
        """The label enumeration ``{label: int}``."""
        return dict(self._doc.get("labels") or {})

    @property
    def framework(self) -> str | None:
        """The framework the model was made with, as given."""
        return self._doc.get("framework")

    @property
    def published(self) -> bool:
        """Whether the model is published."""
        return bool(self._doc.get("published"))

    @property
    def task(self) -> str | None:
        """The id of the run that made the model (or that it was connected to)."""
        return self._doc.get("task")

    @property
    def url(self) -> str | None:
        """The URL of the current weights file (or package); None before any weights."""
        return self._absolute(self._doc.get("uri"))

    @property
    def version(self) -> int:
        """The number of the current weights version (0: none yet)."""
        return int(self._doc.get("version") or 0)

    @property
    def versions(self) -> list[dict[str, Any]]:
        """Every weights version of the model, oldest first."""
        query = {"model": self.id, "$sort": {"version": 1}}
        return list(self._store.service(VERSIONS).items(query))

    def _absolute(self, uri: str | None) -> str | None:
        """A server-relative URI (``/model-versions/...``) made absolute with the server's URL."""
        if isinstance(uri, str) and uri.startswith("/"):
            return self._store.location + uri.lstrip("/")
        return uri

    def reload(self) -> Model:
        """Read the model from the server again."""
        self._doc = self._store.service(MODELS).get(self.id)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, name={self.name!r}, version={self.version})"

    # ------------------------------------------------------------------ weights
    def get_weights(self, raise_on_error: bool = False) -> str | None:
        """Download the current weights into the local cache (once: keyed by their SHA-256) and
        return the local file's path, which keeps the file's own name.

        On failure: a warning and None, or ValueError when ``raise_on_error``.
        """
        try:
            return str(self._fetch()[0])
        except Exception as exc:
            return self._failed("weights", exc, raise_on_error)

    def get_weights_package(self, return_path: bool = False, raise_on_error: bool = False) -> Any:
        """Download the weights package and extract it (once) in the local cache.

        Returns the list of extracted files, or with ``return_path`` the folder holding them. On
        failure: a warning and None, or ValueError when ``raise_on_error``.
        """
        try:
            archive, version = self._fetch()
            if not version.get("package"):
                raise ValueError(f"version {version.get('version')} holds one file, not a package: use get_weights()")
            folder = extracted(archive)
            return str(folder) if return_path else sorted(str(p) for p in folder.rglob("*") if p.is_file())
        except Exception as exc:
            return self._failed("weights package", exc, raise_on_error)

    def _fetch(self) -> tuple[Path, dict[str, Any]]:
        """The current version's file in the cache (downloaded if needed), and the version."""
        self.reload()
        version_id = self._doc.get("versionId")
        if not version_id:
            raise ValueError(f"model {self.id} has no weights yet")
        version = self._store.service(VERSIONS).get(version_id)
        size, sha256, filename = version.get("size"), version.get("sha256"), version["filename"]
        dest = cached_file(cache_key(sha256, version["uri"]), filename)
        if dest.is_file() and (size is None or dest.stat().st_size == size):
            return dest, version
        if version.get("ref"):
            download_from_server(self._store.http, version_id, filename, dest, size, sha256)
        else:
            download_from_url(version["uri"], dest, size, sha256)
        return dest, version

    def _failed(self, what: str, exc: BaseException, raise_on_error: bool) -> None:
        message = f"could not get the {what} of model {self.id}: {type(exc).__name__}: {exc}"
        if raise_on_error:
            raise ValueError(message) from exc
        log.warning(message)
        return None

    # ------------------------------------------------------------------ queries
    @classmethod
    def query_models(cls, model_name: str | None = None, tags: Iterable[str] | None = None,
                     only_published: bool = False, max_results: int | None = None) -> list[Model]:
        """Models of the registry, newest first: named ``model_name`` (exactly), with any of ``tags``
        (a tag written ``-x`` excludes models tagged ``x``), only published ones if asked."""
        store = default_store()
        query: dict[str, Any] = {"$sort": {"createdAt": -1, "_id": -1}}
        if model_name is not None:
            query["name"] = model_name
        if only_published:
            query["published"] = True
        wanted = [t for t in tags or [] if not t.startswith("-")]
        unwanted = {t[1:] for t in tags or [] if t.startswith("-")}
        found: list[Model] = []
        if max_results is not None and max_results <= 0:
            return found
        # Tags are matched here: queries never look inside arrays (the same on every storage adapter).
        for doc in store.service(MODELS).items(query):
            have = set(doc.get("tags") or [])
            if (wanted and not have & set(wanted)) or have & unwanted:
                continue
            found.append(Model._of(store, doc))
            if max_results is not None and len(found) >= max_results:
                break
        return found
