"""``OutputModel``: the trains (ClearML) model API over the Plume registry.

    from python_client.em import Run          # or a run id, or a Writer (its run)
    from python_client.model import OutputModel

    model = OutputModel(task=run, config_dict={"layers": 3}, label_enumeration={"cat": 0, "dog": 1})
    model.update_weights("epoch-1.keras", iteration=1)   # returns the URI at once; uploads in the background
    OutputModel.wait_for_uploads()
    model.publish()

Arguments are checked before anything is sent (ValueError, FileNotFoundError); the model itself is
created on the server at once, through the default connection (see :mod:`.base`). Weights go to the
Plume server unless :meth:`OutputModel.set_upload_destination` names a ``file://`` folder or an
fsspec URL (:mod:`.destinations`). A local weights file must stay as it is until its upload is done
(:meth:`wait_for_uploads`); one changed meanwhile is uploaded as it is then.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from ..current_run import current_run
from ..errors import Conflict, PlumeError
from ..ids import object_id
from .base import MODELS, Model
from .cache import pack, pending_dir
from .design import checked_labels, design_text
from .destinations import SERVER, Destination, destination_for, safe_filename
from .uploads import UploadJob, UploadQueue

log = logging.getLogger("python_client")


def task_of(task: Any) -> tuple[str | None, str | None]:
    """``(run id, run name)`` of ``task``: an ``em.Run`` (``.id``, ``.name``), a run id, a Marcelle
    ``Writer`` (its current run) or a ``KerasCallback`` (its Writer's run)."""
    if task is None:
        return None, None
    if isinstance(task, str):
        if not task:
            raise ValueError("task must be a run, a run id or a Writer, not an empty string")
        return task, None
    writer = getattr(task, "writer", None)
    if writer is not None and hasattr(writer, "run_data"):
        task = writer  # a KerasCallback
    if hasattr(task, "run_data"):  # a Marcelle Writer
        data = task.run_data
        if not data or not data.get("_id"):
            raise ValueError("the Writer has no run yet: call create_run() (or start training) first")
        return str(data["_id"]), data.get("name") or data.get("basename")
    run_id = getattr(task, "id", None)
    if isinstance(run_id, str) and run_id:
        name = getattr(task, "name", None)
        return run_id, name if isinstance(name, str) else None
    raise TypeError(f"task must be a python_client.em.Run, a run id or a Writer, not {type(task).__name__}")


def _framework(framework: Any) -> str | None:
    """A framework name, kept as given (an enum-like object gives its value or name)."""
    if framework is None or isinstance(framework, str):
        return framework
    value = getattr(framework, "value", None) or getattr(framework, "name", None)
    return str(value if isinstance(value, str) else framework)


def _tags(tags: Iterable[str] | None) -> list[str] | None:
    if tags is None:
        return None
    if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
        raise ValueError("tags must be a list of strings")
    return list(tags)


class OutputModel(Model):
    """A model a run makes (see the module doc). Read-write, unlike :class:`Model`.

    Args:
        task: The run that makes the model (an ``em.Run``, a run id or a Marcelle ``Writer``). None:
            the run this process is making (the latest ``em`` run or ``Writer`` run started here and
            not finished, :func:`python_client.current_run.current_run`); ValueError when there is
            none, as a model is always made by a run. With ``base_model_id`` and no run, the model
            keeps its own.
        config_text, config_dict: The configuration, as text or as a dict (kept as JSON text); not both.
        label_enumeration: ``{label: int}``, values unique.
        name: The model's name (default: the run's name).
        tags, comment: Tags and a description.
        framework: Any framework name, kept as given.
        base_model_id: An existing model to go on with (the given fields are changed on it).

    Without configuration or labels, a new model takes those of the run's input model, if it has one.
    """

    def __init__(self, task: Any = None, config_text: str | None = None,
                 config_dict: Mapping[str, Any] | None = None, label_enumeration: Mapping[str, int] | None = None,
                 name: str | None = None, tags: Iterable[str] | None = None, comment: str | None = None,
                 framework: Any = None, base_model_id: str | None = None) -> None:
        from ..default import default_store

        fields: dict[str, Any] = {
            "config_text": design_text(config_text, config_dict), "labels": checked_labels(label_enumeration),
            "tags": _tags(tags), "comment": comment, "framework": _framework(framework),
        }
        if task is None:
            task = current_run()
            if task is None and base_model_id is None:
                raise ValueError("OutputModel needs the run that makes the model: pass task= (an em Run, a run id "
                                 "or a Writer), or start a run in this process first (em.create_run, "
                                 "Writer.create_run)")
        run_id, run_name = task_of(task)
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError("name must be a non-empty string")
        fields.update(name=name or (None if base_model_id else run_name), task=run_id)
        given = {k: v for k, v in fields.items() if v is not None}
        self._store = default_store()
        models = self._store.service(MODELS)
        if base_model_id is not None:
            self._doc = models.get(base_model_id)
            self._doc = models.patch(base_model_id, given) if given else self._doc
        else:
            self._doc = models.create({"_id": object_id(), **given})
        self._destination: Destination = SERVER
        self._latest: UploadJob | None = None

    # ------------------------------------------------------------------ properties
    @property
    def url(self) -> str | None:
        """The URL of the latest weights: those of the last ``update_weights`` once it is called
        (uploaded or on its way), else the model's current ones."""
        latest = self._latest
        if latest is not None and (not latest.done.is_set() or latest.ok):
            return self._absolute(latest.uri)
        return super().url

    @Model.name.setter
    def name(self, value: str) -> None:
        self._change({"name": value})

    @Model.comment.setter
    def comment(self, value: str | None) -> None:
        self._change({"comment": value})

    @Model.tags.setter
    def tags(self, value: Iterable[str]) -> None:
        self._change({"tags": _tags(value)})

    def _change(self, data: dict[str, Any]) -> None:
        self._doc = self._store.service(MODELS).patch(self.id, data)

    # ------------------------------------------------------------------ run, design, labels, state
    def connect(self, task: Any) -> None:
        """Connect the model to ``task`` (an ``em.Run``, a run id or a Writer): it becomes the
        model's run, which lists the model among its outputs."""
        run_id, _ = task_of(task)
        if run_id is None:
            raise ValueError("connect() needs a run")
        self._change({"task": run_id})

    def update_design(self, config_text: str | None = None, config_dict: Mapping[str, Any] | None = None) -> bool:
        """Replace the configuration (text, or a dict kept as JSON text); True when stored.

        ValueError when both are given. A published model keeps its design: False, with a warning.
        """
        return self._try_change({"config_text": design_text(config_text, config_dict)}, "design")

    def update_labels(self, labels: Mapping[str, int]) -> bool:
        """Replace the label enumeration ``{label: int}`` (values unique, else ValueError); True when stored."""
        return self._try_change({"labels": checked_labels(labels)}, "labels")

    def _try_change(self, data: dict[str, Any], what: str) -> bool:
        try:
            self._change(data)
        except PlumeError as exc:
            log.warning("could not update the %s of model %s: %s", what, self.id, exc)
            return False
        return True

    def publish(self) -> None:
        """Publish the model (a no-op when it is already published), once this process's pending
        weights uploads of the model are done: a published model's weights cannot change."""
        UploadQueue.get().wait(UploadQueue.get().pending(self.id))
        if not self.published:
            self._change({"published": True})

    # ------------------------------------------------------------------ weights
    def set_upload_destination(self, uri: str | os.PathLike[str] | None) -> bool:
        """Where the next weights go: the Plume server (None, or its URL), a ``file://`` folder (or a
        plain path), or any fsspec URL whose package is installed (``s3://`` with s3fs, ``gs://``
        with gcsfs). False, and nothing changed, when the scheme is not supported."""
        destination = destination_for(uri, self._store.location)
        if destination is None:
            log.warning("upload destination %r is not supported: use the Plume server, a file:// folder or an "
                        "fsspec URL whose filesystem package is installed", uri)
            return False
        self._destination = destination
        return True

    def update_weights(self, weights_filename: str | os.PathLike[str] | None = None, upload_uri: str | None = None,
                       target_filename: str | None = None, auto_delete_file: bool = True,
                       register_uri: str | None = None, iteration: int | None = None,
                       update_comment: bool = True) -> str:
        """Add a weights version from a local file (uploaded in the background) or a URI (recorded as
        it is); returns the weights' URI at once.

        Args:
            weights_filename: The local file to upload (or give ``register_uri``; exactly one).
            upload_uri: Where to upload it (see :meth:`set_upload_destination`); kept for the next ones.
            target_filename: The stored file's name (default: the local file's); a plain name.
            auto_delete_file: Delete the local file once its upload is confirmed.
            register_uri: The URI of weights stored already: recorded, not uploaded.
            iteration: The training iteration of these weights.
            update_comment: Add the local file's name to the model's comment (provenance).

        Raises ValueError (both or neither source, a bad name, an unsupported ``upload_uri``),
        FileNotFoundError (no such file), Conflict (the model is published).
        """
        if (weights_filename is None) == (register_uri is None):
            raise ValueError("give weights_filename or register_uri (exactly one)")
        if register_uri is not None:
            return self._queue(None, self._registered_name(register_uri, target_filename), iteration=iteration,
                               register_uri=str(register_uri))
        path = Path(weights_filename)  # type: ignore[arg-type]
        if not path.is_file():
            raise FileNotFoundError(f"weights file {path} not found")
        filename = safe_filename(target_filename if target_filename is not None else path.name,
                                 "target_filename" if target_filename is not None else "the weights file's name")
        line = f"weights {filename} uploaded from {socket.gethostname()}:{path.resolve()}" if update_comment else None
        return self._queue(path.resolve(), filename, upload_uri=upload_uri, auto_delete=auto_delete_file,
                           iteration=iteration, comment_line=line)

    def update_weights_package(self, weights_filenames: Iterable[str | os.PathLike[str]] | None = None,
                               weights_path: str | os.PathLike[str] | None = None, upload_uri: str | None = None,
                               target_filename: str | None = None, auto_delete_file: bool = True,
                               iteration: int | None = None) -> str:
        """Pack several files, or a folder's files, into one zip archive and add it as a weights
        version (uploaded in the background); returns its URI at once.

        The archive is written before this returns; with ``auto_delete_file`` the packed files (and
        the folder) are then deleted, and the archive once its upload is confirmed.
        """
        if (weights_filenames is None) == (weights_path is None):
            raise ValueError("give weights_filenames or weights_path (exactly one)")
        files = self._package_files(weights_filenames, weights_path)
        default = f"{Path(weights_path).resolve().name or 'weights'}.zip" if weights_path else "model_package.zip"
        filename = safe_filename(target_filename if target_filename is not None else default)
        self._check_destination(upload_uri)
        archive = pack(files, pending_dir() / f"{object_id()}.zip")
        if auto_delete_file:
            for path, _ in files:
                path.unlink(missing_ok=True)
            if weights_path is not None:
                shutil.rmtree(weights_path, ignore_errors=True)
        origin = Path(weights_path).resolve() if weights_path else ", ".join(str(p) for p, _ in files)
        line = f"weights package {filename} packed from {socket.gethostname()}:{origin}"
        return self._queue(archive, filename, upload_uri=upload_uri, auto_delete=True, iteration=iteration,
                           comment_line=line, package=True)

    @staticmethod
    def _package_files(names: Iterable[str | os.PathLike[str]] | None,
                       folder: str | os.PathLike[str] | None) -> list[tuple[Path, str]]:
        if folder is not None:
            root = Path(folder)
            if not root.is_dir():
                raise NotADirectoryError(f"weights_path {root} is not a folder")
            files = [(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*")) if p.is_file()]
        else:
            if isinstance(names, (str, os.PathLike)):
                raise ValueError("weights_filenames must be a list of file names")
            files = [(Path(n), Path(n).name) for n in names or []]
            for path, _ in files:
                if not path.is_file():
                    raise FileNotFoundError(f"weights file {path} not found")
            seen = [n for _, n in files]
            if len(set(seen)) != len(seen):
                raise ValueError(f"weights_filenames has several files with one name: {seen}")
        if not files:
            raise ValueError("no weights file to pack")
        return files

    @staticmethod
    def _registered_name(uri: Any, target_filename: str | None) -> str:
        parts = urlsplit(str(uri))
        if not parts.scheme or "://" not in str(uri):
            raise ValueError(f"register_uri must be an absolute URI (file:///..., s3://..., https://...), got {uri!r}")
        if target_filename is not None:
            return safe_filename(target_filename)
        name = parts.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            return safe_filename(name)
        except ValueError:
            return "weights"

    def _check_destination(self, upload_uri: str | None) -> Destination:
        if upload_uri is None:
            return self._destination
        destination = destination_for(upload_uri, self._store.location)
        if destination is None:
            raise ValueError(f"upload_uri {upload_uri!r} is not a supported destination: the Plume server, a "
                             "file:// folder, or an fsspec URL whose filesystem package is installed")
        return destination

    def _queue(self, path: Path | None, filename: str, *, upload_uri: str | None = None, auto_delete: bool = False,
               iteration: int | None = None, comment_line: str | None = None, package: bool = False,
               register_uri: str | None = None) -> str:
        """Check the state, make the job and hand it to the process's upload queue; the weights' URI."""
        if iteration is not None and (type(iteration) is not int):
            raise ValueError(f"iteration must be an integer, got {iteration!r}")
        if self.published:
            raise Conflict(f"model {self.id} is published: its weights cannot change")
        destination = self._check_destination(upload_uri)
        self._destination = destination
        version_id = object_id()
        if register_uri is not None:
            uri = register_uri
        elif destination.is_server:
            uri = f"/model-versions/{version_id}/{quote(filename, safe='')}"  # as the server will say
        else:
            uri = destination.target(self.id, version_id, filename)
        queue = UploadQueue.get()
        job = UploadJob(queue.uploader_store(self._store), self.id, version_id, uri, filename, destination,
                        path=path, iteration=iteration, package=package, auto_delete=auto_delete,
                        comment_line=comment_line, on_done=self._weights_stored)
        self._latest = job
        queue.add(job)
        return self._absolute(uri) or uri

    def _weights_stored(self, version: dict[str, Any]) -> None:
        """A job of this model finished (in the upload thread): the model now points at its version."""
        if int(version.get("version") or 0) >= self.version:
            self._doc = {**self._doc, "uri": version.get("uri"), "version": version.get("version"),
                         "versionId": version.get("_id")}

    @classmethod
    def wait_for_uploads(cls, timeout: float | None = None, max_num_uploads: int | None = None) -> bool:
        """Wait for this process's pending weights uploads (the first ``max_num_uploads`` of them);
        True when they all finished (and succeeded) by ``timeout`` seconds (None: no limit)."""
        queue = UploadQueue.get()
        jobs = queue.pending()
        if max_num_uploads is not None:
            jobs = jobs[:max(0, max_num_uploads)]
        finished = queue.wait(jobs, timeout)
        failed = queue.take_failures()  # any upload that failed since the last wait counts (reported once)
        return finished and not failed
