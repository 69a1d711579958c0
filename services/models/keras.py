"""Hooks of the ``keras-models`` service: conversion requests, progress protection, queueing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.errors import BadRequest
from backend.hooks import HookContext

from .conversion import TARGETS, ConversionManager
from .files import accept_keras, file_pairs
from .lease import LEASE_FIELD


async def request_conversions(ctx: HookContext) -> None:
    """Before create: default ``format``/``convert``; start every requested target ``pending``."""
    for item in ctx.data if isinstance(ctx.data, list) else [ctx.data]:
        if not isinstance(item, dict):
            continue
        item.pop(LEASE_FIELD, None)  # written by the server only
        item.setdefault("format", "keras")
        convert = item.setdefault("convert", list(TARGETS))
        if not isinstance(convert, list) or not set(convert) <= set(TARGETS):
            raise BadRequest(f"convert must be a list of {list(TARGETS)}", errors={"convert": "invalid"})
        models = [name for _, _, name in file_pairs(item) if accept_keras(name)]
        if convert and len(models) != 1:
            raise BadRequest("files must hold exactly one uploaded .keras or .h5 model to convert",
                             errors={"files": "one .keras or .h5 file expected"})
        item["conversions"] = {t: {"status": "pending"} for t in TARGETS if t in convert}


SERVER_FIELDS = ("conversions", LEASE_FIELD)  # the progress record and the converting process's lease


async def protect_conversions(ctx: HookContext) -> None:
    """Before update/patch from a client: ``conversions`` (and the lease) are written by the server only."""
    if ctx.params.provider is None or not isinstance(ctx.data, dict):
        return
    for name in SERVER_FIELDS:
        ctx.data.pop(name, None)
    if ctx.method == "update" and ctx.id is not None:
        # A replace keeps the server's progress record (clients often send back what they read).
        current = await ctx.service.store.get(ctx.id, type(ctx.params)())
        for name in SERVER_FIELDS:
            if name in current:
                ctx.data[name] = current[name]


def queue_conversions(manager: ConversionManager) -> Callable[[HookContext], Any]:
    """After create: hand the new documents with pending conversions to the manager."""

    async def hook(ctx: HookContext) -> None:
        id_field = ctx.service.store.id_field
        for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if isinstance(doc, dict) and doc.get("conversions"):
                manager.queue(str(doc[id_field]))

    return hook


def keras_hooks(manager: ConversionManager) -> dict[str, Any]:
    """The hook spec of ``keras-models``."""
    return {
        "before": {"create": [request_conversions], "update": [protect_conversions],
                   "patch": [protect_conversions]},
        "after": {"create": [queue_conversions(manager)]},
    }
