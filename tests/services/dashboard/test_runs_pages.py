"""The runs, run and compare pages in chromium, against a real server fed by the Python client:
live rows and curves, paging, sorting, the status filter and search, comparison, a 100,000-point run,
keyboard use, phone width and dark theme."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from python_client import DataStore, Remote
from python_client.serving import ModelEndPoint
from tests.services.serving import onnx_models
from tests.support.server import PlumeProcess

from .browser import PHONE, screenshot, tab
from .run_files import download_both, store_run_files

LIVE = 15_000  # ms: generous, the suite asserts no timing (bench/bench_dashboard.py measures it)
PAGE = 25  # the runs page's page size (dashboard/src/runs.js)
DASH = "\N{EN DASH}"  # the pager writes ranges with it: 1<en dash>25 of 32


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


def create_in_order(store: DataStore, docs: list[dict]) -> list[dict]:
    """Create the runs one by one, each stamped a later millisecond than the one before (the
    server stamps ``createdAt`` to the millisecond), so that sorting by it has no ties."""
    out: list[dict] = []
    for doc in docs:
        if out:
            last = datetime.fromisoformat(out[-1]["createdAt"]).timestamp()
            while time.time() < last + 0.001:  # a condition (the clock passed it), at most 1 ms
                pass
        out.append(store.service("runs").create(doc))
    return out


def test_the_runs_page_pages_sorts_filters_and_searches(browser: Browser, tmp_path: Path) -> None:
    statuses = ("success", "error", "epoch")
    # 32 runs, created in an order that is neither the names' nor their reverse.
    docs = [{"name": f"run-{i:02d}", "status": statuses[i % 3]} for i in ((7 * k) % 30 for k in range(30))]
    docs += [{"name": "other-a", "status": "start"}, {"name": "other-b", "status": "idle"}]
    # Its own server: the counts below are of these runs only.
    with PlumeProcess(tmp_path / "server") as srv, DataStore(srv.url) as store, tab(browser) as t:
        oldest_first = [r["name"] for r in create_in_order(store, docs)]
        newest_first = oldest_first[::-1]
        by_name = sorted(oldest_first)
        status_of = {d["name"]: d["status"] for d in docs}
        page = t.page
        page.goto(srv.url + "/")
        table = page.locator("#runs-table")
        names = table.locator("tbody tr td:nth-child(2) a")
        badges = table.locator("tbody tr .badge")
        caption = table.locator("caption")
        pager = page.get_by_role("navigation", name="Pagination")
        previous, following = (pager.get_by_role("button", name=n) for n in ("Previous", "Next"))

        def header(label: str) -> Locator:
            return table.locator("thead th").filter(has=page.get_by_role("button", name=label))

        # Paging, newest first by default.
        expect(names).to_have_text(newest_first[:PAGE])
        expect(caption).to_have_text("32 runs")
        expect(pager).to_contain_text(f"1{DASH}25 of 32")
        expect(previous).to_be_disabled()
        following.click()
        expect(names).to_have_text(newest_first[PAGE:])
        expect(pager).to_contain_text(f"26{DASH}32 of 32")
        expect(following).to_be_disabled()
        previous.click()
        expect(names).to_have_text(newest_first[:PAGE])
        expect(previous).to_be_disabled()

        # Sorting: a header's second click flips the order; a new header starts descending.
        expect(header("Started")).to_have_attribute("aria-sort", "descending")
        header("Started").get_by_role("button").click()
        expect(header("Started")).to_have_attribute("aria-sort", "ascending")
        expect(names).to_have_text(oldest_first[:PAGE])
        header("Name").get_by_role("button").click()
        expect(header("Name")).to_have_attribute("aria-sort", "descending")
        expect(header("Started")).to_have_attribute("aria-sort", "none")
        expect(names).to_have_text(by_name[::-1][:PAGE])
        header("Name").get_by_role("button").click()
        expect(header("Name")).to_have_attribute("aria-sort", "ascending")
        expect(names).to_have_text(by_name[:PAGE])
        following.click()
        expect(names).to_have_text(by_name[PAGE:])  # paging keeps the sort

        # The status filter narrows the rows (and goes back to the first page).
        status = page.get_by_role("combobox", name="Status")
        status.select_option("error")
        expect(names).to_have_text([n for n in by_name if status_of[n] == "error"])
        expect(caption).to_have_text("10 runs")
        expect(following).to_be_disabled()
        status.select_option("running")
        expect(names).to_have_text([n for n in by_name if status_of[n] in ("start", "epoch", "idle")])
        expect(caption).to_have_text("12 runs")
        status.select_option("")
        expect(caption).to_have_text("32 runs")

        # Search: runs whose name starts with the text, with the filter too.
        search = page.get_by_label("Search")
        search.fill("other")
        expect(names).to_have_text(["other-a", "other-b"])
        search.fill("run-1")
        expect(names).to_have_text([f"run-{i}" for i in range(10, 20)])
        expect(caption).to_have_text("10 runs")
        status.select_option("success")
        expect(names).to_have_text(["run-12", "run-15", "run-18"])
        status.select_option("")

        # The status column sorts too (ties in any order: compare the badges).
        header("Status").get_by_role("button").click()
        shown = sorted(status_of[f"run-{i}"] for i in range(10, 20))
        expect(badges).to_have_text(shown[::-1])
        header("Status").get_by_role("button").click()
        expect(badges).to_have_text(shown)
        search.fill("")
        expect(caption).to_have_text("32 runs")
        expect(pager).to_contain_text(f"1{DASH}25 of 32")
        t.assert_no_console_errors()


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
    files = store_run_files(server.url, store, tmp_path, "files", b"weights " * 100,
                            {"path": "data", "reference": "s3://bucket/data"})
    checkpoint, artifact = files.checkpoint, files.artifact
    run = make_run(store, "files", {"lr": 0.5}, [1 / (i + 1) for i in range(30)], checkpoints=[
        {"id": checkpoint["_id"], "name": "files@1", "service": "onnx-models", "metadata": {"epoch": 1}}],
        associations={"outputs": [{"kind": "artifact", "id": artifact["_id"], "name": "weights"}]})
    with tab(browser, accept_downloads=True) as t:
        page = t.page
        page.goto(f"{server.url}/#/runs/{run['_id']}")
        download_both(page, files, tmp_path)
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


#: The elements that reach past the right edge of the screen (for the message when one does).
OVERFLOW = """() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && !e.closest('.table-wrap'))
    .slice(0, 5)
    .map((e) => `${e.tagName.toLowerCase()}.${e.className}: ${Math.round(e.getBoundingClientRect().right)}px`)"""


def assert_fits(page: Page, what: str) -> None:
    """Nothing makes the page wider than the screen (wide tables scroll in their own box)."""
    fits = page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    assert fits, f"{what} is wider than the screen: {page.evaluate(OVERFLOW)}"


def test_keyboard_phone_width_and_dark_theme(server: PlumeProcess, store: DataStore, browser: Browser,
                                            shots: Path, tmp_path: Path) -> None:
    # A long name without spaces, as generated names are.
    one = make_run(store, "resnet50-imagenet-lr0.3-batch256-cosine-warmup5", {"lr": 0.3, "optimizer": "adam",
                   "schedule": "cosine"}, [0.4, 0.2])
    two = make_run(store, "small-screen-2", {"lr": 0.03, "optimizer": "sgd"}, [0.5, 0.3, 0.25])
    model = tmp_path / "phone.onnx"
    onnx_models.mlp(model)
    doc = Remote(server.url, store=store).upload_onnx_model(model, name="phone-model")
    ModelEndPoint.create(f"onnx-models/{doc['_id']}", "phone", "an endpoint seen on a phone", 1, store=store,
                         timeout=120)
    with tab(browser, viewport=PHONE, dark=True) as t:
        page = t.page
        page.goto(server.url + "/")
        expect(page.locator("#runs-table tbody tr").first).to_be_visible()
        assert_fits(page, "the runs page")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(15, 18, 23)", background  # the dark theme, from the system's choice
        screenshot(page, "runs-phone-dark", shots)

        # The other pages at the same width.
        page.goto(f"{server.url}/#/runs/{one['_id']}")
        expect(page.locator("[data-chart='loss'] .plot")).to_have_attribute("data-ready", "1")
        expect(page.locator("dl[aria-label='Params']")).to_contain_text("schedule")
        assert_fits(page, "a run's page")
        page.goto(f"{server.url}/#/compare/{one['_id']},{two['_id']}")
        expect(page.locator("[data-chart='train/loss'] .plot")).to_have_attribute("data-ready", "1")
        expect(page.locator("#params-table tr[data-param='optimizer']")).to_have_attribute("data-differs", "1")
        assert_fits(page, "the compare page")
        page.goto(f"{server.url}/#/models")
        expect(page.locator(f"#table-onnx-models tr[data-model='{doc['_id']}']")).to_be_visible()
        assert_fits(page, "the models page")
        page.goto(f"{server.url}/#/endpoints/phone")
        expect(page.locator("tr[data-endpoint='phone'] .badge")).to_have_text("ready")
        expect(page.locator("#predict-form")).to_be_visible()
        assert_fits(page, "the endpoints page")

        # Keyboard: tab to a page's link and follow it.
        page.goto(server.url + "/")
        expect(page.locator("#runs-table tbody tr").first).to_be_visible()
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent") == "Models":
                break
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
        t.assert_no_console_errors()
