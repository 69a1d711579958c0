"""What both HTTP shells (:mod:`python_client.http`, :mod:`python_client.aio_http`) hold."""

from __future__ import annotations

from .auth import Credentials
from .probe import Probe
from .retry import RetryPolicy


class HttpBase:
    """Where the server is, the credentials, the timeout, the retries, and whether the URL was
    found to be a Plume server's (:class:`python_client.probe.Probe`)."""

    def __init__(self, location: str, credentials: Credentials, timeout: float, retry: RetryPolicy) -> None:
        self.location = location.rstrip("/") + "/"
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry
        self.probe = Probe(self.location)
