"""The async HTTP shell (aiohttp): sends what :mod:`python_client.exchange` builds, as
:func:`python_client.retry.steps` decides (the same core as the sync :mod:`python_client.http`)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aiohttp

from . import exchange
from .auth import Credentials
from .errors import ConnectionFailed, FeathersError, RequestTimeout, TransportError
from .exchange import Request
from .httpbase import HttpBase
from .methods import RestCall
from .multipart import CHUNK, FilePart
from .probe import INFO
from .retry import Answered, Failure, Lost, Outcome, RetryPolicy, Send, Sleep, steps


def _failure_of(exc: BaseException) -> tuple[Failure, TransportError]:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return Failure.NOT_SENT, RequestTimeout(f"Connecting timed out: {exc}")
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return Failure.MAYBE_SENT, RequestTimeout(f"No answer in time: {exc or type(exc).__name__}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return Failure.NOT_SENT, ConnectionFailed(f"Could not reach the backend: {exc}")
    return Failure.MAYBE_SENT, ConnectionFailed(f"The request failed: {type(exc).__name__}: {exc}")


def _form(parts: tuple[FilePart, ...], stack: contextlib.ExitStack) -> aiohttp.FormData:
    # quote_fields=False: the field name is the stored file's name and must arrive verbatim.
    form = aiohttp.FormData(quote_fields=False)
    for part in parts:
        form.add_field(part.field, stack.enter_context(part.path.open("rb")), filename=part.filename,
                       content_type=part.content_type)
    return form


class AsyncHttpClient(HttpBase):
    """One ``aiohttp.ClientSession`` (opened lazily in the running loop) to ``location``."""

    def __init__(self, location: str, credentials: Credentials, timeout: float, retry: RetryPolicy) -> None:
        super().__init__(location, credentials, timeout, retry)
        self._session: aiohttp.ClientSession | None = None  # made in the running loop, on first use

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

    async def call(self, call: RestCall) -> Any:
        """Send one service call (retried only if ``call.repeatable``) and return its decoded result."""
        return await self.send(exchange.for_call(call))

    async def send(self, request: Request, dest: Path | None = None) -> Any:
        """One request with retries; the decoded result (or ``dest``, where the answer was saved).

        The store's first request checks first that its URL is a Plume server's (:meth:`info`).
        """
        if self.probe.needed(request):
            await self.info()
        return await self._send(request, dest)

    async def info(self) -> dict[str, Any]:
        """``GET /info``, checked: NoPlumeServer when the URL is not a Plume server's."""
        try:
            return self.probe.accept(await self._send(INFO))
        except FeathersError as exc:
            if (error := self.probe.rejected(exc)) is None:
                raise
            raise error from exc

    async def _send(self, request: Request, dest: Path | None = None) -> Any:
        plan, outcome = steps(self.retry, request.repeatable, request.label), None
        while True:
            step = plan.send(outcome)
            if isinstance(step, Send):
                outcome = await self._attempt(request, dest)
            elif isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                outcome = None
            else:
                return step.resolve()

    async def download(self, path: str, dest: Path) -> Path:
        """Stream ``GET <path>`` into ``dest`` (written whole or not at all; a broken stream is retried)."""
        try:
            return await self.send(exchange.get(path), dest)  # type: ignore[no-any-return]
        finally:
            exchange.part_path(dest).unlink(missing_ok=True)

    async def _attempt(self, request: Request, dest: Path | None) -> Outcome:
        with contextlib.ExitStack() as stack:
            payload: Any = _form(request.parts, stack) if request.parts is not None else request.body
            try:
                async with self.session.request(request.verb, request.url(self.location), data=payload,
                                                headers=request.headers(self.credentials)) as resp:
                    if resp.status >= 400:
                        return exchange.refused(resp.status, await resp.read(), resp.reason or "",
                                                resp.headers.get("Retry-After"))
                    if dest is not None:
                        return Answered(await _save(resp, dest))
                    return Answered(exchange.decode(request, resp.status, await resp.read()))
            except (TimeoutError, aiohttp.ClientError) as exc:
                return Lost(*_failure_of(exc), exc)


async def _save(resp: aiohttp.ClientResponse, dest: Path) -> Path:
    tmp = exchange.part_path(dest)
    with tmp.open("wb") as f:
        async for chunk in resp.content.iter_chunked(CHUNK):
            f.write(chunk)
    tmp.replace(dest)
    return dest
