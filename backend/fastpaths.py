"""One switch for the speed shortcuts that lean on the internals of aiohttp, python-engineio,
python-socketio and sqlite3's threading: ``PLUME_FAST_PATHS=0`` turns every one off, leaving
what the libraries do by themselves (the whole test suite runs once that way in CI).

The shortcuts (each names this switch where it is used):

* :func:`backend.runner._dispatcher`: requests that can only reach the REST catch-all skip
  aiohttp's router;
* :class:`backend.transports.sio_json.FeathersPacket`: a cheaper test for binary attachments;
* :mod:`backend.transports.socketio`: websockets without permessage-deflate and sent to without
  python-engineio's per-message check of aiohttp's send methods, and events for rooms nobody in
  this process is in skipped before python-socketio builds their packet;
* :meth:`backend.storage.sqlite_db.SqliteDatabase.read_bounded`: small indexed reads run on the
  event loop's own connection (with a step budget) instead of hopping to a reader thread.

``tests/test_library_contracts.py`` pins what each relies on, so that a library upgrade that
changes it fails loudly there rather than quietly here.
"""

from __future__ import annotations

import os

ENABLED: bool = os.environ.get("PLUME_FAST_PATHS", "1").strip() not in ("0", "false", "no", "off")
