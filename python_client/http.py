"""The sync HTTP shell (``requests``): sends what :mod:`python_client.exchange` builds, as
:func:`python_client.retry.steps` decides.

Every answer is decoded by the core: 2xx → JSON (or None for 204), errors → the typed Feathers
error, transport failures → :class:`~python_client.errors.ConnectionFailed` /
:class:`~python_client.errors.RequestTimeout` once the retries are spent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from . import exchange
from .auth import Credentials
from .errors import ConnectionFailed, FeathersError, RequestTimeout, TransportError
from .exchange import Request
from .httpbase import HttpBase
from .methods import RestCall
from .multipart import MultipartBody
from .probe import INFO
from .retry import Answered, Failure, Lost, Outcome, RetryPolicy, Send, Sleep, steps

_NOT_SENT_CAUSES = (NewConnectionError, NameResolutionError, ConnectTimeoutError, ConnectionRefusedError)


def _failure_of(exc: requests.RequestException) -> tuple[Failure, TransportError]:
    """Classify a requests exception: did the server possibly see the request, and what to raise."""
    if isinstance(exc, requests.ConnectTimeout):
        return Failure.NOT_SENT, RequestTimeout(f"Connecting timed out: {exc}")
    if isinstance(exc, requests.Timeout):
        return Failure.MAYBE_SENT, RequestTimeout(f"No answer in time: {exc}")
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else None
        failure = Failure.NOT_SENT if isinstance(reason, _NOT_SENT_CAUSES) else Failure.MAYBE_SENT
        return failure, ConnectionFailed(f"Could not reach the backend: {exc}")
    return Failure.MAYBE_SENT, ConnectionFailed(f"The request failed: {exc}")


Reader = Callable[[Request, requests.Response], Any]


def _json(request: Request, resp: requests.Response) -> Any:
    return exchange.decode(request, resp.status_code, resp.content)


class HttpClient(HttpBase):
    """One ``requests.Session`` to ``location`` with the DataStore's credentials, timeout and retries."""

    def __init__(self, location: str, credentials: Credentials, timeout: float, retry: RetryPolicy) -> None:
        super().__init__(location, credentials, timeout, retry)
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def call(self, call: RestCall) -> Any:
        """Send one service call (retried only if ``call.repeatable``) and return its decoded result."""
        return self.send(exchange.for_call(call))

    def send(self, request: Request, read: Reader = _json) -> Any:
        """One request with retries; the decoded result (``read(request, response)`` of the answer).

        The store's first request checks first that its URL is a Plume server's (:meth:`info`).
        """
        if self.probe.needed(request):
            self.info()
        return self._send(request, read)

    def info(self) -> dict[str, Any]:
        """``GET /info``, checked: NoPlumeServer when the URL is not a Plume server's."""
        try:
            return self.probe.accept(self._send(INFO))
        except FeathersError as exc:
            if (error := self.probe.rejected(exc)) is None:
                raise
            raise error from exc

    def _send(self, request: Request, read: Reader = _json) -> Any:
        plan, outcome = steps(self.retry, request.repeatable, request.label), None
        while True:
            step = plan.send(outcome)
            if isinstance(step, Send):
                outcome = self._attempt(request, read)
            elif isinstance(step, Sleep):
                time.sleep(step.seconds)
                outcome = None
            else:
                return step.resolve()

    def download(self, path: str, dest: Path) -> Path:
        """Stream ``GET <path>`` into ``dest`` (written whole or not at all; a broken stream is retried)."""
        tmp = exchange.part_path(dest)

        def save(_: Request, resp: requests.Response) -> Path:
            with tmp.open("wb") as f:
                for chunk in resp.iter_content(256 * 1024):
                    f.write(chunk)
            tmp.replace(dest)
            return dest

        try:
            return self.send(exchange.get(path), save)  # type: ignore[no-any-return]
        finally:
            tmp.unlink(missing_ok=True)

    def _attempt(self, request: Request, read: Reader) -> Outcome:
        headers = request.headers(self.credentials)
        payload: Any = request.body
        if request.parts is not None:
            payload = MultipartBody(list(request.parts))  # a fresh body per attempt: it streams the files
            headers["Content-Type"] = payload.content_type
        try:
            with self.session.request(request.verb, request.url(self.location), data=payload, headers=headers,
                                      timeout=(self.timeout, self.timeout), stream=True) as resp:
                if resp.status_code >= 400:
                    return exchange.refused(resp.status_code, resp.content, resp.reason or "",
                                            resp.headers.get("Retry-After"))
                return Answered(read(request, resp))
        except requests.RequestException as exc:
            return Lost(*_failure_of(exc), exc)
