"""Synchronous HTTP to a Plume server (``requests``): timeouts and safe retries on every call.

Every answer is decoded here: 2xx → JSON (or None for 204), errors → the typed Feathers error,
transport failures → :class:`~python_client.errors.ConnectionFailed` /
:class:`~python_client.errors.RequestTimeout` once the retries are spent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

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
from .multipart import MultipartBody
from .retry import Failure, RetryPolicy, may_retry_status, may_retry_transport, parse_retry_after
from .utils import to_json

log = logging.getLogger("python_client")

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


class HttpClient:
    """One ``requests.Session`` to ``location`` with the DataStore's credentials, timeout and retries."""

    def __init__(self, location: str, credentials: Credentials, timeout: float, retry: RetryPolicy) -> None:
        self.location = location.rstrip("/") + "/"
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def url(self, path: str, query: str = "") -> str:
        return self.location + path.lstrip("/") + (f"?{query}" if query else "")

    def call(self, call: RestCall) -> Any:
        """Send one service call (retried only if ``call.repeatable``) and return its decoded result."""
        body = None if call.body is None and call.verb in ("GET", "DELETE") else to_json(call.body)
        return self.request(call.verb, call.path, query=call.query, data=body,
                            headers={"Content-Type": "application/json"} if body is not None else None,
                            repeatable=call.repeatable)

    def upload(self, path: str, body_factory: Callable[[], MultipartBody]) -> Any:
        """``POST <path>`` with a multipart body (a new one per attempt); not repeatable once sent."""
        return self.request("POST", path, body_factory=body_factory, repeatable=False)

    def download(self, path: str, dest: Path) -> Path:
        """Stream ``GET <path>`` into ``dest`` (written whole or not at all)."""
        tmp = dest.with_name(dest.name + ".part")

        def save(resp: requests.Response) -> Path:
            try:
                with tmp.open("wb") as f:
                    for chunk in resp.iter_content(256 * 1024):
                        f.write(chunk)
            except requests.RequestException as exc:
                raise ConnectionFailed(f"The download of {path} broke off: {exc}") from exc
            tmp.replace(dest)
            return dest

        try:
            return self.request("GET", path, repeatable=True, stream=save)  # type: ignore[no-any-return]
        finally:
            tmp.unlink(missing_ok=True)

    def request(self, verb: str, path: str, *, query: str = "", data: bytes | None = None,
                headers: dict[str, str] | None = None, repeatable: bool,
                body_factory: Callable[[], MultipartBody] | None = None,
                stream: Callable[[requests.Response], Any] | None = None) -> Any:
        """One HTTP exchange with retries; the decoded JSON result (or ``stream(response)``)."""
        url = self.url(path, query)
        attempt = 0
        while True:
            attempt += 1
            send_headers = {**self.credentials.headers(), **(headers or {})}
            payload: Any = data
            if body_factory is not None:
                multipart = body_factory()
                payload = multipart
                send_headers["Content-Type"] = multipart.content_type
            try:
                resp = self.session.request(verb, url, data=payload, headers=send_headers,
                                            timeout=(self.timeout, self.timeout), stream=stream is not None)
            except requests.RequestException as exc:
                failure, error = _failure_of(exc)
                if attempt < self.retry.attempts and may_retry_transport(failure, repeatable):
                    self._wait(attempt, None, verb, url, error)
                    continue
                error.attempts = attempt
                error.maybe_sent = failure is Failure.MAYBE_SENT
                raise error from exc
            try:
                if resp.status_code >= 400:
                    err = error_from_response(resp.status_code, resp.content, resp.reason or "")
                    if attempt < self.retry.attempts and may_retry_status(resp.status_code, repeatable):
                        self._wait(attempt, parse_retry_after(resp.headers.get("Retry-After")), verb, url, err)
                        continue
                    err.attempts = attempt  # type: ignore[attr-defined]
                    raise err
                if stream is not None:
                    return stream(resp)
                if resp.status_code == 204 or not resp.content:
                    return None
                try:
                    return resp.json()
                except ValueError as exc:
                    raise FeathersError(f"The server answered {verb} {path} with a body that is not JSON") from exc
            finally:
                resp.close()

    def _wait(self, attempt: int, retry_after: float | None, verb: str, url: str, error: PlumeError) -> None:
        delay = self.retry.delay(attempt, retry_after)
        log.debug("%s %s failed (%s); retry %d in %.2fs", verb, url, error, attempt, delay)
        time.sleep(delay)
