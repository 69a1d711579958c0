"""Storage URLs the conformance suite runs over (each adapter lists itself here)."""

from __future__ import annotations

import os

ADAPTER_URLS: list[str] = ["memory://", "sqlite", "mongomock://localhost/plume_test"]  # "sqlite": a fresh file
if os.environ.get("PLUME_TEST_MONGODB_URL"):
    ADAPTER_URLS.append(os.environ["PLUME_TEST_MONGODB_URL"])
