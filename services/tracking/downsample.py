"""Downsampling a metric's history: LTTB (``tsdownsample``) plus the series' minimum and maximum.

LTTB keeps the first and last points and the visual shape; a curve's extremes matter on a
dashboard (the best validation loss), so the lowest and highest points are always kept too.
"""

from __future__ import annotations

import numpy as np
from tsdownsample import LTTBDownsampler

MIN_POINTS = 4  # first, last, minimum, maximum
_LTTB = LTTBDownsampler()


def keep(steps: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Indices (sorted) of at most ``n`` points of the curve ``(steps, values)`` (steps increasing):
    every point when there are no more than ``n``, else LTTB's ``n - 2`` with the minimum and
    maximum added (the first and last are LTTB's own)."""
    total = len(values)
    if total <= n:
        return np.arange(total)
    chosen = _LTTB.downsample(steps.astype(np.float64), values, n_out=max(n - 2, 3)).astype(np.int64)
    extremes = np.array([int(np.argmin(values)), int(np.argmax(values))], dtype=np.int64)
    return np.union1d(chosen, extremes)
