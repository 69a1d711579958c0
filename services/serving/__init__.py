"""Serving (README: "Serving"): model endpoints answering predictions on onnxruntime with dynamic
batching, an embedded prediction queue, batch inference jobs, and Cluster Serving's Redis
protocol with ``--redis``.

Services: ``endpoints`` (with the custom method ``predict``: :mod:`.endpoints`),
``serving-requests`` / ``serving-results`` (:mod:`.queue`), ``inference-jobs`` (:mod:`.jobs`).
Endpoints load in every process (:mod:`.deployments`); :mod:`.streams` reads the Redis streams.
"""

from __future__ import annotations

from typing import Any

from backend.app import App
from backend.plugins import Plugin, use_stored

from .deployments import SIGNAL, Deployments
from .endpoints import use_endpoints
from .jobs import PATH as JOBS
from .jobs import InferenceJobs
from .queue import REQUESTS, RESULTS, EmbeddedQueue
from .resolve import Resolver
from .settings import ServingSettings

__all__ = ["Deployments", "ServingSettings", "plugin", "setup"]


async def setup(app: App) -> None:
    """Register the serving services; endpoints load (and queues resume) when the app starts."""
    settings = ServingSettings.from_settings(app.settings)
    resolver = Resolver(app, settings.keras_wait)
    deployments = app.extensions.add(Deployments, Deployments(app, resolver, settings))
    await use_endpoints(app, await use_stored(app, "endpoints", schema="endpoints"), deployments, resolver)
    queue = EmbeddedQueue(app, deployments, settings)
    # Clients look results up by uri (query, dequeue), and the sweeps by age.
    (await use_stored(app, REQUESTS, schema=REQUESTS, multi=["create"], indexes=["uri", "updatedAt"])).hooks(
        queue.hooks())
    await use_stored(app, RESULTS, schema=RESULTS, multi=["remove"], indexes=["uri", "createdAt"])
    jobs = InferenceJobs(app, deployments, queue, settings.max_batch)
    (await use_stored(app, JOBS, schema=JOBS)).hooks(jobs.hooks())

    async def on_signal(message: dict[str, Any]) -> None:
        if message.get("type") == SIGNAL and isinstance(message.get("name"), str):
            await deployments.sync(message["name"])

    app.on_signal(on_signal)

    async def start() -> None:
        await deployments.resume()
        await queue.start()
        await jobs.resume()

    app.on_setup(start)
    # Teardowns run last-registered first: streams stop reading, then jobs and the queue, then the sessions.
    app.on_teardown(deployments.close)
    app.on_teardown(queue.close)
    app.on_teardown(jobs.close)
    if app.settings.redis and settings.redis_streams:
        from .streams import Streams

        streams = Streams(app.settings.redis, deployments, settings)
        deployments.on_change(streams.on_change)
        app.on_teardown(streams.close)


plugin = Plugin("serving", setup, sections=("serving",))
