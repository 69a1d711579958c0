"""``plume runs list|show|compare``: the real command (a subprocess) against a real server, on runs a
Writer logged; the failures users meet say what is wrong in one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from python_client import DataStore, Writer
from tests.auth.support import PASSWORD, SECRET
from tests.support.cli import plume
from tests.support.server import PlumeProcess, free_port


def logged_run(url: str, base: Path, name: str, params: dict[str, Any], losses: list[float]) -> dict[str, Any]:
    """A run logged by the Writer, as the server holds it."""
    writer = Writer(name, url, base_log_dir=base)
    writer.create_run(run_params=params)
    writer.train_begin(len(losses))
    for epoch, loss in enumerate(losses, 1):
        writer.save_epoch(epoch, {"loss": loss, "acc": 1 - loss})
    writer.train_end()
    assert writer.wait_for_uploads(30)
    writer.close()
    return dict(writer.run_data)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PlumeProcess, list[dict[str, Any]]]]:
    """A server holding mlp-1, mlp-2 (success) and cnn-1 (still training)."""
    base = tmp_path_factory.mktemp("logs")
    with PlumeProcess(tmp_path_factory.mktemp("server")) as srv:
        runs = [logged_run(srv.url, base, "mlp", {"lr": 0.001, "batch_size": 32, "optimizer": {"name": "adam"}},
                           [0.9, 0.5]),
                logged_run(srv.url, base, "mlp", {"lr": 0.01, "batch_size": 32, "optimizer": {"name": "adam"}},
                           [0.8, 0.3])]
        with DataStore(srv.url) as store:
            runs.append(store.service("runs").create({"basename": "cnn", "name": "cnn-1", "status": "epoch",
                                                      "epoch": 1, "epochs": 10, "params": {"lr": 0.1}}))
        yield srv, runs


def runs(srv: PlumeProcess, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = plume("runs", *args, env={"PLUME_URL": srv.url, **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr


def test_list(server: tuple[PlumeProcess, list[dict[str, Any]]]) -> None:
    srv, made = server
    status, out, err = runs(srv, "list")
    assert status == 0 and err == ""
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "STATUS", "EPOCH", "CREATED", "(UTC)", "ID"]
    assert [row.split()[:3] for row in rows] == [["cnn-1", "epoch", "1/10"], ["mlp-2", "success", "2/2"],
                                                 ["mlp-1", "success", "2/2"]]  # the newest first
    assert rows[0].split()[-1] == made[2]["_id"]
    status, out, _ = runs(srv, "list", "--limit", "1", "--status", "success")
    assert status == 0 and out.splitlines()[1].split()[0] == "mlp-2"
    assert out.splitlines()[-1] == "(1 of 2 runs: --limit N or --all for more)"
    status, out, _ = runs(srv, "list", "--json", "--all", "--basename", "mlp")
    listed = json.loads(out)
    assert status == 0 and [r["name"] for r in listed] == ["mlp-2", "mlp-1"] and "logs" not in listed[0]


def test_show_by_name_id_or_basename(server: tuple[PlumeProcess, list[dict[str, Any]]]) -> None:
    srv, made = server
    status, out, err = runs(srv, "show", "mlp-1")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[:4] == ["run      mlp-1", f"id       {made[0]['_id']}", "status   success", "epoch    2/2"]
    params = lines.index("params")
    assert lines[params + 1:params + 4] == ["  lr              0.001", "  batch_size      32",
                                            "  optimizer.name  adam"]
    metrics = lines.index("last metrics (2 epochs logged)")
    assert lines[metrics + 1:metrics + 3] == ["  loss  0.5", "  acc   0.5"]
    assert runs(srv, "show", made[1]["_id"])[1].splitlines()[0] == "run      mlp-2"
    assert runs(srv, "show", "mlp")[1].splitlines()[0] == "run      mlp-2"  # the newest of the basename
    status, out, _ = runs(srv, "show", "cnn-1", "--json")
    with DataStore(srv.url) as store:
        assert status == 0 and json.loads(out) == store.service("runs").get(made[2]["_id"])


def test_compare_marks_the_params_that_differ(server: tuple[PlumeProcess, list[dict[str, Any]]]) -> None:
    srv, _ = server
    status, out, err = runs(srv, "compare", "mlp-1", "mlp-2")
    assert status == 0 and err == ""
    assert out.splitlines() == [
        "                          mlp-1    mlp-2",
        "   status                 success  success",
        "   epoch                  2/2      2/2",
        "   params.batch_size      32       32",
        "*  params.lr              0.001    0.01",
        "   params.optimizer.name  adam     adam",
        "   last acc               0.5      0.7",
        "   last loss              0.5      0.3",
        "",
        "* differs (1 of 3 params)",
    ]
    status, out, _ = runs(srv, "compare", "mlp-1", "mlp-2", "cnn-1", "--json")
    data = json.loads(out)
    assert status == 0 and data["different"] == ["batch_size", "lr", "optimizer.name"]  # cnn-1 lacks two
    assert data["params"]["lr"] == [0.001, 0.01, 0.1] and data["metrics"]["loss"] == [0.5, 0.3, None]
    assert [r["name"] for r in data["runs"]] == ["mlp-1", "mlp-2", "cnn-1"]


def test_what_users_get_wrong(server: tuple[PlumeProcess, list[dict[str, Any]]], tmp_path: Path) -> None:
    srv, _ = server
    assert runs(srv, "show", "nope") == (1, "", f"plume runs: no run 'nope' on {srv.url} (no run has that name, id "
                                                "or basename; plume runs list shows the runs)\n")
    with DataStore(srv.url) as store:
        twins = [store.service("runs").create({"basename": "dup", "name": "dup-1"}) for _ in range(2)]
    status, out, err = runs(srv, "show", "dup-1")
    assert (status, out) == (1, "") and err == (f"plume runs: 2 runs are named 'dup-1' ({twins[1]['_id']}, "
                                                f"{twins[0]['_id']}): name one by its id\n")
    down = f"http://127.0.0.1:{free_port()}"
    assert runs(srv, "list", "--url", down) == (1, "", f"plume runs: cannot reach a server at {down} (Connection "
                                                      "refused): is Plume running there? (--url or $PLUME_URL)\n")
    status, _, err = runs(srv, "list", "--url", f"{srv.url}/api")
    assert status == 1 and err == (f"plume runs: no Plume server at {srv.url}/api: GET {srv.url}/api/info answered "
                                   f"404 (No record found for id 'info'); did you mean {srv.url}?\n")
    status, _, err = runs(srv, "list", "--url", srv.url.removeprefix("http://"))
    assert status == 1 and err == (f"plume runs: the backend URL '{srv.url.removeprefix('http://')}' has no scheme: "
                                   f"did you mean '{srv.url}'?\n")
    status, _, err = runs(srv, "compare", "mlp-1")
    assert status == 2 and err.endswith("plume runs compare: error: compare needs two runs or more\n")


def test_api_key_from_the_flag_or_the_environment(tmp_path: Path) -> None:
    srv = PlumeProcess(tmp_path / "server", config=f'[authentication]\nenabled = true\nsecret = "{SECRET}"\n')
    assert srv.config_path is not None
    made = plume("users", "create", "--email", "ada@example.org", "--role", "editor", "--config", srv.config_path,
                 "--data-dir", srv.data_dir, env={"PLUME_PASSWORD": PASSWORD})
    assert made.returncode == 0, made.stderr
    with srv, DataStore(srv.url) as store:
        store.login("ada@example.org", PASSWORD)
        store.service("runs").create({"basename": "secure", "name": "secure-1", "status": "success"})
        key = store.service("api-keys").create({"name": "cli"})["key"]
        status, out, err = runs(srv, "list")
        assert (status, out) == (1, "") and err == ("plume runs: authentication failed (NotAuthenticated (401): Not "
                                                    "authenticated): set PLUME_API_KEY or pass --api-key\n")
        status, out, _ = runs(srv, "list", "--api-key", key)
        assert status == 0 and out.splitlines()[1].split()[0] == "secure-1"
        status, out, _ = runs(srv, "show", "secure-1", env={"PLUME_API_KEY": key})
        assert status == 0 and out.splitlines()[0] == "run      secure-1"
