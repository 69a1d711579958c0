"""The models, endpoints and jobs pages in chromium, against a real server with the ML stack: a
Keras upload's conversions going to done and its ONNX download; the registry's models, versions
and downloads; an endpoint's predict form answering what the Python client's ``predict`` answers;
a batch job's progress, its cancel, and a cancel that comes too late."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser, expect

import python_client
from python_client import DataStore, Remote
from python_client.model import OutputModel
from python_client.serving import ModelEndPoint, ModelInferenceJob
from tests.services.serving import onnx_models
from tests.support.server import REPO, PlumeProcess

from .browser import screenshot, tab

CONVERSION = 300_000  # ms: a cold conversion worker imports TensorFlow first
LIVE = 15_000
LABELS = ["cat", "dog", "cow"]
MID_JOB = re.compile(r"^[1-9][0-9]?$")  # a progress bar's aria-valuenow between 1 and 99 (%)
KERAS_MODEL = """
import sys, keras
from tests.services.conversion.make_models import k3_dense
k3_dense(keras).save(sys.argv[1])
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlumeProcess]:
    with PlumeProcess(tmp_path_factory.mktemp("dashboard-models")) as srv:
        yield srv


@pytest.fixture(scope="module")
def store(server: PlumeProcess) -> Iterator[DataStore]:
    with DataStore(server.url) as s:
        yield s


def keras_file(folder: Path) -> Path:
    """A small Keras 3 model, saved by a child process (TensorFlow stays out of the test's)."""
    path = folder / "dense.keras"
    made = subprocess.run([sys.executable, "-c", KERAS_MODEL, str(path)], cwd=REPO, capture_output=True, text=True,
                          timeout=240)
    assert made.returncode == 0, made.stderr[-3000:]
    return path


def png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.timeout(600)  # a 240 s model build, then up to 300 s of cold conversion
def test_a_keras_upload_converts_live_and_its_onnx_downloads(server: PlumeProcess, store: DataStore,
                                                              browser: Browser, shots: Path, tmp_path: Path) -> None:
    model = keras_file(tmp_path)
    with tab(browser, accept_downloads=True) as t:
        page = t.page
        page.goto(server.url + "/#/models")
        expect(page.get_by_role("heading", name="Keras models", exact=False)).to_be_visible()
        doc = Remote(server.url, save_format="keras", store=store).upload_keras_model(model, name="dense")
        row = page.locator(f"#table-keras-models tr[data-model='{doc['_id']}']")
        expect(row).to_contain_text("dense", timeout=LIVE)  # the new model appears without a reload
        for fmt in ("tfjs", "onnx"):
            expect(row.locator(f"li[data-format='{fmt}']")).to_have_attribute("data-status", "done", timeout=CONVERSION)
        onnx_id = store.service("keras-models").get(doc["_id"])["conversions"]["onnx"]["modelId"]
        button = row.locator("li[data-format='onnx']").get_by_role("button", name="Download model.onnx")
        with page.expect_download() as info:
            button.click()
        saved = tmp_path / "downloaded.onnx"
        info.value.save_as(saved)
        expected = requests.get(f"{server.url}/onnx-models/{onnx_id}/model.onnx", timeout=30)
        assert expected.status_code == 200 and saved.read_bytes() == expected.content
        expect(page.locator(f"#table-onnx-models tr[data-model='{onnx_id}']")).to_be_visible()
        t.assert_no_console_errors()


def test_the_predict_form_answers_what_the_python_client_does(server: PlumeProcess, store: DataStore,
                                                             browser: Browser, shots: Path, tmp_path: Path) -> None:
    path = onnx_models.cnn(tmp_path / "cnn.onnx")
    doc = Remote(server.url, store=store).upload_onnx_model(path, {"labels": LABELS}, name="cnn")
    endpoint = ModelEndPoint.create(f"onnx-models/{doc['_id']}", "pets", "8x8 pictures", 1, top_n=2, store=store,
                                    timeout=120)
    image = tmp_path / "picture.png"
    image.write_bytes(png(3))
    expected = endpoint.predict({"features": [image.read_bytes()]})
    with tab(browser) as t:
        page = t.page
        page.goto(f"{server.url}/#/endpoints/pets")
        expect(page.locator("tr[data-endpoint='pets'] .badge")).to_have_text("ready")
        form = page.locator("#predict-form")
        form.get_by_label("image (image)").check()
        form.locator("input[type=file]").set_input_files(str(image))
        form.get_by_role("button", name="Predict").click()
        answer = json.loads(page.locator("#predict-answer").text_content() or "{}")
        assert answer["predictions"] == [dict(p) for p in expected]
        top = next(iter(expected[0]))
        expect(form.locator("[data-instance='0']")).to_contain_text(top)  # the top-N bars
        screenshot(page, "endpoints", shots, full_page=True)

        # JSON mode: the same answer as the client's for the same pixels.
        pixels = np.asarray(Image.open(image)).tolist()
        form.get_by_label("JSON").check()
        form.get_by_label("Request body").fill(json.dumps({"instances": [{"image": pixels}]}))
        form.get_by_role("button", name="Predict").click()
        expect(page.locator("#predict-answer")).to_contain_text(top)
        answer = json.loads(page.locator("#predict-answer").text_content() or "{}")
        assert answer["predictions"] == [dict(p) for p in expected]
        # Bad input: the server's message, not a crash.
        form.get_by_label("Request body").fill('{"instances": [{"image": [1, 2]}]}')
        form.get_by_role("button", name="Predict").click()
        expect(form.get_by_role("alert")).to_contain_text("instance")
        t.assert_no_console_errors()


def test_jobs_show_live_progress(server: PlumeProcess, store: DataStore, browser: Browser, shots: Path,
                                 tmp_path: Path) -> None:
    path = onnx_models.mlp(tmp_path / "mlp.onnx")
    doc = Remote(server.url, store=store).upload_onnx_model(path, name="mlp")
    ModelEndPoint.create(f"onnx-models/{doc['_id']}", "tabular", "", 1, store=store, timeout=120)
    with tab(browser) as t:
        page = t.page
        page.goto(f"{server.url}/#/jobs")
        expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
        rows = np.random.default_rng(0).normal(size=(500, 4)).tolist()
        job = ModelInferenceJob.submit("tabular", "nightly", "500 rows", rows, store=store)
        row = page.locator(f"#jobs-table tr[data-job='{job.model_inference_job_id}']")
        expect(row.locator(".badge")).to_have_text("done", timeout=LIVE * 4)
        expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
        expect(row).to_contain_text("500/500")
        screenshot(page, "jobs", shots)
        t.assert_no_console_errors()


@pytest.fixture(scope="module")
def slow_endpoint(server: PlumeProcess, store: DataStore, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An endpoint taking about 11 ms an instance here (:func:`onnx_models.slow`)."""
    path = onnx_models.slow(tmp_path_factory.mktemp("slow") / "slow.onnx")
    doc = Remote(server.url, store=store).upload_onnx_model(path, name="slow")
    ModelEndPoint.create(f"onnx-models/{doc['_id']}", "slow", "", 1, store=store, timeout=120)
    return "slow"


def test_a_running_job_is_cancelled_from_its_row(server: PlumeProcess, store: DataStore, browser: Browser,
                                                 slow_endpoint: str) -> None:
    # 5000 slow instances run for about a minute: the job is still running when the page has
    # shown its progress and its Cancel is clicked.
    with tab(browser) as t:
        page = t.page
        page.goto(f"{server.url}/#/jobs")
        expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
        rows = np.random.default_rng(1).normal(size=(5000, 4)).tolist()
        job = ModelInferenceJob.submit(slow_endpoint, "long", "5000 slow rows", rows, store=store)
        row = page.locator(f"#jobs-table tr[data-job='{job.model_inference_job_id}']")
        expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", MID_JOB, timeout=LIVE)
        expect(row.locator(".badge")).to_have_text("running")
        row.get_by_role("button", name="Cancel").click()
        expect(row.locator(".badge")).to_have_text("cancelled", timeout=LIVE)
        expect(row.get_by_role("button", name="Cancel")).to_have_count(0)
        expect(page.get_by_role("alert")).to_have_count(0)
        cancelled = store.service("inference-jobs").get(job.model_inference_job_id)
        assert cancelled["status"] == "cancelled"
        assert 0 < cancelled["progress"]["done"] < cancelled["progress"]["total"] == 5000
        t.assert_no_console_errors()


def test_a_cancel_after_the_job_finished_shows_the_servers_answer(server: PlumeProcess, store: DataStore,
                                                                  browser: Browser, slow_endpoint: str) -> None:
    with tab(browser) as t:
        page = t.page
        page.goto(f"{server.url}/#/jobs")
        expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
        # The page does not hear the job's patches (its end among them): it reads the job once, on
        # its creation, while it runs (200 slow instances), and shows it active when its Cancel is
        # clicked after the job ended, as when a cancel crosses the end of a job.
        page.evaluate("window.plume.app.service('inference-jobs').removeAllListeners('patched')")
        rows = np.random.default_rng(2).normal(size=(200, 4)).tolist()
        job = ModelInferenceJob.submit(slow_endpoint, "short", "200 slow rows", rows, store=store)
        row = page.locator(f"#jobs-table tr[data-job='{job.model_inference_job_id}']")
        expect(row.get_by_role("button", name="Cancel")).to_be_visible(timeout=LIVE)
        job.wait_until_finished(time_out_in_seconds=120)
        assert job.get_status() == "done"
        row.get_by_role("button", name="Cancel").click()
        expect(page.get_by_role("alert")).to_contain_text("is done already: it cannot be cancelled")
        expect(row.locator(".badge")).to_have_text("done")  # read again: the row is true again
        expect(row.get_by_role("button", name="Cancel")).to_have_count(0)
        t.assert_no_console_errors()


def test_the_registry_shows_models_versions_and_downloads(server: PlumeProcess, store: DataStore, browser: Browser,
                                                          shots: Path, tmp_path: Path) -> None:
    python_client.connect(server.url)  # OutputModel works on the process's default connection
    try:
        run = store.service("runs").create({"name": "trainer", "status": "success"})
        with tab(browser, accept_downloads=True) as t:
            page = t.page
            page.goto(server.url + "/#/models")
            expect(page.get_by_role("heading", name="Registry")).to_be_visible()
            model = OutputModel(task=run["_id"], label_enumeration={"cat": 0, "dog": 1}, tags=["cnn"],
                                framework="keras", name="registry-cnn")
            weights = tmp_path / "epoch-1.bin"
            weights.write_bytes(bytes(range(256)) * 4)
            content = weights.read_bytes()
            model.update_weights(str(weights), iteration=1)
            assert OutputModel.wait_for_uploads(timeout=60)
            model.publish()
            row = page.locator(f"#table-registry tr[data-registry='{model.id}']")
            expect(row).to_contain_text("registry-cnn", timeout=LIVE)  # live: created, then patched
            expect(row).to_contain_text("published", timeout=LIVE)
            expect(row).to_contain_text("v1", timeout=LIVE)
            expect(row).to_contain_text("cat, dog")
            expect(row.get_by_role("link", name="run")).to_have_attribute("href", f"#/runs/{run['_id']}")
            row.get_by_role("button", name="versions").click()
            expect(page.locator("#table-registry")).to_contain_text("epoch-1.bin")
            with page.expect_download() as info:
                row.get_by_role("button", name="Download epoch-1.bin").click()
            saved = tmp_path / "saved.bin"
            info.value.save_as(saved)
            assert saved.read_bytes() == content
            screenshot(page, "models", shots, full_page=True)  # with the Keras model of the first test
            t.assert_no_console_errors()
    finally:
        python_client.disconnect()
