"""The listening sockets of ``plume serve``, bound before the app is set up.

Setting the app up touches the data folder and its database (conversions resumed, scratch folders
swept, legacy tables renamed...). A second ``plume serve`` started on a busy port must fail before
any of that, on the data of the server already running there: so the port is taken first, and the
app is served on the sockets held since (what ``asyncio``'s ``create_server`` does for a host and a
port, minus serving).
"""

from __future__ import annotations

import contextlib
import socket

BACKLOG = 128  # aiohttp's sites' default


def listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on every address of ``host`` (all interfaces when empty) at ``port``.

    Raises OSError (``socket.gaierror`` for a host that does not resolve) like ``create_server``,
    having closed the sockets it had opened.
    """
    infos = socket.getaddrinfo(host or None, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):  # getaddrinfo may repeat one
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            # Restarting right after a stop must not wait for the old connections' TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                # '::' would take the IPv4 port as well, which the AF_INET address binds next.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:  # asyncio's wording, naming the address
                raise OSError(exc.errno, f"error while attempting to bind on address {address!r}: "
                                         f"{(exc.strerror or str(exc)).lower()}") from None
            sock.listen(BACKLOG)  # held from now on: a second server fails here, not after its setup
            sock.setblocking(False)
    except BaseException:
        close(sockets)
        raise
    return sockets


def close(sockets: list[socket.socket]) -> None:
    """Close ``sockets`` (those no site took over, when the start fails after :func:`listen`)."""
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.close()
