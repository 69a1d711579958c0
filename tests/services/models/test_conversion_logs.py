"""What ``plume serve`` logs about conversions: one INFO line when each starts, one when it ends (with
its duration) or fails (with the reason), and none of TensorFlow's start-up noise from its workers."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp

from tests.services.conversion.conftest import noisy_lines
from tests.support.model_files import keras_zip
from tests.support.server import PlumeProcess

from .convert_client import KerasWatcher, submit


def unknown_layer_model(tmp_path: Path) -> Path:
    path = tmp_path / "custom.keras"
    path.write_bytes(keras_zip({"module": "my_project.layers", "class_name": "MyMagicLayer", "config": {},
                                "registered_name": "my_project>MyMagicLayer"}))
    return path


async def test_the_server_logs_each_conversion_and_no_tensorflow_noise(tmp_path: Path,
                                                                     models: dict[str, Any]) -> None:
    server = PlumeProcess(tmp_path / "server")
    await asyncio.to_thread(server.start)
    try:
        async with KerasWatcher(server.url) as watcher, aiohttp.ClientSession() as http:
            good = await submit(http, server.url, Path(models["k3_dense"]["file"]))
            bad = await submit(http, server.url, unknown_layer_model(tmp_path), convert=["onnx"])
            done = await watcher.finished(good["_id"])
            failed = await watcher.finished(bad["_id"])
    finally:
        await asyncio.to_thread(server.stop)
    log = server.log()
    prefix = r"^\S+ \S+ INFO services\.models\.conversion: conversion of keras model "
    for target, service in (("tfjs", "tfjs-models"), ("onnx", "onnx-models")):
        head = f"{prefix}{good['_id']} to {target} "
        assert re.search(head + "started$", log, re.M), log
        model_id = done["conversions"][target]["modelId"]
        assert re.search(head + rf"done in \d+\.\d\d s: {service} {model_id}$", log, re.M), log
    error = failed["conversions"]["onnx"]["error"]
    assert error.startswith("could not load model.keras (saved by Keras 3.15.1): ")
    assert re.search(f"{prefix}{bad['_id']} to onnx started$", log, re.M), log
    assert re.search(rf"{prefix}{bad['_id']} to onnx failed after \d+\.\d\d s: {re.escape(error)}$", log, re.M), log
    assert noisy_lines(log) == []
