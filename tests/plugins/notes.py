"""A plugin as a third party writes one: its own settings table, a stored service, an extension it
offers other plugins, and a file service. It touches no file of ``backend/``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.app import App
from backend.config import ConfigError
from backend.errors import NotFound
from backend.hooks import HookContext, Params
from backend.plugins import Plugin, use_stored, with_files
from backend.uploads import Download


@dataclass(frozen=True)
class NotesSettings:
    """``[notes]``: ``prefix`` is put before every note's title."""

    prefix: str = ""


def parse(table: dict[str, Any]) -> NotesSettings:
    unknown = set(table) - {"prefix"}
    if unknown:
        raise ConfigError(f"[notes]: unknown option(s) {sorted(unknown)}")
    prefix = table.get("prefix", "")
    if not isinstance(prefix, str):
        raise ConfigError(f"[notes] prefix must be a string, got {prefix!r}")
    return NotesSettings(prefix)


async def setup(app: App) -> None:
    settings = app.extensions.add(NotesSettings, parse(app.settings.section("notes")))
    notes = await use_stored(app, "notes")

    async def titled(ctx: HookContext) -> None:
        ctx.data = {**ctx.data, "title": settings.prefix + str(ctx.data.get("title", ""))}

    notes.hooks({"before": {"create": [titled]}})

    async def upload(parts: Any, params: Params) -> dict[str, int]:
        sizes = {}
        async for part in parts:
            size = 0
            while chunk := await part.read_chunk():
                size += len(chunk)
            sizes[part.name] = size
        return sizes

    async def download(id: Any, filename: Any, params: Params) -> Download:
        raise NotFound(f"File '{filename}' not found")

    with_files(await use_stored(app, "attachments"), upload, download)


plugin = Plugin("notes", setup, sections=("notes",))
