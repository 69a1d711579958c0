"""Errors raised by the conversion engine.

This module is imported by the server process, so it must stay free of TensorFlow imports.
``ConversionError`` lives in :mod:`python_client.conversion.errors`: the converters it reports
for are shared with the Python client.
"""

from __future__ import annotations

from python_client.conversion.errors import ConversionError, ErrorKind

__all__ = ["ConversionError", "ErrorKind", "PoolBusyError", "PoolClosedError"]


class PoolClosedError(RuntimeError):
    """The conversion pool was closed; no more jobs are accepted."""


class PoolBusyError(RuntimeError):
    """The conversion pool's bounded queue is full; the caller should retry later (HTTP 503-like)."""
