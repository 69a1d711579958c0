"""The JSON codec python-socketio uses here: orjson (faster), and a bad payload becomes a call
the transport answers with a 400 instead of an exception that would leave the caller unacked."""

from __future__ import annotations

import json
from typing import Any

import orjson

INVALID_EVENT = "plume:invalid-json"


def dumps(obj: Any, **_: Any) -> str:
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        # Beyond orjson's nesting limit or types it refuses: python-socketio sets this codec on
        # its Packet class for every client and server of the process, so never fail here.
        return json.dumps(obj, separators=(",", ":"))


def loads(text: str | bytes, **_: Any) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        # e.g. nesting past orjson's limit, or integers beyond 64 bits: the packet's ack id was
        # already read, so answering through a pseudo-event still acks the caller.
        return [INVALID_EVENT, str(exc)[:200]]
