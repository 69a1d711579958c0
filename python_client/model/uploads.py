"""The process's weights uploads: one queue, sent in order by one background thread.

``update_weights`` only checks its arguments, adds an :class:`UploadJob` and returns; the
:class:`~python_client.sender.BackgroundSender` of the process's :class:`UploadQueue` runs the jobs
(upload the file, create the version, add the file's name to the comment, delete the local file
when asked). A job that fails for a reason that may pass (the backend is down, a timeout, a 5xx)
stops the pass: the sender warns once, backs off and tries again, so a backend that is down delays
the upload and never loses it (the file is kept). A job refused for good (403, a published model,
a missing file) is logged as an ERROR, keeps its file, and the next job goes on.

The thread uses its own HTTP session (a sibling of the caller's ``DataStore`` with the same
credentials, retries and timeout), so that uploads never share a connection with the caller's calls.
At interpreter exit, pending uploads are waited for (``$PLUME_EXIT_TIMEOUT`` seconds, default 30);
the files of those that did not finish are named in a warning.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..datastore import DataStore
from ..errors import Conflict, NotFound
from ..failures import Kind, classify, explain
from ..sender import BackgroundSender
from .destinations import Destination, local_path
from .transfer import VERSIONS, file_digest, upload_to_server, upload_to_url

log = logging.getLogger("python_client")
EXIT_TIMEOUT_ENV = "PLUME_EXIT_TIMEOUT"


@dataclass(eq=False)
class UploadJob:
    """One weights update of one model: the file (or the URI to register) and what follows it."""

    store: DataStore  # the uploader's own store (see the module doc)
    model_id: str
    version_id: str
    uri: str  # what update_weights returned: where the weights will be
    filename: str
    destination: Destination
    path: Path | None = None  # the local file to upload (None: register ``uri`` as it is)
    iteration: int | None = None
    package: bool = False
    auto_delete: bool = False
    comment_line: str | None = None  # added to the model's comment once the version exists
    on_done: Callable[[dict[str, Any]], None] | None = None
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False
    error: BaseException | None = None
    version: dict[str, Any] | None = None

    def describe(self) -> str:
        what = f"file {self.path}" if self.path is not None else f"URI {self.uri}"
        return f"the weights of model {self.model_id} ({what})"

    def run(self) -> None:
        """Do what is left of the job; raises when a step fails (the sender sorts the failure)."""
        if self.version is None:
            self.version = self._create_version()
        if self.comment_line:
            self._add_comment()
        if self.auto_delete and self.path is not None:
            self.path.unlink(missing_ok=True)
        if self.on_done is not None:
            self.on_done(self.version)

    def _create_version(self) -> dict[str, Any]:
        versions = self.store.service(VERSIONS)
        data: dict[str, Any] = {"_id": self.version_id, "model": self.model_id, "iteration": self.iteration,
                                "package": self.package}
        if self.path is not None:
            if not self.path.is_file():
                raise FileNotFoundError(f"the weights file {self.path} is gone: it was not uploaded")
            data["source"] = f"{socket.gethostname()}:{self.path}"
        try:
            if self.path is None:
                data.update(uri=self.uri, filename=self.filename)
                local = local_path(self.uri)
                if local is not None and local.is_file():
                    data["sha256"], data["size"] = file_digest(local)
            elif self.destination.is_server:
                data["ref"] = upload_to_server(self.store.http, self.version_id, self.path, self.filename)["ref"]
            else:
                data["sha256"], data["size"] = upload_to_url(self.path, self.uri)
                data.update(uri=self.uri, filename=self.filename)
            return versions.create(data)  # type: ignore[no-any-return]
        except Conflict as conflict:
            # An earlier pass created the version, but its answer was lost: the version is there.
            try:
                found = versions.get(self.version_id)
            except NotFound:
                raise conflict from None  # the model refused it (published): the Conflict stands
            if found.get("model") != self.model_id:
                raise
            return found  # type: ignore[no-any-return]

    def _add_comment(self) -> None:
        models = self.store.service("models")
        comment = models.get(self.model_id).get("comment") or ""
        if self.comment_line not in comment:  # a repeated pass adds it once
            line = self.comment_line
            models.patch(self.model_id, {"comment": f"{comment}\n{line}" if comment else line})

    def finish(self, ok: bool, error: BaseException | None = None) -> None:
        self.ok, self.error = ok, error
        self.done.set()


def _kind(exc: BaseException) -> Kind:
    if isinstance(exc, (PermissionError, IsADirectoryError, NotADirectoryError)):
        return Kind.LASTING  # the destination will refuse the same write again
    return classify(exc)


class UploadQueue:
    """The process's pending weights uploads, in order (see the module doc)."""

    BACKOFF = 0.5  # seconds before retrying a failed pass, doubled up to MAX_BACKOFF
    MAX_BACKOFF = 5.0
    _instance: UploadQueue | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: deque[UploadJob] = deque()
        self._added = 0
        self._failures: list[UploadJob] = []  # failed since the last take_failures()
        self._stores: dict[tuple[str, int], DataStore] = {}
        # No early give-up: wait_for_uploads waits for a backend that is down until its timeout.
        self.sender = BackgroundSender(self._step, lambda: self._added, describe=self._describe,
                                       backoff=self.BACKOFF, max_backoff=self.MAX_BACKOFF,
                                       classify=_kind, give_up_after=sys.maxsize)

    @classmethod
    def get(cls) -> UploadQueue:
        """The process's queue (made, with its exit handler, on first use)."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
                atexit.register(cls._instance._at_exit)
            return cls._instance

    def uploader_store(self, store: DataStore) -> DataStore:
        """The uploader thread's own DataStore for ``store``'s server and credentials."""
        key = (store.location, id(store.credentials))
        with self._lock:
            sibling = self._stores.get(key)
            if sibling is None:
                sibling = DataStore(store.location, timeout=store.http.timeout, retry=store.http.retry)
                sibling.credentials = sibling.http.credentials = store.credentials  # logins carry over
                self._stores[key] = sibling
            return sibling

    def add(self, job: UploadJob) -> None:
        """Queue ``job``; never blocks."""
        with self._lock:
            self._jobs.append(job)
            self._added += 1
        self.sender.notify()

    def pending(self, model_id: str | None = None) -> list[UploadJob]:
        """The jobs not finished yet (of one model, or all), in order."""
        with self._lock:
            return [j for j in self._jobs if model_id is None or j.model_id == model_id]

    def wait(self, jobs: list[UploadJob], timeout: float | None = None) -> bool:
        """Wait for ``jobs``; True when each finished and succeeded by ``timeout``."""
        import time

        if jobs:
            self.sender.wait(0)  # try now rather than at the end of a back-off
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in jobs:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not job.done.wait(remaining):
                return False
        return all(job.ok for job in jobs)

    def take_failures(self) -> list[UploadJob]:
        """The jobs that failed for good since the last call."""
        with self._lock:
            failed, self._failures = self._failures, []
        return failed

    def _describe(self) -> str:
        jobs = self.pending()
        return jobs[0].describe() if len(jobs) == 1 else f"{len(jobs)} model weights uploads"

    def _step(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    return
                job = self._jobs[0]
            try:
                job.run()
            except Exception as exc:
                if _kind(exc) is not Kind.LASTING:
                    raise  # the sender backs off and runs the job again
                log.error("Plume: %s could not be uploaded: %s. The file is kept", job.describe(), explain(exc))
                self._pop(job, ok=False, error=exc)
                continue
            self._pop(job, ok=True)

    def _pop(self, job: UploadJob, ok: bool, error: BaseException | None = None) -> None:
        with self._lock:
            if self._jobs and self._jobs[0] is job:
                self._jobs.popleft()
            if not ok:
                self._failures.append(job)
        job.finish(ok, error)

    def _at_exit(self) -> None:
        jobs = self.pending()
        if not jobs:
            return
        timeout = float(os.environ.get(EXIT_TIMEOUT_ENV) or 30)
        log.warning("Plume: waiting up to %.0f s for %d model weights upload(s)", timeout, len(jobs))
        if not self.wait(jobs, timeout):
            left = [j.describe() for j in itertools.islice(self.pending(), 10)]
            log.warning("Plume: %d model weights upload(s) did not finish before exit; their files are kept: %s",
                        len(self.pending()), "; ".join(left))
