"""``OutputModel`` against a real server: construction, weights updates, destinations, downloads."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

import pytest

import python_client
from python_client.errors import Conflict
from python_client.model import Model, OutputModel
from tests.support.server import PlumeProcess


def count_models(store: python_client.DataStore) -> int:
    return int(store.service("models").find({"query": {"$limit": 0}})["total"])


def weights(path: Path, size: int = 50_000) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def test_a_model_with_its_design_labels_and_run(connected: python_client.DataStore) -> None:
    run = connected.service("runs").create({"name": "mnist-7"})
    model = OutputModel(task=run["_id"], config_dict={"units": 64, "act": "relu"},
                        label_enumeration={"cat": 0, "dog": 1}, tags=["cnn"], comment="first try",
                        framework="FancyFramework 9")
    assert model.name == "mnist-7"  # the run's name by default
    assert model.config_dict == {"units": 64, "act": "relu"}
    assert json.loads(model.config_text) == {"units": 64, "act": "relu"}
    assert (model.labels, model.tags, model.comment, model.task) == ({"cat": 0, "dog": 1}, ["cnn"], "first try",
                                                                    run["_id"])
    stored = Model(model.id)
    assert (stored.framework, stored.config_dict, stored.published, stored.url) == (
        "FancyFramework 9", {"units": 64, "act": "relu"}, False, None)
    outputs = connected.service("runs").get(run["_id"])["associations"]["outputs"]
    assert outputs == [{"kind": "model", "id": model.id, "name": "mnist-7"}]


def test_config_text_is_kept_as_given(connected: python_client.DataStore, task: str) -> None:
    model = OutputModel(task=task, config_text="layer { type: 'conv' }", name="proto")
    assert model.config_text == "layer { type: 'conv' }" and model.config_dict is None


@pytest.mark.parametrize("kwargs, message", [
    ({"config_text": "a", "config_dict": {"a": 1}}, "not both"),
    ({"label_enumeration": {"cat": 0, "dog": 0}}, "same value"),
    ({"label_enumeration": {"cat": "0"}}, "integers"),
    ({"label_enumeration": {"cat": 1.0}}, "integers"),
    ({"label_enumeration": {"cat": True}}, "integers"),
    ({"tags": "one-string"}, "list of strings"),
    ({"name": ""}, "name"),
])
def test_bad_arguments_are_refused_before_anything_is_stored(connected: python_client.DataStore, kwargs: dict,
                                                             message: str, task: str) -> None:
    before = count_models(connected)
    with pytest.raises(ValueError, match=message):
        OutputModel(task=task, **kwargs)
    assert count_models(connected) == before


def test_weights_updates_make_versions_in_the_background(connected: python_client.DataStore, tmp_path: Path,
                                                        task: str) -> None:
    model = OutputModel(task=task, name="bg")
    first, second = tmp_path / "epoch-1.h5", tmp_path / "epoch-2.h5"
    data1, data2 = weights(first), weights(second, 70_000)
    uri1 = model.update_weights(str(first), iteration=1)
    assert uri1.startswith(connected.location + "model-versions/") and uri1.endswith("/epoch-1.h5")
    assert model.url == uri1  # the latest weights, on their way
    uri2 = model.update_weights(str(second), iteration=2, update_comment=False)
    assert OutputModel.wait_for_uploads(timeout=60)
    assert not first.exists() and not second.exists()  # auto_delete_file, once uploaded
    versions = Model(model.id).versions
    assert [(v["version"], v["iteration"], v["filename"]) for v in versions] == [(1, 1, "epoch-1.h5"),
                                                                               (2, 2, "epoch-2.h5")]
    assert versions[0]["sha256"] == hashlib.sha256(data1).hexdigest()
    assert model.url == uri2 and model.version == 2
    comment = Model(model.id).comment
    assert f"{socket.gethostname()}:{first}" in comment and "epoch-2" not in comment
    path = model.get_weights()
    assert path is not None and Path(path).name == "epoch-2.h5" and Path(path).read_bytes() == data2


def test_auto_delete_file_false_keeps_the_file(connected: python_client.DataStore, tmp_path: Path, task: str) -> None:
    model = OutputModel(task=task, name="keep")
    path = tmp_path / "w.bin"
    weights(path)
    model.update_weights(str(path), auto_delete_file=False, target_filename="renamed.bin")
    assert OutputModel.wait_for_uploads(timeout=60)
    assert path.exists() and model.url.endswith("/renamed.bin")


def test_bad_weights_updates_are_refused_at_once(connected: python_client.DataStore, tmp_path: Path, task: str) -> None:
    model = OutputModel(task=task, name="strict")
    path = tmp_path / "w.bin"
    weights(path)
    with pytest.raises(ValueError, match="exactly one"):
        model.update_weights()
    with pytest.raises(ValueError, match="exactly one"):
        model.update_weights(str(path), register_uri="file:///tmp/w.bin")
    with pytest.raises(FileNotFoundError):
        model.update_weights(str(tmp_path / "missing.bin"))
    for name in ("../escape.bin", "sub/dir.bin", "..", ".hidden"):
        with pytest.raises(ValueError, match="target_filename"):
            model.update_weights(str(path), target_filename=name)
    with pytest.raises(ValueError, match="not a supported destination"):
        model.update_weights(str(path), upload_uri="nosuchscheme://bucket/x")
    with pytest.raises(ValueError, match="iteration"):
        model.update_weights(str(path), iteration="3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="absolute URI"):
        model.update_weights(register_uri="relative/w.bin")
    assert OutputModel.wait_for_uploads(timeout=60)
    assert Model(model.id).versions == [] and path.exists()


def test_file_destinations_and_registered_uris(connected: python_client.DataStore, tmp_path: Path, task: str) -> None:
    model = OutputModel(task=task, name="files")
    folder = tmp_path / "shared"
    assert model.set_upload_destination(f"file://{folder}")
    path = tmp_path / "w.bin"
    data = weights(path)
    uri = model.update_weights(str(path))
    assert uri.startswith(f"file://{folder}/{model.id}/") and uri.endswith("/w.bin")
    assert OutputModel.wait_for_uploads(timeout=60)
    written = folder / uri[len(f"file://{folder}/"):]
    assert written.read_bytes() == data and model.url == uri and Model(model.id).url == uri
    assert [p.name for p in written.parent.iterdir()] == ["w.bin"]  # no temporary file left
    cached = model.get_weights(raise_on_error=True)
    assert cached != str(written) and Path(cached).read_bytes() == data

    elsewhere = tmp_path / "registered.bin"
    data2 = weights(elsewhere)
    registered = model.update_weights(register_uri=f"file://{elsewhere}")
    assert registered == f"file://{elsewhere}"
    assert OutputModel.wait_for_uploads(timeout=60)
    version = Model(model.id).versions[-1]
    assert (version["uri"], version["sha256"], version["size"]) == (registered, hashlib.sha256(data2).hexdigest(),
                                                                     len(data2))
    assert elsewhere.exists() and Model(model.id).url == registered


def test_fsspec_destinations(connected: python_client.DataStore, tmp_path: Path, task: str) -> None:
    import importlib.util

    import fsspec

    model = OutputModel(task=task, name="fsspec")
    assert not model.set_upload_destination("nosuchscheme://bucket/models")
    assert not model.set_upload_destination("https://example.org/upload")
    if importlib.util.find_spec("s3fs") is None:
        assert not model.set_upload_destination("s3://bucket/models")  # known scheme, package missing
    assert model.set_upload_destination("memory://registry-test")
    path = tmp_path / "w.bin"
    data = weights(path)
    uri = model.update_weights(str(path))
    assert uri.startswith(f"memory://registry-test/{model.id}/")
    assert OutputModel.wait_for_uploads(timeout=60)
    with fsspec.open(uri, "rb") as f:
        assert f.read() == data
    assert Path(model.get_weights(raise_on_error=True)).read_bytes() == data
    assert model.set_upload_destination(None)  # back to the server
    assert model.update_weights(str(tmp_path / "w.bin") if path.exists() else _again(path)).startswith(
        connected.location)


def _again(path: Path) -> str:
    weights(path)
    return str(path)


def test_packages_round_trip(connected: python_client.DataStore, tmp_path: Path, task: str) -> None:
    model = OutputModel(task=task, name="package")
    folder = tmp_path / "saved_model"
    (folder / "variables").mkdir(parents=True)
    files = {"saved_model.pb": os.urandom(2000), "variables/variables.index": b"index",
             "variables/variables.data-00000-of-00001": os.urandom(30_000)}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    uri = model.update_weights_package(weights_path=str(folder), iteration=3)
    assert uri.endswith("/saved_model.zip") and not folder.exists()  # packed, then the sources deleted
    assert OutputModel.wait_for_uploads(timeout=60)
    listed = model.get_weights_package()
    root = Path(model.get_weights_package(return_path=True))
    assert sorted(Path(p).relative_to(root).as_posix() for p in listed) == sorted(files)
    for name, data in files.items():
        assert (root / name).read_bytes() == data
    version = Model(model.id).versions[-1]
    assert version["package"] is True and version["iteration"] == 3

    a, b = tmp_path / "a.json", tmp_path / "b.bin"
    a.write_text("{}")
    b.write_bytes(b"bb")
    model.update_weights_package(weights_filenames=[str(a), str(b)], auto_delete_file=False, target_filename="two.zip")
    assert OutputModel.wait_for_uploads(timeout=60)
    assert a.exists() and b.exists()
    assert sorted(Path(p).name for p in model.get_weights_package()) == ["a.json", "b.bin"]
    with pytest.raises(ValueError, match="exactly one"):
        model.update_weights_package()
    with pytest.raises(NotADirectoryError):
        model.update_weights_package(weights_path=str(tmp_path / "nope"))
    plain = OutputModel(task=task, name="plain")
    plain.update_weights(str(a), auto_delete_file=False)
    assert OutputModel.wait_for_uploads(timeout=60)
    assert plain.get_weights_package() is None
    with pytest.raises(ValueError, match="not a package"):
        plain.get_weights_package(raise_on_error=True)


def test_get_weights_uses_the_cache(connected: python_client.DataStore, plume: PlumeProcess, tmp_path: Path,
                                    cache: Path, caplog: pytest.LogCaptureFixture, task: str) -> None:
    model = OutputModel(task=task, name="cached")
    path = tmp_path / "w.keras"
    data = weights(path)
    model.update_weights(str(path))
    assert OutputModel.wait_for_uploads(timeout=60)
    first = model.get_weights()
    assert first is not None and Path(first).read_bytes() == data and Path(first).name == "w.keras"
    assert Path(first).parent.name == hashlib.sha256(data).hexdigest() and Path(first).is_relative_to(cache)
    # Change the stored file behind the server's back: a second call must not download it again.
    version_id = Model(model.id).versions[-1]["_id"]
    (stored,) = (plume.data_dir / "files" / "model-versions" / version_id).iterdir()
    stored.write_bytes(os.urandom(len(data)))
    assert model.get_weights() == first and Path(first).read_bytes() == data
    # With the cache emptied, the (now different) file is downloaded and refused.
    Path(first).unlink()
    with caplog.at_level("WARNING", logger="python_client"):
        assert model.get_weights() is None
    assert "SHA-256" in caplog.text
    with pytest.raises(ValueError, match="SHA-256"):
        model.get_weights(raise_on_error=True)


def test_get_weights_of_a_model_without_weights(connected: python_client.DataStore,
                                                caplog: pytest.LogCaptureFixture, task: str) -> None:
    model = OutputModel(task=task, name="empty")
    with caplog.at_level("WARNING", logger="python_client"):
        assert model.get_weights() is None
    assert "no weights yet" in caplog.text
    with pytest.raises(ValueError, match="no weights yet"):
        Model(model.id).get_weights(raise_on_error=True)


def test_publishing(connected: python_client.DataStore, tmp_path: Path, task: str) -> None:
    model = OutputModel(task=task, name="to-publish", config_dict={"a": 1}, label_enumeration={"x": 0})
    path = tmp_path / "w.bin"
    weights(path)
    model.update_weights(str(path))
    model.publish()  # waits for the model's pending upload first
    assert model.published and model.version == 1
    stamp = Model(model.id)._doc["publishedAt"]
    model.publish()  # a no-op
    assert Model(model.id)._doc["publishedAt"] == stamp
    weights(path)
    with pytest.raises(Conflict):
        model.update_weights(str(path))
    assert not model.update_design(config_dict={"a": 2})
    assert not model.update_labels({"y": 1})
    assert Model(model.id).config_dict == {"a": 1} and Model(model.id).labels == {"x": 0}
    model.comment = "still editable"
    assert Model(model.id).comment == "still editable"
    assert model.id in [m.id for m in Model.query_models(only_published=True)]


def test_design_and_labels_updates(connected: python_client.DataStore, task: str) -> None:
    model = OutputModel(task=task, name="design")
    assert model.update_design(config_text="x = 1") and model.config_text == "x = 1"
    assert model.update_design(config_dict={"y": 2}) and model.config_dict == {"y": 2}
    with pytest.raises(ValueError, match="not both"):
        model.update_design(config_text="a", config_dict={"a": 1})
    assert model.update_labels({"a": 0, "b": 1}) and Model(model.id).labels == {"a": 0, "b": 1}
    with pytest.raises(ValueError, match="same value"):
        model.update_labels({"a": 0, "b": 0})
    model.tags = ["t"]
    model.name = "renamed"
    assert (Model(model.id).tags, Model(model.id).name) == (["t"], "renamed")


def test_query_models(connected: python_client.DataStore, task: str) -> None:
    name = f"query-{os.urandom(4).hex()}"
    a = OutputModel(task=task, name=name, tags=["prod", "cnn"])
    b = OutputModel(task=task, name=name, tags=["qa"])
    c = OutputModel(task=task, name=name)
    OutputModel(task=task, name=name + "-other", tags=["prod"])
    assert [m.id for m in Model.query_models(model_name=name)] == [c.id, b.id, a.id]  # newest first
    assert [m.id for m in Model.query_models(model_name=name, tags=["prod", "qa"])] == [b.id, a.id]
    assert [m.id for m in Model.query_models(model_name=name, tags=["-qa"])] == [c.id, a.id]
    assert [m.id for m in Model.query_models(model_name=name, max_results=1)] == [c.id]
    assert Model.query_models(model_name=name, only_published=True) == []
    assert all(type(m) is Model for m in Model.query_models(model_name=name))


def test_tasks_and_base_models(connected: python_client.DataStore, plume: PlumeProcess, tmp_path: Path) -> None:
    from python_client import Writer

    writer = Writer("writer-task", plume.url, base_log_dir=tmp_path / "logs")
    writer.create_run(run_params={"lr": 0.1})
    model = OutputModel(task=writer)
    run_id = writer.run_data["_id"]
    assert model.task == run_id and model.name.startswith("writer-task")
    assert writer.wait_for_uploads(30)
    runs = connected.service("runs")
    outputs = runs.get(run_id)["associations"]["outputs"]
    assert [o["id"] for o in outputs] == [model.id]
    writer.close()

    other = runs.create({"name": "connected-run"})
    same = OutputModel(base_model_id=model.id, tags=["reused"])
    assert same.id == model.id and same.tags == ["reused"]
    same.connect(other["_id"])
    assert Model(model.id).task == other["_id"]
    assert [o["id"] for o in runs.get(other["_id"])["associations"]["outputs"]] == [model.id]
    with pytest.raises(TypeError):
        OutputModel(task=3.14)
    with pytest.raises(ValueError, match="create_run"):
        OutputModel(task=Writer("no-run", None))


def test_without_a_task_the_run_this_process_makes_is_the_task(connected: python_client.DataStore, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from python_client import Writer, em

    monkeypatch.setenv("EM_RUN_PARENT_DIR", str(tmp_path / "runs"))
    before = count_models(connected)
    with pytest.raises(ValueError, match="pass task="):  # no run here: nothing is created
        OutputModel(name="orphan")
    assert count_models(connected) == before
    run = em.create_run(name="current")
    assert OutputModel(name="by-em").task == run.id
    writer = Writer("later", None, base_log_dir=tmp_path / "logs")
    writer.create_run()
    assert OutputModel(name="by-writer").task == writer.run_data["_id"]  # the latest run started
    writer.train_end()
    assert OutputModel(name="em-again").task == run.id  # the Writer's run is over
    run.finish()
    with pytest.raises(ValueError, match="pass task="):
        OutputModel(name="after-the-runs")
    assert count_models(connected) == before + 3
