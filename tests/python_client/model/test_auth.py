"""``python_client.model`` with authentication on: API keys through ``connect``, owners' rules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import python_client
from python_client.errors import Forbidden, NotAuthenticated, NotFound
from python_client.model import Model, OutputModel
from tests.auth.support import AUTH_CONFIG, PASSWORD
from tests.support.server import REPO, PlumeProcess


def make_user(srv: PlumeProcess, email: str) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "backend.cli", "users", "create", "--email", email, "--role", "editor",
         "--config", str(srv.config_path), "--data-dir", str(srv.data_dir)],
        cwd=REPO, env={**os.environ, "PLUME_PASSWORD": PASSWORD}, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr


def api_key(srv: PlumeProcess, email: str) -> str:
    with python_client.DataStore(srv.url) as store:
        store.login(email, PASSWORD)
        return str(store.service("api-keys").create({"name": "training"})["key"])


def test_models_with_api_keys(tmp_path: Path, cache: Path, task: str) -> None:
    srv = PlumeProcess(tmp_path / "server", config=AUTH_CONFIG)
    for who in ("ann", "bob"):
        make_user(srv, f"{who}@example.org")
    with srv:
        keys = {who: api_key(srv, f"{who}@example.org") for who in ("ann", "bob")}
        try:
            python_client.connect(srv.url)
            with pytest.raises(NotAuthenticated):
                OutputModel(task=task, name="anonymous")

            python_client.connect(srv.url, api_key=keys["ann"])
            mine = OutputModel(task=task, name="ann's", label_enumeration={"a": 0})
            path = tmp_path / "w.bin"
            path.write_bytes(b"w" * 1000)
            mine.update_weights(str(path))
            assert OutputModel.wait_for_uploads(timeout=60)
            shared = OutputModel(task=task, name="shared")
            python_client.default_store().service("models").patch(shared.id, {"public": True})
            mine.publish()
            with pytest.raises(Forbidden):  # an editor may not remove a published model
                python_client.default_store().service("models").remove(mine.id)

            python_client.connect(srv.url, api_key=keys["bob"])
            with pytest.raises(NotFound):
                Model(mine.id)
            with pytest.raises(NotFound):
                OutputModel(base_model_id=mine.id, tags=["taken"])
            assert Model(shared.id).name == "shared"  # public: readable
            with pytest.raises(Forbidden):
                OutputModel(base_model_id=shared.id, tags=["taken"])
            assert [m.id for m in Model.query_models()] == [shared.id]
            own = OutputModel(task=task, name="bob's")
            path.write_bytes(b"b" * 1000)
            own.update_weights(str(path))
            assert OutputModel.wait_for_uploads(timeout=60)
            assert Path(own.get_weights(raise_on_error=True)).read_bytes() == b"b" * 1000
        finally:
            python_client.disconnect()
