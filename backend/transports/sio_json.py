"""The JSON codec python-socketio uses here: orjson (faster), and a bad payload becomes a call
the transport answers with a 400 instead of an exception that would leave the caller unacked;
and the packet class (python-socketio's ``serializer`` extension point) that uses it."""

from __future__ import annotations

import json
import sys
from typing import Any

import orjson
from socketio import packet

from .. import fastpaths

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
        return [INVALID_EVENT, f"Invalid JSON: {str(exc)[:200]}"]


class FeathersPacket(packet.Packet):  # type: ignore[misc]
    """python-socketio's packet, with a cheaper test for binary attachments, and event packets
    whose data is not ``[name: str, ...args]`` turned into a call the transport answers with a 400
    (python-socketio looks the name up in a dict: a list there raised in a task nobody awaited).

    Every outgoing packet (each call's ack, each event) first asks whether its data holds bytes;
    the stock test recurses through the whole result with ``functools.reduce`` and lambdas, which
    showed in the socket.io profile for records and pages. Same answer, one loop, no recursion.
    """

    json = sys.modules[__name__]  # this module's dumps/loads, for socket.io packets only

    def decode(self, encoded_packet: Any) -> int:
        count = super().decode(encoded_packet)
        if self.packet_type in (packet.EVENT, packet.BINARY_EVENT) and not (
                isinstance(self.data, list) and self.data and isinstance(self.data[0], str)):
            self.data = [INVALID_EVENT, "Invalid message: an event is [name, ...arguments] with a string name"]
        return count  # type: ignore[no-any-return]

    if fastpaths.ENABLED:  # else python-socketio's own test

        @classmethod
        def data_is_binary(cls, data: Any) -> bool:
            stack = [data]
            while stack:
                value = stack.pop()
                if type(value) in _PLAIN:  # most values: one set lookup
                    continue
                if isinstance(value, (bytes, bytearray)):
                    return True
                if isinstance(value, list):
                    stack.extend(value)
                elif isinstance(value, dict):
                    stack.extend(value.values())
            return False


_PLAIN = frozenset({str, int, float, bool, type(None)})
