"""Base64 images decoded with Pillow and shaped to a model input.

The layout comes from the input's shape: ``(H, W, C)`` when the last dimension is 1, 3 or 4
(Keras' default), ``(C, H, W)`` when the first one is, ``(H, W)`` for a grey image. The image is
converted to that many channels (L, RGB, RGBA), resized (bilinear) when the model fixes a size
that differs, and its pixel values (0-255) multiplied by the endpoint's ``image_scale``.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

import numpy as np

from backend.errors import BadRequest

from .signature import TensorSpec

MODES = {1: "L", 3: "RGB", 4: "RGBA"}
MAX_PIXELS = 64 * 1024 * 1024  # a larger image is refused before it is decoded (a decompression bomb)


def _layout(spec: TensorSpec) -> tuple[str, int, int | None, int | None]:
    """(``"hwc"``, ``"chw"`` or ``"hw"``, channels, height, width) of an image input."""
    row = spec.row_shape
    if len(row) == 2:
        return "hw", 1, row[0], row[1]
    if len(row) == 3:
        if row[2] in MODES:
            return "hwc", row[2], row[0], row[1]
        if row[0] in MODES:
            return "chw", row[0], row[1], row[2]
    raise BadRequest(f"input '{spec.name}' {spec.describe()} does not take images "
                     "(an image input is (H, W), (H, W, C) or (C, H, W) with C = 1, 3 or 4)")


def b64_bytes(text: Any, what: str) -> bytes:
    """The bytes of base64 ``text`` (standard or URL-safe alphabet); 400 when it is not base64."""
    if isinstance(text, str):
        text = text.strip()
        if text.startswith("data:") and "," in text:  # a data URL from a browser
            text = text.split(",", 1)[1]
        text = text.encode("ascii", "replace")
    if isinstance(text, bytes):
        text = b"".join(text.split())  # line breaks of MIME-style base64
    if not isinstance(text, bytes):
        raise BadRequest(f"{what}: b64 must be a base64 string")
    try:
        if b"-" in text or b"_" in text:
            return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
        return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{what}: not valid base64") from None


def decode_image(data: bytes, spec: TensorSpec, scale: float, what: str) -> np.ndarray:
    """One instance of input ``spec`` from encoded image bytes (PNG, JPEG, ...)."""
    from PIL import Image  # Pillow: imported when the first image arrives

    layout, channels, height, width = _layout(spec)
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise BadRequest(f"{what}: the image is too large ({img.width}x{img.height} pixels)")
            img = img.convert(MODES[channels])
            size = (width or img.width, height or img.height)
            if size != img.size:
                img = img.resize(size, Image.Resampling.BILINEAR)
            pixels = np.asarray(img, dtype=np.float32)
    except BadRequest:
        raise
    except Exception as exc:  # Pillow raises many kinds for a broken or unknown file
        raise BadRequest(f"{what}: undecodable image ({type(exc).__name__}: {str(exc)[:200]})") from None
    if layout == "hwc" and pixels.ndim == 2:
        pixels = pixels[:, :, None]
    elif layout == "chw":
        pixels = pixels[None, :, :] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    if scale != 1.0:
        pixels = pixels * np.float32(scale)
    if np.issubdtype(spec.dtype, np.integer):
        return np.clip(np.rint(pixels), 0, 255).astype(spec.dtype)
    return pixels.astype(spec.dtype, copy=False)
