"""``[serving]``: dynamic batching, the embedded queue's result lifetime, the Redis streams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.config import ConfigError
from services.files.config import number, section

OPTIONS = {"max_batch", "max_wait_ms", "max_queue", "threads_per_replica", "result_ttl", "claim_idle",
           "redis_streams", "block_ms", "keras_wait"}


@dataclass(frozen=True)
class ServingSettings:
    """The validated ``[serving]`` table (see README "Serving")."""

    max_batch: int = 64  # rows stacked into one session.run
    max_wait_ms: float = 2.0  # how long a batch waits for more rows once it has one
    max_queue: int = 4096  # rows waiting for a replica per endpoint; past it: 429
    threads_per_replica: int = 0  # onnxruntime intra-op threads per session; 0: its default
    result_ttl: float = 3600.0  # seconds a result of the embedded queue is kept when nobody dequeues it
    claim_idle: float = 30.0  # seconds a Redis entry may stay unacknowledged before another process claims it
    redis_streams: bool = True  # with --redis: read Cluster Serving's streams
    block_ms: int = 1000  # XREADGROUP BLOCK: how long one read waits for entries
    keras_wait: float = 900.0  # seconds an endpoint waits for a keras-models ONNX conversion

    @classmethod
    def from_settings(cls, settings: Any) -> ServingSettings:
        """Read and check ``[serving]`` (ConfigError naming a bad value)."""
        table = section(settings, "serving", OPTIONS)
        streams = table.get("redis_streams", cls.redis_streams)
        if not isinstance(streams, bool):
            raise ConfigError(f"[serving] redis_streams must be true or false, got {streams!r}")
        threads = table.get("threads_per_replica", cls.threads_per_replica)
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise ConfigError(f"[serving] threads_per_replica must be an integer >= 0, got {threads!r}")
        wait = table.get("max_wait_ms", cls.max_wait_ms)
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= 1000:
            raise ConfigError(f"[serving] max_wait_ms must be a number from 0 to 1000, got {wait!r}")
        return cls(
            max_batch=number(table, "serving", "max_batch", cls.max_batch),
            max_wait_ms=float(wait),
            max_queue=number(table, "serving", "max_queue", cls.max_queue),
            threads_per_replica=threads,
            result_ttl=float(number(table, "serving", "result_ttl", cls.result_ttl, integer=False)),
            claim_idle=float(number(table, "serving", "claim_idle", cls.claim_idle, integer=False)),
            redis_streams=streams,
            block_ms=number(table, "serving", "block_ms", cls.block_ms),
            keras_wait=float(number(table, "serving", "keras_wait", cls.keras_wait, integer=False)),
        )
