"""Inference jobs: a cancel that meets a job finishing at the same moment answers 409, never 404."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from backend.hooks import HookContext, Params
from tests.support.inprocess import running

from .support import EndpointWatcher, create_endpoint, upload_onnx


async def test_cancel_racing_the_end_of_a_job_is_a_conflict(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        doc = await upload_onnx(http, srv.url, onnx_files["mlp"], "mlp")
        await create_endpoint(http, srv.url, watch, "ep", doc["_id"])
        jobs = srv.app.service("inference-jobs")

        async def finishes_meanwhile(ctx: HookContext) -> None:
            # Runs after the protect hook checked the job is unfinished, before the conditional write.
            await jobs.store.patch(ctx.id, {"status": "done"}, Params())

        # A job stored directly (so no task runs it): the only writer is the racing hook above.
        job = await jobs.store.create({"endpoint": "ep", "instances": [[0.0] * 4], "status": "running"}, Params())
        jobs.hooks({"before": {"patch": [finishes_meanwhile]}})
        async with http.patch(f"{srv.url}/inference-jobs/{job['_id']}", json={"status": "cancelled"}) as r:
            body = await r.json()
            assert r.status == 409, body
            assert body["name"] == "Conflict" and "is done already" in body["message"]
        assert (await jobs.store.get(job["_id"], Params()))["status"] == "done"


async def test_a_job_records_the_model_its_endpoint_serves(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        doc = await upload_onnx(http, srv.url, onnx_files["mlp"], "mlp")
        await create_endpoint(http, srv.url, watch, "ep", f"onnx-models/{doc['_id']}")
        body = {"endpoint": "ep", "instances": [[0.0] * 4], "model": "a model of the client's choosing"}
        async with http.post(f"{srv.url}/inference-jobs", json=body) as r:
            job = await r.json()
            assert r.status == 201, job
        assert job["model"] == f"onnx-models/{doc['_id']}"  # the server's, from the endpoint
        async with http.patch(f"{srv.url}/inference-jobs/{job['_id']}", json={"model": "another"}) as r:
            assert r.status == 200 and (await r.json())["model"] == f"onnx-models/{doc['_id']}"
