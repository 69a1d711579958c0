"""``Remote``: run names, run documents, model and asset uploads, and removing a run with everything it owns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from python_client import DataStore, Remote
from python_client.errors import BadRequest, NotFound
from tests.support.model_files import tiny_onnx
from tests.support.server import PlumeProcess

PNG = b"\x89PNG\r\n\x1a\n" + bytes(300)


def tfjs_folder(root: Path) -> Path:
    """A TF.js layers-model folder as tensorflowjs writes it (the server stores it; nothing runs it here)."""
    root.mkdir(parents=True, exist_ok=True)
    weights = [{"name": "d/kernel", "shape": [2], "dtype": "float32"}]
    manifest = [{"paths": ["group1-shard1of1.bin"], "weights": weights}]
    (root / "model.json").write_text(json.dumps({"format": "layers-model", "modelTopology": {},
                                                 "weightsManifest": manifest}))
    (root / "group1-shard1of1.bin").write_bytes(b"\x00\x00\x80?\x00\x00\x00@")
    return root


def test_run_names_follow_the_highest_existing(plume: PlumeProcess, name: str) -> None:
    remote = Remote(plume.url)
    try:
        first = {"basename": name, "start": "2026-01-01T00:00:00", "source": "keras", "status": "idle"}
        remote.create(first)
        assert first["name"] == f"{name}-1" and len(first["_id"]) == 24
        second = {"basename": name, "start": "2026-01-01T00:00:01", "source": "keras"}
        remote.create(second)
        assert second["name"] == f"{name}-2"
        remote.runs_service.create({"basename": name, "name": f"{name}-7"})  # made elsewhere, out of order
        remote.runs_service.create({"basename": name, "name": f"{name}-notanumber"})
        remote.runs_service.create({"basename": f"{name}-x", "name": f"{name}-x-30"})
        assert remote.next_run_name(name) == f"{name}-8"
        assert remote.next_run_name("a.b") == "a.b-1"
        again = dict(second)
        assert remote.create(again)["_id"] == second["_id"]  # same id: the stored run, not a new one
        assert remote.runs_service.find({"query": {"basename": name, "$limit": 0}})["total"] == 4
        remote.update({**second, "status": "epoch", "epoch": 1})
        assert remote.get_run(second["_id"])["status"] == "epoch"
        assert remote.retrieve_run("2026-01-01T00:00:01")["_id"] == second["_id"]
        assert remote.retrieve_run("1999-01-01T00:00:00") is None
        with pytest.raises(ValueError, match="before create"):
            Remote(plume.url).update({"status": "epoch"})
    finally:
        remote.close()


def test_uploads_and_remove_run(plume: PlumeProcess, tmp_path: Path) -> None:
    remote = Remote(plume.url, save_format="tfjs")
    store = DataStore(plume.url)
    try:
        run = {"basename": "rm", "start": "2026-02-02T02:02:02", "source": "keras", "checkpoints": [], "assets": []}
        remote.create(run)
        tfjs = remote.upload_tfjs_model(tfjs_folder(tmp_path / "tfjs"), {"epoch": 1}, name="rm@1",
                                        run_id=run["_id"])
        assert tfjs["format"] == "tfjs" and tfjs["name"] == "rm@1" and tfjs["run"] == run["_id"]
        assert [f[0] for f in tfjs["files"]] == ["model.json", "group1-shard1of1.bin"]
        (tmp_path / "net.onnx").write_bytes(tiny_onnx())
        onnx = remote.upload_onnx_model(tmp_path / "net", {"epoch": 2})  # ".onnx" added, as Marcelle did
        photo = tmp_path / "curve.png"
        photo.write_bytes(PNG)
        asset = remote.upload_asset(photo, {"epoch": 1}, run_id=run["_id"])
        assert (asset["filename"], asset["extension"], asset["mime"], asset["epoch"]) == (
            "curve.png", ".png", "image/png", 1)
        folder, field = asset["url"].split("/")
        assert store.service("assets").download(folder, field, tmp_path / "a.png").read_bytes() == PNG
        assert store.service("tfjs-models").download(tfjs["_id"], "group1-shard1of1.bin",
                                                     tmp_path).read_bytes() == b"\x00\x00\x80?\x00\x00\x00@"
        stray = remote.upload_tfjs_model(tmp_path / "tfjs", {}, run_id=run["_id"])  # not listed in the run
        (tmp_path / "notes.txt").write_text("x")
        with pytest.raises(BadRequest):
            remote.upload_asset(tmp_path / "notes.txt")  # txt is not a whitelisted asset extension

        run["checkpoints"] = [{"id": tfjs["_id"], "service": "tfjs-models"},
                              {"id": onnx["_id"], "service": "onnx-models"},
                              {"id": "0123456789abcdef01234567", "service": "onnx-models"}]  # already gone
        run["assets"] = [{"id": asset["_id"]}]
        assert remote.remove_run(run) is True
        for path, doc_id in (("runs", run["_id"]), ("tfjs-models", tfjs["_id"]), ("onnx-models", onnx["_id"]),
                             ("assets", asset["_id"]), ("tfjs-models", stray["_id"])):
            with pytest.raises(NotFound):
                store.service(path).get(doc_id)
        with pytest.raises(NotFound):  # the files went with their documents
            store.service("assets").download(folder, field, tmp_path / "b.png")
        assert remote.remove_run(run) is False
    finally:
        remote.close()
        store.close()


def test_bad_formats_are_refused() -> None:
    with pytest.raises(ValueError):
        Remote("http://127.0.0.1:1", save_format="pickle")
