"""ConversionPool mechanics: recycling, timeouts, crashes, the bounded queue, closing, and keeping
TensorFlow and CPU work out of the server process.

Most tests use fake jobs from ``fault_handler`` in pools with ``warmup=None``: their workers start
in a fraction of a second because they never import TensorFlow. A job that must be running while
the test acts waits at a :class:`~.gates.Gate`. The tests that must show a real conversion still
works after a fault use a warm pool.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from services.conversion import ConversionJob, ConversionPool, PoolBusyError, PoolClosedError

from .conftest import FAULT_HANDLER, REPO
from .gates import Gate


def fake(tmp_path: Path, stem: str, target: str = "onnx") -> ConversionJob:
    """A job whose input name tells ``fault_handler`` what to do (the file need not exist)."""
    return ConversionJob(tmp_path / f"{stem}.keras", target, tmp_path / "out")  # type: ignore[arg-type]


def gated(gate: Gate, tmp_path: Path) -> ConversionJob:
    """A job that waits at ``gate``."""
    return ConversionJob(gate.input, "onnx", tmp_path / "out")


def light_pool(**options: Any) -> ConversionPool:
    """A pool whose workers skip the TensorFlow import (fake jobs only)."""
    return ConversionPool(handler=FAULT_HANDLER, warmup=None, **options)


async def test_worker_is_recycled_after_max_jobs(tmp_path: Path) -> None:
    async with light_pool(max_jobs_per_worker=2) as pool:
        pids = [(await pool.convert(fake(tmp_path, f"echo-{i}"))).worker_pid for i in range(5)]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    assert len(set(pids)) == 3
    assert os.getpid() not in pids


async def test_timeout_kills_worker_fails_job_and_pool_recovers(tmp_path: Path) -> None:
    async with light_pool(job_timeout=120) as pool:
        first = await pool.convert(fake(tmp_path, "echo-a"))
        pool.job_timeout = 1.0  # only the hung job runs under a short limit (a slow machine's echoes do not)
        hung = await pool.convert(fake(tmp_path, "hang-forever"))
        pool.job_timeout = 120
        after = await pool.convert(fake(tmp_path, "echo-b"))
    assert first.ok and not hung.ok
    assert hung.error_kind == "timeout"
    assert hung.error == "conversion timed out after 1 s"
    assert after.ok
    assert after.worker_pid not in (None, first.worker_pid)  # a new worker replaced the killed one
    assert not Path(fake(tmp_path, "hang-forever").staging_dir).exists()


@pytest.mark.parametrize(("stem", "needle"), [("crash-exit", "exit code 3"), ("segv-now", "SIGSEGV")])
async def test_crash_fails_only_its_job(tmp_path: Path, stem: str, needle: str) -> None:
    async with light_pool(job_timeout=30) as pool:
        jobs = [fake(tmp_path, "echo-before"), fake(tmp_path, stem), fake(tmp_path, "echo-after")]
        before, crashed, after = await asyncio.gather(*(pool.convert(job) for job in jobs))
    assert before.ok
    assert not crashed.ok
    assert crashed.error_kind == "worker_crashed"
    assert needle in (crashed.error or "")
    assert after.ok
    assert after.worker_pid != crashed.worker_pid


async def test_a_worker_breaking_the_protocol_fails_its_job_and_is_replaced(tmp_path: Path) -> None:
    async with light_pool(job_timeout=30) as pool:
        broken = await pool.convert(fake(tmp_path, "list-answer"))
        after = await pool.convert(fake(tmp_path, "echo-after"))
    assert (broken.error_kind, broken.error) == (
        "worker_crashed", "the conversion worker stopped during the job (it answered '[1, 2]'); the next job starts "
                          "a new one")
    assert after.ok and after.worker_pid != broken.worker_pid


async def test_real_conversion_works_after_a_crash(models: dict[str, Any], tmp_path: Path) -> None:
    # Timeouts take the same path (kill, replace); test_timeout_kills_worker... covers them cheaply.
    async with ConversionPool(handler=FAULT_HANDLER, job_timeout=60) as pool:
        crashed = await pool.convert(fake(tmp_path, "crash-1"))
        good = await pool.convert(ConversionJob(models["k3_conv"]["file"], "tfjs", tmp_path / "a"))
        also = await pool.convert(ConversionJob(models["k3_conv"]["file"], "onnx", tmp_path / "b"))
    assert crashed.error_kind == "worker_crashed"
    assert good.ok, good.error
    assert also.ok, also.error
    assert crashed.worker_pid != good.worker_pid == also.worker_pid


async def test_bounded_queue_rejects_overflow(tmp_path: Path) -> None:
    gate = Gate(tmp_path, "running")
    async with light_pool(max_queued=1) as pool:
        await pool.start()
        running = asyncio.create_task(pool.convert(gated(gate, tmp_path)))
        await gate.entered()  # the worker runs it: the queue is empty again
        queued = asyncio.create_task(pool.convert(fake(tmp_path, "echo-queued")))
        while pool.queued == 0:
            await asyncio.sleep(0)  # the task puts its job in the queue at its first step
        with pytest.raises(PoolBusyError):
            await pool.convert(fake(tmp_path, "echo-overflow"))
        gate.release()
        assert (await running).ok
        assert (await queued).ok


async def test_two_workers_run_jobs_in_parallel(tmp_path: Path) -> None:
    gates = [Gate(tmp_path, "one"), Gate(tmp_path, "two")]
    async with light_pool(workers=2) as pool:
        await pool.start()
        assert len(pool.worker_pids()) == 2
        jobs = [asyncio.create_task(pool.convert(gated(gate, tmp_path))) for gate in gates]
        for gate in gates:  # both jobs are inside their workers at once: neither can end before
            await gate.entered()
        for gate in gates:
            gate.release()
        results = await asyncio.gather(*jobs)
    assert all(r.ok for r in results)
    assert len({r.worker_pid for r in results}) == 2


async def test_event_loop_keeps_ticking_during_a_job(tmp_path: Path) -> None:
    gate = Gate(tmp_path, "tick")
    async with light_pool() as pool:
        await pool.start()
        job = asyncio.create_task(pool.convert(gated(gate, tmp_path)))
        await gate.entered()
        ticks = 0
        while ticks < 100:  # the job cannot end while the gate is closed: these ticks ran during it
            await asyncio.sleep(0)
            ticks += 1
        assert not job.done()
        gate.release()
        assert (await job).ok
    # A loop blocked by the job could not tick here; no timing is asserted (bench/ measures lag).


async def test_cancelled_callers_leave_the_worker_serving_the_next_job(tmp_path: Path) -> None:
    """A caller that gives up (a document whose lease was lost): its running job finishes in the same
    worker, its queued job never runs, and the next caller is served as usual."""
    gate = Gate(tmp_path, "cancelled")
    async with light_pool(job_timeout=30) as pool:
        first = await pool.convert(fake(tmp_path, "echo-first"))
        running = asyncio.create_task(pool.convert(gated(gate, tmp_path)))
        queued = asyncio.create_task(pool.convert(fake(tmp_path, "hang-never-runs")))
        await gate.entered()
        running.cancel()
        queued.cancel()
        await asyncio.gather(running, queued, return_exceptions=True)
        gate.release()
        after = await asyncio.wait_for(pool.convert(fake(tmp_path, "echo-after")), 10)
    assert running.cancelled() and queued.cancelled()
    assert after.ok and after.worker_pid == first.worker_pid  # no crash, no restart, no hang


async def test_close_fails_queued_jobs_and_rejects_new_ones(tmp_path: Path) -> None:
    gate = Gate(tmp_path, "closing")
    pool = light_pool()
    running = asyncio.create_task(pool.convert(gated(gate, tmp_path)))
    await gate.entered()
    queued = asyncio.create_task(pool.convert(fake(tmp_path, "echo-never")))
    while pool.queued == 0:
        await asyncio.sleep(0)
    closing = asyncio.create_task(pool.close(grace=30))
    with pytest.raises(PoolClosedError):
        await queued
    with pytest.raises(PoolClosedError):
        await pool.convert(fake(tmp_path, "echo-late"))
    gate.release()  # the running job finishes within its grace and its caller gets its result
    await closing
    assert (await running).ok
    assert pool.worker_pids() == []
    await pool.close()  # idempotent


async def test_close_kills_a_hung_worker(tmp_path: Path) -> None:
    gate = Gate(tmp_path, "never-released")
    pool = light_pool(job_timeout=60)
    await pool.start()
    (pid,) = pool.worker_pids()
    job = asyncio.create_task(pool.convert(gated(gate, tmp_path)))
    await gate.entered()
    await pool.close(grace=0.5)
    with pytest.raises(PoolClosedError):
        await job
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    gate.release()


def test_no_tensorflow_in_server_process(models: dict[str, Any], tmp_path: Path) -> None:
    """In a fresh interpreter (like the server), convert to both formats and inspect sys.modules."""
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        from services.conversion import ConversionJob, ConversionPool

        async def main(model, out):
            async with ConversionPool() as pool:
                results = [await pool.convert(ConversionJob(model, t, out + "/" + t)) for t in ("tfjs", "onnx")]
            heavy = [m for m in ("tensorflow", "keras", "tf_keras", "tf2onnx", "tensorflowjs") if m in sys.modules]
            print(json.dumps({"ok": [r.ok for r in results], "errors": [r.error for r in results], "heavy": heavy}))

        if __name__ == "__main__":
            asyncio.run(main(sys.argv[1], sys.argv[2]))
        """
    )
    script_path = tmp_path / "server_like.py"
    script_path.write_text(script)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, str(script_path), models["k3_conv"]["file"], str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["ok"] == [True, True], report["errors"]
    assert report["heavy"] == []
