"""The dashboard with authentication on, in chromium: the login form, a wrong password's message,
a viewer who sees neither another user's private run nor its events, the API keys page, and
downloads, which need the session's token."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from python_client import DataStore
from tests.auth.support import AUTH_CONFIG, PASSWORD
from tests.support.server import REPO, PlumeProcess

from .browser import screenshot, tab
from .run_files import download_both, store_run_files

LIVE = 15_000
ADMIN = "admin@example.org"
EDITOR = "ann@example.org"
VIEWER = "vic@example.org"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlumeProcess]:
    srv = PlumeProcess(tmp_path_factory.mktemp("dashboard-auth"), config=AUTH_CONFIG)
    assert srv.config_path is not None
    made = subprocess.run(
        [sys.executable, "-m", "backend.cli", "users", "create", "--email", ADMIN, "--role", "admin",
         "--config", str(srv.config_path), "--data-dir", str(srv.data_dir)],
        cwd=REPO, env={**os.environ, "PLUME_PASSWORD": PASSWORD}, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    with srv, DataStore(srv.url) as admin:
        admin.login(ADMIN, PASSWORD)
        for email, role in ((EDITOR, "editor"), (VIEWER, "viewer")):
            admin.service("users").create({"email": email, "password": PASSWORD, "role": role})
        yield srv


@pytest.fixture(scope="module")
def editor(server: PlumeProcess) -> Iterator[DataStore]:
    with DataStore(server.url) as store:
        store.login(EDITOR, PASSWORD)
        yield store


def log_in(page: Page, email: str, password: str) -> None:
    form = page.locator("#login-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()


def test_login_and_a_viewer_sees_no_private_run(server: PlumeProcess, editor: DataStore, browser: Browser,
                                               shots: Path) -> None:
    runs = editor.service("runs")
    private = runs.create({"name": "ann-private", "status": "start"})
    shared = runs.create({"name": "ann-shared", "status": "success", "public": True})
    with tab(browser) as t:
        page = t.page
        page.goto(server.url + "/")
        expect(page.get_by_role("heading", name="Log in to Plume")).to_be_visible()
        screenshot(page, "login", shots)
        log_in(page, VIEWER, "not the password")
        expect(page.locator("#login-error")).to_contain_text("Invalid login")
        log_in(page, VIEWER, PASSWORD)
        table = page.locator("#runs-table")
        expect(table.locator(f"tr[data-run='{shared['_id']}']")).to_be_visible()
        expect(table.locator("caption")).to_have_text("1 run")
        assert table.locator(f"tr[data-run='{private['_id']}']").count() == 0

        # Live: listen beside the page, then let the editor write a private run and a public one.
        page.evaluate("""() => { window.seen = []
            for (const e of ['created', 'patched'])
                window.plume.app.service('runs').on(e, (r) => window.seen.push(r.name)) }""")
        hidden = runs.create({"name": "ann-private-2", "status": "start"})
        runs.patch(private["_id"], {"status": "epoch"})
        later = runs.create({"name": "ann-shared-2", "status": "start", "public": True})
        expect(table.locator(f"tr[data-run='{later['_id']}']")).to_be_visible(timeout=LIVE)
        assert page.evaluate("window.seen") == ["ann-shared-2"]
        assert table.locator(f"tr[data-run='{hidden['_id']}']").count() == 0
        expect(table.locator("caption")).to_have_text("2 runs")
        page.goto(f"{server.url}/#/runs/{private['_id']}")
        expect(page.get_by_role("alert")).to_contain_text("No record found")

        # The viewer's API keys.
        page.get_by_role("link", name="API keys").click()
        page.get_by_label("Name").fill("laptop")
        page.get_by_role("button", name="Create key").click()
        expect(page.locator("#new-key")).to_contain_text("plume_")
        expect(page.locator("#keys-table")).to_contain_text("laptop")
        screenshot(page, "api-keys", shots)
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("heading", name="Log in to Plume")).to_be_visible()
        t.assert_no_console_errors()


def test_downloads_carry_the_sessions_token(server: PlumeProcess, editor: DataStore, browser: Browser,
                                            tmp_path: Path) -> None:
    files = store_run_files(server.url, editor, tmp_path, "private", b"private weights " * 64)
    checkpoint, artifact, sha = files.checkpoint, files.artifact, files.sha256
    run = editor.service("runs").create({
        "name": "ann-files", "status": "success",
        "checkpoints": [{"id": checkpoint["_id"], "name": "private@1", "service": "onnx-models"}],
        "associations": {"outputs": [{"kind": "artifact", "id": artifact["_id"], "name": "weights"}]}})
    # The files are not public: a plain link (no token) would not download them (the records are
    # hidden from the anonymous caller, hence 404).
    for url in (f"{server.url}/onnx-models/{checkpoint['_id']}/checkpoint.onnx",
                f"{server.url}/artifacts/{artifact['_id']}/{sha}"):
        assert requests.get(url, timeout=30).status_code == 404, url
        bearer = {"Authorization": f"Bearer {editor.access_token}"}
        assert requests.get(url, headers=bearer, timeout=30).status_code == 200, url
    with tab(browser, accept_downloads=True) as t:
        page = t.page
        page.goto(f"{server.url}/#/runs/{run['_id']}")
        log_in(page, EDITOR, PASSWORD)
        expect(page.get_by_role("heading", name="ann-files")).to_be_visible()
        download_both(page, files, tmp_path)
        t.assert_no_console_errors()
