"""Run names: ``<basename>-<n>`` is the run's only once the backend accepted the run under it.

Marcelle's package names every run it keeps offline ``<basename>-1``, and a name picked just before
the backend went away can be picked again by the next run: a sync renames such runs (and their
checkpoints ``<run>@<epoch>``) with a fresh number, so no two runs share a name on the backend.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from python_client import DataStore, Remote, Uploader, Writer
from python_client.ids import object_id
from python_client.rundir import NAME_CONFIRMED
from tests.support.server import PlumeProcess

from .runs import on_disk, without_server_fields


def run_folder(base: Path, start: str, data: dict[str, Any]) -> Path:
    """A run folder as Marcelle's package leaves it offline: no ``_id``, named ``<basename>-1``."""
    folder = base / start.replace(":", "-")
    folder.mkdir(parents=True)
    name = data.get("name")
    checkpoints = [{"name": f"{name}@{epoch}", "metadata": {"epoch": epoch, "local_format": "h5",
                                                            "local_path": str(folder / f"model_checkpoint_{epoch}.h5")}}
                   for epoch in (1, "final")]
    run = {"start": start, "source": "keras", "status": "success", "epoch": 1, "epochs": 1, "params": {},
           "logs": {"loss": [1.0]}, "checkpoints": checkpoints, "assets": [], **data}
    (folder / "run_data.json").write_text(json.dumps(run))
    return folder


def names(url: str, basename: str) -> list[str]:
    with DataStore(url) as store:
        return sorted(r["name"] for r in store.service("runs").items({"basename": basename}))


def stored(url: str, run_id: str) -> dict[str, Any]:
    with DataStore(url) as store:
        return store.service("runs").get(run_id)  # type: ignore[no-any-return]


def test_marcelle_offline_folders_get_distinct_names(plume: PlumeProcess, tmp_path: Path) -> None:
    folders = [run_folder(tmp_path / "logs", f"2026-01-01T00:00:0{i}", {"basename": "mo", "name": "mo-1"})
               for i in (1, 2)]
    remote = Remote(plume.url, "keras")
    for folder in folders:
        assert Uploader(remote, progress=False).upload(folder).created_run
    assert names(plume.url, "mo") == ["mo-1", "mo-2"]
    second = on_disk(folders[1])
    assert second["name"] == "mo-2" and second[NAME_CONFIRMED] is True
    assert [c["name"] for c in second["checkpoints"]] == ["mo-2@1", "mo-2@final"]  # renamed with the run
    assert without_server_fields(stored(plume.url, second["_id"])) == second
    for folder in folders:  # idempotent: the names are confirmed now
        assert not Uploader(remote, progress=False).upload(folder).changed
    assert names(plume.url, "mo") == ["mo-1", "mo-2"]
    remote.close()


def test_a_name_picked_but_never_confirmed_is_picked_again(plume: PlumeProcess, tmp_path: Path) -> None:
    connected = Writer("nc", plume.url, base_log_dir=tmp_path / "connected")  # takes nc-1
    connected.create_run()
    assert connected.wait_for_uploads(30)
    connected.close()
    assert on_disk(connected.log_folder)[NAME_CONFIRMED] is True  # type: ignore[arg-type]
    # A run that chose nc-1 too, then lost its backend before the run was created there.
    lost = run_folder(tmp_path / "lost", "2026-01-02T00:00:00", {"_id": object_id(), "basename": "nc",
                                                                 "name": "nc-1"})
    remote = Remote(plume.url, "keras")
    report = Uploader(remote, progress=False).upload(lost)
    assert report.created_run
    disk = on_disk(lost)
    assert disk["name"] == "nc-2" and [c["name"] for c in disk["checkpoints"]] == ["nc-2@1", "nc-2@final"]
    assert names(plume.url, "nc") == ["nc-1", "nc-2"]
    assert not Uploader(remote, progress=False).upload(lost).changed
    remote.close()


def test_a_confirmed_name_is_kept(plume: PlumeProcess, tmp_path: Path) -> None:
    """A run the backend accepted, then lost (removed, a wiped database), comes back under its name."""
    writer = Writer("kept", plume.url, base_log_dir=tmp_path / "logs")
    for _ in range(2):  # kept-1 and kept-2
        writer.create_run()
        assert writer.wait_for_uploads(30)
    writer.close()
    folder = writer.log_folder
    assert folder is not None and on_disk(folder)["name"] == "kept-2"
    remote = Remote(plume.url, "keras")
    remote.remove_run(on_disk(folder))
    remote.remove_run(on_disk(next(p for p in (tmp_path / "logs").iterdir() if p != folder)))
    assert Uploader(remote, progress=False).upload(folder).created_run
    assert names(plume.url, "kept") == ["kept-2"]  # not renamed kept-1 because kept-1 is free now
    remote.close()
