"""Server-side conversions of a ``keras-models`` document, as the client reads them (no I/O).

The server records each conversion in the document's ``conversions`` map: ``{"tfjs": {"status":
"pending" | "running" | "done" | "error", "modelId": ..., "error": ...}, "onnx": {...}}`` (see
README.md, "Models, assets and server-side conversion"). Each step is a ``patch``, so a client
sees ``keras-models patched`` events; the results are ``tfjs-models`` / ``onnx-models``
documents with ``source: <keras model id>``. :meth:`python_client.Remote.wait_for_conversion`
and :meth:`python_client.Remote.download_converted` are the I/O around these rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import ConversionFailed, ConversionTimeout

FORMATS = ("tfjs", "onnx")
FINISHED = ("done", "error")


def checked_formats(formats: Iterable[str]) -> tuple[str, ...]:
    """``formats`` as a tuple (ValueError for one the server does not convert to, or none)."""
    chosen = (formats,) if isinstance(formats, str) else tuple(formats)
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        wrong = ", ".join(map(repr, unknown)) or "none"
        raise ValueError(f"conversion formats are {' and '.join(FORMATS)}, not {wrong}")
    return chosen


def conversions_of(doc: dict[str, Any]) -> dict[str, Any]:
    conversions = doc.get("conversions")
    return conversions if isinstance(conversions, dict) else {}


def ended(doc: dict[str, Any], formats: tuple[str, ...]) -> bool:
    """Have the conversions to ``formats`` all ended (done or error)?"""
    conversions = conversions_of(doc)
    return all(isinstance(conversions.get(f), dict) and conversions[f].get("status") in FINISHED for f in formats)


def check_requested(doc: dict[str, Any], formats: tuple[str, ...]) -> None:
    """ValueError when the document asked for no conversion to one of ``formats`` (it would never end)."""
    missing = [f for f in formats if not isinstance(conversions_of(doc).get(f), dict)]
    if missing:
        raise ValueError(f"keras-models {doc.get('_id')} has no {' or '.join(missing)} conversion "
                         f"(it was created with convert={doc.get('convert')!r})")


def outcome(doc: dict[str, Any], formats: tuple[str, ...]) -> dict[str, Any]:
    """The ``conversions`` map of a document whose conversions ended; ConversionFailed if one failed."""
    conversions = conversions_of(doc)
    failed = [f"{f}: {conversions[f].get('error') or 'no reason given'}" for f in formats
              if conversions[f].get("status") == "error"]
    if failed:
        raise ConversionFailed(f"the server could not convert keras-models {doc.get('_id')}: {'; '.join(failed)}",
                               conversions)
    return conversions


def timed_out(doc: dict[str, Any], formats: tuple[str, ...], timeout: float) -> ConversionTimeout:
    """The error when the wait ended first (the conversions go on on the server)."""
    conversions = conversions_of(doc)
    states = ", ".join(f"{f} {conversions.get(f, {}).get('status')}" for f in formats)
    return ConversionTimeout(f"the conversions of keras-models {doc.get('_id')} had not ended after {timeout:g}s "
                             f"({states}); they go on on the server: wait again later", conversions)
