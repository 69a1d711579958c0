"""The runs, run and compare pages in chromium, against a real server fed by the Python client:
live rows and curves, comparison, a 100,000-point run, keyboard use, phone width and dark theme."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from python_client import DataStore, FilePart, Remote
from tests.support.model_files import tiny_onnx
from tests.support.server import PlumeProcess

from .browser import PHONE, screenshot, tab

LIVE = 15_000  # ms: generous, the suite asserts no timing (bench/bench_dashboard.py measures it)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlumeProcess]:
    with PlumeProcess(tmp_path_factory.mktemp("dashboard-runs")) as srv:
        yield srv


@pytest.fixture(scope="module")
def store(server: PlumeProcess) -> Iterator[DataStore]:
    with DataStore(server.url) as s:
        yield s


def make_run(store: DataStore, name: str, params: dict, losses: list[float], **fields: object) -> dict:
    """A tracked run with a train and a val loss curve (step = index)."""
    run = store.service("runs").create({"name": name, "status": "epoch", "hparams": params,
                                        "platform": {"os": "linux", "python": "3.11"}, **fields})
    points = [{"run": run["_id"], "type": kind, "key": "loss", "step": i, "epoch": i // 10, "value": v * scale,
               "timestamp": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z"}
              for kind, scale in (("train", 1.0), ("val", 1.2)) for i, v in enumerate(losses)]
    store.service("metrics").create(points)
    return run


def test_runs_appear_live_and_a_run_page_grows(server: PlumeProcess, store: DataStore, browser: Browser,
                                               shots: Path) -> None:
    first = make_run(store, "resnet-a", {"lr": 0.01, "batch": 32}, [1 / (i + 1) for i in range(40)])
    marcelle = store.service("runs").create({"name": "mlp-1", "basename": "mlp", "source": "keras", "status": "success",
                                             "epoch": 2, "epochs": 3, "params": {"lr": 0.1},
                                             "logs": {"loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.7, 0.6]}})
    with tab(browser) as t:
        page = t.page
        page.goto(server.url + "/")
        table = page.locator("#runs-table")
        expect(table.locator(f"tr[data-run='{first['_id']}']")).to_contain_text("resnet-a")
        row = table.locator(f"tr[data-run='{marcelle['_id']}']")
        expect(row).to_contain_text("marcelle")
        expect(row).to_contain_text("val/loss 0.6")  # a Marcelle run's logs are metric points too

        later = make_run(store, "resnet-b", {"lr": 0.001, "batch": 32}, [0.5, 0.4])
        expect(table.locator(f"tr[data-run='{later['_id']}']")).to_contain_text("resnet-b", timeout=LIVE)
        store.service("runs").patch(later["_id"], {"status": "success"})
        expect(table.locator(f"tr[data-run='{later['_id']}'] .badge")).to_have_text("success", timeout=LIVE)
        screenshot(page, "runs", shots)

        table.locator(f"tr[data-run='{first['_id']}'] a").click()
        chart = page.locator("[data-chart='loss'] .plot")
        expect(chart).to_have_attribute("data-last-step", "39")
        expect(page.locator("[data-chart='loss'] figcaption")).to_contain_text("train")
        expect(page.locator("[data-chart='loss'] figcaption")).to_contain_text("val")
        store.service("metrics").create({"run": first["_id"], "type": "train", "key": "loss", "step": 40,
                                         "value": 0.02})
        expect(chart).to_have_attribute("data-last-step", "40", timeout=LIVE)
        # A new curve appears too.
        store.service("metrics").create({"run": first["_id"], "type": "train", "key": "accuracy", "step": 0,
                                         "value": 0.5})
        expect(page.locator("[data-chart='accuracy'] .plot")).to_have_attribute("data-last-step", "0", timeout=LIVE)
        expect(page.locator("dl[aria-label='Params']")).to_contain_text("batch")
        screenshot(page, "run", shots, full_page=True)
        t.assert_no_console_errors()


def test_compare_two_runs(server: PlumeProcess, store: DataStore, browser: Browser, shots: Path) -> None:
    a = make_run(store, "cmp-a", {"lr": 0.1, "batch": 64, "optimizer": "sgd"}, [1.0, 0.6, 0.4, 0.3])
    b = make_run(store, "cmp-b", {"lr": 0.01, "batch": 64}, [1.0, 0.8, 0.7, 0.65])
    with tab(browser) as t:
        page = t.page
        page.goto(server.url + "/#/runs?q=cmp-")
        page.get_by_label("Search").fill("cmp-")
        for run in (a, b):
            page.locator(f"tr[data-run='{run['_id']}'] input[type=checkbox]").check()
        page.get_by_role("button", name="Compare 2").click()
        chart = page.locator("[data-chart='train/loss']")
        expect(chart.locator(".plot")).to_have_attribute("data-ready", "1")
        expect(chart.locator("figcaption")).to_contain_text("cmp-a: 0.3 at step 3")
        expect(chart.locator("figcaption")).to_contain_text("cmp-b: 0.65 at step 3")
        params = page.locator("#params-table")
        expect(params.locator("tr[data-param='lr']")).to_have_attribute("data-differs", "1")
        expect(params.locator("tr[data-param='optimizer']")).to_have_attribute("data-differs", "1")
        expect(params.locator("tr[data-param='batch']")).to_have_attribute("data-differs", "0")
        expect(params.locator("tr[data-param='lr']")).to_contain_text("≠")
        screenshot(page, "compare", shots, full_page=True)
        t.assert_no_console_errors()


def test_a_run_page_downloads_its_files_and_redraws_its_curves(server: PlumeProcess, store: DataStore,
                                                               browser: Browser, tmp_path: Path) -> None:
    model = tmp_path / "checkpoint.onnx"
    model.write_bytes(tiny_onnx("checkpoint"))
    checkpoint = Remote(server.url, store=store).upload_onnx_model(model, name="files@1")
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"weights " * 100)
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    store.service("artifacts").upload([FilePart.of(weights, field=sha)])
    artifact = store.service("artifacts").create({"name": "weights", "folder": "default", "objects": [
        {"path": "ckpt/weights.bin", "size": weights.stat().st_size, "sha256": sha},
        {"path": "data", "reference": "s3://bucket/data"}]})
    run = make_run(store, "files", {"lr": 0.5}, [1 / (i + 1) for i in range(30)], checkpoints=[
        {"id": checkpoint["_id"], "name": "files@1", "service": "onnx-models", "metadata": {"epoch": 1}}],
        associations={"outputs": [{"kind": "artifact", "id": artifact["_id"], "name": "weights"}]})
    with tab(browser, accept_downloads=True) as t:
        page = t.page
        page.goto(f"{server.url}/#/runs/{run['_id']}")
        for button, expected in (("Download checkpoint.onnx", model), ("Download weights.bin", weights)):
            with page.expect_download() as info:
                page.get_by_role("button", name=button).click()
            saved = tmp_path / f"saved-{expected.name}"
            info.value.save_as(saved)
            assert saved.read_bytes() == expected.read_bytes(), button
        expect(page.locator(f"[data-artifact='{artifact['_id']}']")).to_contain_text("s3://bucket/data")
        plot = page.locator("[data-chart='loss'] .plot")
        expect(plot).to_have_attribute("data-ready", "1")
        for x in ("epoch", "time", "step"):
            page.get_by_label("x axis").select_option(x)
            expect(plot).to_have_attribute("data-view", f"{x}/false/0")
        page.get_by_label("smoothing").fill("0.6")
        expect(plot).to_have_attribute("data-view", "step/false/0.6")
        t.assert_no_console_errors()


def test_a_run_with_100000_points_per_curve(server: PlumeProcess, store: DataStore, browser: Browser) -> None:
    run = store.service("runs").create({"name": "long-run", "status": "epoch", "hparams": {"lr": 0.1}})
    n = 100_000
    for kind in ("train", "val"):
        for start in range(0, n, 10_000):
            store.service("metrics").create([{"run": run["_id"], "type": kind, "key": "loss", "step": i,
                                              "value": 1 / (1 + i) + (i % 97) / 1e4}
                                             for i in range(start, start + 10_000)])
    with tab(browser) as t:
        page = t.page
        page.goto(f"{server.url}/#/runs/{run['_id']}")
        plot = page.locator("[data-chart='loss'] .plot")
        expect(plot).to_have_attribute("data-last-step", str(n - 1))
        shown = int(plot.get_attribute("data-points") or 0)
        assert 0 < shown <= 2 * 1100, shown  # the downsampled history, not 200,000 points
        # Interactive: the controls re-draw the curve, zooming reads the detail of the window.
        page.get_by_label("log scale").check()
        expect(plot).to_have_attribute("data-view", "step/true/0")
        box = plot.locator(".u-over").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.40, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
        expect(plot).to_have_attribute("data-zoomed", "1")
        plot.locator(".u-over").dblclick()
        expect(plot).to_have_attribute("data-zoomed", "")
        t.assert_no_console_errors()


def test_keyboard_phone_width_and_dark_theme(server: PlumeProcess, store: DataStore, browser: Browser,
                                            shots: Path) -> None:
    make_run(store, "small-screen", {"lr": 0.3}, [0.4, 0.2])
    with tab(browser, viewport=PHONE, dark=True) as t:
        page = t.page
        page.goto(server.url + "/")
        expect(page.locator("#runs-table tbody tr").first).to_be_visible()
        # Nothing wider than the screen but the table, which scrolls in its own box.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(15, 18, 23)", background  # the dark theme, from the system's choice
        screenshot(page, "runs-phone-dark", shots)
        # Keyboard: tab to a page's link and follow it.
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent") == "Models":
                break
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
        t.assert_no_console_errors()
