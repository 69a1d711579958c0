"""The em API offline: local folders and files, what each call writes before it returns, the
seed's rules (obj_path, conflict strategies, config files) and the refusals of bad input."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from python_client import em
from python_client.em import checks, local
from services.tracking.metrics import TYPE_ALIASES


def lines(run: em.Run) -> list[dict]:
    return [json.loads(line) for line in (Path(run.local) / local.METRICS_FILE).read_text().splitlines()]


def test_the_type_table_is_the_servers() -> None:
    assert checks.TYPE_ALIASES == TYPE_ALIASES


def test_create_run_writes_its_folder_and_every_change(workdir: Path) -> None:
    run = em.create_run(name="cnn", hparams={"lr": 0.1}, labels=["k"], description="d")
    folder = Path(run.local)
    assert folder.parent == workdir.resolve() / ".em/runs" and re.fullmatch(r"cnn_\d{6}_\d{6}_[a-z0-9]{6}", folder.name)
    assert run.alternative_name == folder.name and run.status == "start"
    record = json.loads((folder / local.RUN_FILE).read_text())
    assert record["hparams"] == {"lr": 0.1} and record["labels"] == ["k"] and record["platform"]["python"]
    run.params.epochs = 10
    run.params["batch"] = 32
    run.params.update({"lr": 0.5, "new": 1}, override=False)
    assert json.loads((folder / local.RUN_FILE).read_text())["hparams"] == {"lr": 0.1, "epochs": 10, "batch": 32,
                                                                          "new": 1}
    run.log("training", {"loss": 0.5, "acc": 1}, step=0, epoch=0)
    assert lines(run)[-1]["type"] == "train" and lines(run)[-1]["metrics"] == {"loss": 0.5, "acc": 1}
    assert run.status == "epoch" and json.loads((folder / local.RUN_FILE).read_text())["status"] == "epoch"
    run.log("eval", {"loss": 0.7}, step=1)
    assert run.metrics == {"train": [{"step": 0, "epoch": 0, "timestamp": lines(run)[0]["timestamp"],
                                      "metrics": {"loss": 0.5, "acc": 1}}],
                           "test": [{"step": 1, "epoch": None, "timestamp": lines(run)[1]["timestamp"],
                                     "metrics": {"loss": 0.7}}]}
    run.finish()
    record = json.loads((folder / local.RUN_FILE).read_text())
    assert record["status"] == "success" and record["end_timestamp"] >= record["start_timestamp"]
    again = em.load_run(run.local)
    assert again.metrics == run.metrics and again.params.as_dict() == run.params.as_dict() and again.id == run.id
    copy = em.Run({"name": "x", "local": run.local})
    copy.parse_from_dict(run.to_dict())
    assert copy.to_dict() == {**run.to_dict(), "name": run.name}


def test_env_parent_dirs_and_context_manager_errors(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EM_RUN_PARENT_DIR", str(workdir / "elsewhere"))
    with pytest.raises(RuntimeError), em.create_run(name="fails") as run:
        raise RuntimeError("boom")
    assert Path(run.local).parent == (workdir / "elsewhere").resolve() and run.status == "error" and run.end_timestamp


def test_config_file_values_take_precedence(workdir: Path) -> None:
    Path("run.yaml").write_text("name: from_yaml\nhparams:\n  batch_size: 32\nlabels: [Keras]\n"
                                "description: from the file\n")
    run = em.create_run(config_path="run.yaml", name="from_args", hparams={"batch_size": 1})
    assert (run.name, run.params.as_dict(), run.labels, run.description) == (
        "from_yaml", {"batch_size": 32}, ["Keras"], "from the file")
    Path("bad.yaml").write_text("nme: typo\n")
    with pytest.raises(ValueError, match="nme"):
        em.create_run(config_path="bad.yaml")


def test_bad_logs_are_refused_and_nothing_is_written(workdir: Path) -> None:
    run = em.create_run(name="r")
    bad = [
        ((), {"type": "train", "metrics": {"loss": "high"}, "step": 0}, TypeError),
        ((), {"type": "train", "metrics": {"loss": float("nan")}, "step": 0}, ValueError),
        ((), {"type": "train", "metrics": {"loss": float("inf")}, "step": 0}, ValueError),
        ((), {"type": "train", "metrics": {"loss": True}, "step": 0}, TypeError),
        ((), {"type": "train", "metrics": {"k" * 10_000_000: 1.0}, "step": 0}, ValueError),
        ((), {"type": "train", "metrics": {}, "step": 0}, TypeError),
        ((), {"type": "train", "metrics": {"loss": 1.0}, "step": -1}, ValueError),
        ((), {"type": "train", "metrics": {"loss": 1.0}, "step": 1.5}, TypeError),
        ((), {"type": "train", "metrics": {"loss": 1.0}, "step": 1, "epoch": -2}, ValueError),
        ((), {"type": "", "metrics": {"loss": 1.0}, "step": 1}, ValueError),
        ((), {"type": ["train"], "metrics": {"loss": 1.0}, "step": 1}, ValueError),
    ]
    for args, kwargs, error in bad:
        with pytest.raises(error):
            run.log(*args, **kwargs)
    assert run.metrics == {} and not lines(run)
    np = pytest.importorskip("numpy")
    run.log("train", {"loss": np.float32(0.25), "n": np.int64(3)}, step=np.int64(2))
    assert lines(run)[-1]["metrics"] == {"loss": 0.25, "n": 3} and lines(run)[-1]["step"] == 2
    with pytest.raises(ValueError, match="conflict_strategy"):
        em.create_run(name="r", conflict_strategy="overwrite")
    with pytest.raises(ValueError):
        em.create_run(name="a/b")


def test_a_line_cut_by_a_crash_is_dropped_before_appending(workdir: Path) -> None:
    run = em.create_run(name="r")
    run.log("train", {"loss": 1.0}, step=0)
    with (Path(run.local) / local.METRICS_FILE).open("a") as f:
        f.write('{"type":"train","step":1,"epo')  # the process died here
    again = em.load_run(run.local)
    again.log("train", {"loss": 2.0}, step=2)
    assert [line["step"] for line in lines(again)] == [0, 2]


def test_params_attribute_access_and_parse(workdir: Path) -> None:
    run = em.create_run(name="r")
    params = run.params
    params.lr = 0.1
    assert params.lr == 0.1 and params["lr"] == 0.1 and dict(params) == {"lr": 0.1} and isinstance(params, em.Params)
    del params.lr
    with pytest.raises(AttributeError):
        params.lr  # noqa: B018

    class MirroredStrategy:
        num_replicas_in_sync = 4

    class DistributedDataParallel:
        device_ids = [0]

    class hvd:
        @staticmethod
        def size() -> int:
            return 8

        @staticmethod
        def local_size() -> int:
            return 2

    before = set(sys.modules)
    params.parse(dist_tf_strategy=MirroredStrategy(), dist_torch_model=DistributedDataParallel(), dist_hvd=hvd)
    assert set(sys.modules) == before  # no framework imported
    assert params.as_dict() == {"dist_tf_strategy": "MirroredStrategy", "num_replicas": 4,
                                "dist_torch_model": "DistributedDataParallel", "dist_hvd": "hvd",
                                "world_size": 8, "local_size": 2}


def test_the_spellings_of_the_seed_examples(workdir: Path) -> None:
    """``t9k.em.containers.Params``, ``run.update({...})`` and ``create_run(folder_path=...)``."""
    from python_client.em.containers import Params

    assert Params is em.Params
    run = em.create_run(name="r", hparams={"epochs": 1})
    version = run.version
    run.update({"batch_size": 32, "epochs": 10})
    assert run.version == version + 1  # one change, one upload
    run.update({"epochs": 99, "lr": 0.1}, override=False)
    assert run.params.as_dict() == {"epochs": 10, "batch_size": 32, "lr": 0.1}
    assert local.read_json(Path(run.local) / local.RUN_FILE)["hparams"] == run.params.as_dict()
    with pytest.raises(ValueError, match="folder_path"):
        em.create_run(name="r", folder="a", folder_path="b")
    em.create_run(name="r", folder="a", folder_path="a")  # the same folder twice is fine


def test_artifact_objects_follow_the_seed_rules(workdir: Path) -> None:
    Path("1.png").write_bytes(b"png")
    Path("a/b").mkdir(parents=True)
    Path("a/x.txt").write_text("x")
    Path("a/b/y.txt").write_text("y")
    art = em.create_artifact(name="logs", labels=["tb"])
    art.add_file("1.png")
    art.add_file("1.png", obj_path="dir/")
    art.add_file("1.png", obj_path="dir/renamed.png")
    art.add_dir("a/")
    art.add_dir("a", obj_path="b/")
    art.add_dir("a/", obj_path="c/a2")
    art.add_reference("s3://bucket/data/train.csv")
    art.add_reference("https://example.org/x", obj_path="refs/")
    paths = [o["path"] for o in art.objects]
    assert paths == sorted(["1.png", "dir/1.png", "dir/renamed.png", "a/x.txt", "a/b/y.txt", "b/a/x.txt", "b/a/b/y.txt",
                            "c/a2/x.txt", "c/a2/b/y.txt", "train.csv", "refs/x"])
    for obj in art.objects:
        if "sha256" in obj:
            copied = Path(art.local, obj["path"])
            assert copied.read_bytes() and obj["size"] == copied.stat().st_size
    assert {"path": "train.csv", "reference": "s3://bucket/data/train.csv"} in art.objects
    for bad in ("../x", "/etc/passwd", "a/../../x", "a//b", "C:/x", "a\\b", "/"):
        with pytest.raises(ValueError):
            art.add_file("1.png", obj_path=bad)
    with pytest.raises(ValueError):
        art.add_reference("not a uri")
    assert not any(p.name == "passwd" for p in workdir.rglob("*"))
    assert em.load_artifact(art.local).objects == art.objects
    run = em.create_run(name="r")
    run.mark_output(art)
    run.mark_output(art)  # once
    run.mark_input({"kind": "model", "id": "m1", "name": "mlp"})
    assert run.associations == {"inputs": [{"kind": "model", "id": "m1", "name": "mlp"}],
                                "outputs": [{"kind": "artifact", "id": art.id, "name": "logs"}]}
    with pytest.raises(TypeError):
        run.mark_input(object())


def test_git_info_outside_and_inside_a_repository(workdir: Path) -> None:
    from python_client.em.platform_info import git_info

    assert git_info(str(workdir)) == {}
    os.system(f"cd {workdir} && git init -q && git -c user.email=a@b -c user.name=a commit -q --allow-empty -m x")
    info = git_info(str(workdir))
    assert len(info["commit"]) == 40 and info["dirty"] is False and info["remote_url"] is None
