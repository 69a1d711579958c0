"""``Uploader``: send a run kept on disk to the backend (``plume sync <run dir>``), idempotently.

It runs the same sync step as a connected Writer (:mod:`python_client.reconcile`), so the backend
ends with the documents a connected run would have produced; running it again sends nothing.
"""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from .reconcile import RunSync, SyncReport
from .remote import Remote
from .rundir import RunState


class Uploader:
    """Upload the results of locally stored training runs (Marcelle's ``Uploader``).

    Args:
        remote: Where to upload (its ``save_format`` applies to checkpoints that do not name their
            service, i.e. folders written by Marcelle's package).
        progress: Show a tqdm progress bar of the checkpoints and assets uploaded.
    """

    def __init__(self, remote: Remote, progress: bool = True) -> None:
        self.remote = remote
        self.progress = progress
        self.run_data: dict | None = None

    def upload(self, run_directory: str | Path, overwrite: bool = False) -> SyncReport:
        """Bring the backend to the state of the run in ``run_directory``.

        Args:
            run_directory: A folder written by a Writer / KerasCallback (or Marcelle's package).
            overwrite: Remove the run from the backend first (with its checkpoints and assets),
                then upload it again.

        Returns:
            What was sent (``report.changed`` is False when the backend was already up to date).

        Raises:
            FileNotFoundError: ``run_directory`` holds no run.
            TransportError / FeathersError: the backend is unreachable or refused the run.
        """
        state = RunState.load(run_directory)
        if overwrite:
            _, data = state.snapshot()
            existing = self.remote.get_run(data["_id"]) if data.get("_id") else self.remote.retrieve_run(data["start"])
            if existing is not None:
                self.remote.remove_run({**existing, "checkpoints": data.get("checkpoints", []),
                                        "assets": data.get("assets", [])})
        sync = RunSync(self.remote, state)
        with tqdm(total=sync.pending(), desc=f"plume sync {state.directory.name}", unit="file",
                  disable=not self.progress, leave=False) as bar:
            report = sync.step(progress=lambda label: bar.update(1))
        self.run_data = state.snapshot()[1]
        return report
