"""Asynchronous HTTP to a Plume server (aiohttp): the same timeouts, retries and decoding as :mod:`.http`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp

from .auth import Credentials
from .errors import (
    ConnectionFailed,
    FeathersError,
    PlumeError,
    RequestTimeout,
    TransportError,
    error_from_response,
)
from .methods import RestCall
from .multipart import CHUNK, FilePart
from .retry import Failure, RetryPolicy, may_retry_status, may_retry_transport, parse_retry_after
from .utils import to_json

log = logging.getLogger("python_client")


def _failure_of(exc: BaseException) -> tuple[Failure, TransportError]:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return Failure.NOT_SENT, RequestTimeout(f"Connecting timed out: {exc}")
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return Failure.MAYBE_SENT, RequestTimeout(f"No answer in time: {exc or type(exc).__name__}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return Failure.NOT_SENT, ConnectionFailed(f"Could not reach the backend: {exc}")
    return Failure.MAYBE_SENT, ConnectionFailed(f"The request failed: {type(exc).__name__}: {exc}")


def _form(parts: list[FilePart], stack: contextlib.ExitStack) -> aiohttp.FormData:
    # quote_fields=False: the field name is the stored file's name and must arrive verbatim.
    form = aiohttp.FormData(quote_fields=False)
    for part in parts:
        form.add_field(part.field, stack.enter_context(part.path.open("rb")), filename=part.filename,
                       content_type=part.content_type)
    return form


class AsyncHttpClient:
    """One ``aiohttp.ClientSession`` (opened lazily in the running loop) to ``location``."""

    def __init__(self, location: str, credentials: Credentials, timeout: float, retry: RetryPolicy) -> None:
        self.location = location.rstrip("/") + "/"
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, connect=self.timeout, sock_read=self.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def url(self, path: str, query: str = "") -> str:
        return self.location + path.lstrip("/") + (f"?{query}" if query else "")

    async def call(self, call: RestCall) -> Any:
        """Send one service call (retried only if ``call.repeatable``) and return its decoded result."""
        body = None if call.body is None and call.verb in ("GET", "DELETE") else to_json(call.body)
        return await self.request(call.verb, call.path, query=call.query, data=body, repeatable=call.repeatable,
                                  headers={"Content-Type": "application/json"} if body is not None else None)

    async def upload(self, path: str, parts: list[FilePart]) -> Any:
        """``POST <path>`` with the files as a multipart body; not repeated once sent."""
        return await self.request("POST", path, parts=parts, repeatable=False)

    async def download(self, path: str, dest: Path) -> Path:
        """Stream ``GET <path>`` into ``dest`` (written whole or not at all)."""
        return await self.request("GET", path, repeatable=True, dest=dest)  # type: ignore[no-any-return]

    async def request(self, verb: str, path: str, *, query: str = "", data: bytes | None = None,
                      headers: dict[str, str] | None = None, repeatable: bool,
                      parts: list[FilePart] | None = None, dest: Path | None = None) -> Any:
        """One HTTP exchange with retries; the decoded JSON result (or ``dest`` once written)."""
        url = self.url(path, query)
        attempt = 0
        while True:
            attempt += 1
            send_headers = {**self.credentials.headers(), **(headers or {})}
            with contextlib.ExitStack() as stack:
                payload: Any = _form(parts, stack) if parts is not None else data
                try:
                    async with self.session.request(verb, url, data=payload, headers=send_headers) as resp:
                        if resp.status >= 400:
                            err = error_from_response(resp.status, await resp.read(), resp.reason or "")
                            if attempt < self.retry.attempts and may_retry_status(resp.status, repeatable):
                                await self._wait(attempt, parse_retry_after(resp.headers.get("Retry-After")), err)
                                continue
                            err.attempts = attempt
                            raise err
                        if dest is not None:
                            return await _save(resp, dest)
                        raw = await resp.read()
                except (TimeoutError, aiohttp.ClientError) as exc:
                    failure, error = _failure_of(exc)
                    if attempt < self.retry.attempts and may_retry_transport(failure, repeatable):
                        await self._wait(attempt, None, error)
                        continue
                    error.attempts = attempt
                    error.maybe_sent = failure is Failure.MAYBE_SENT
                    raise error from exc
            if resp.status == 204 or not raw:
                return None
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise FeathersError(f"The server answered {verb} {path} with a body that is not JSON") from exc

    async def _wait(self, attempt: int, retry_after: float | None, error: PlumeError) -> None:
        delay = self.retry.delay(attempt, retry_after)
        log.debug("request failed (%s); retry %d in %.2fs", error, attempt, delay)
        await asyncio.sleep(delay)


async def _save(resp: aiohttp.ClientResponse, dest: Path) -> Path:
    tmp = dest.with_name(dest.name + ".part")
    try:
        with tmp.open("wb") as f:
            async for chunk in resp.content.iter_chunked(CHUNK):
                f.write(chunk)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
