"""JSON-Schema validation of written data (``schemas/<name>.json``), 400 with the failing fields."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ..errors import BadRequest
from ..hooks import HookContext


@lru_cache(maxsize=128)
def _load(path: str) -> dict[str, Any]:
    schema = json.loads(Path(path).read_text())
    Draft202012Validator.check_schema(schema)
    return schema


def load_schema(schema_dirs: list[Path], name: str) -> dict[str, Any]:
    """Read and check the first ``<dir>/<name>.json`` found (ValueError with a clear message otherwise)."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"invalid schema name {name!r}")
    for folder in schema_dirs:
        path = folder / f"{name}.json"
        if not path.is_file():
            continue
        try:
            return _load(str(path.resolve()))
        except (json.JSONDecodeError, SchemaError) as exc:
            raise ValueError(f"invalid schema {path}: {exc}") from None
    raise ValueError(f"schema '{name}' not found in {', '.join(str(d) for d in schema_dirs)}")


def _partial(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema without ``required``: a patch sends only the fields it changes."""
    return {k: v for k, v in schema.items() if k != "required"}


def validate(schema: Mapping[str, Any]) -> Callable[[HookContext], Awaitable[None]]:
    """A before hook for create/update/patch that rejects data not matching ``schema``."""
    full = Draft202012Validator(schema)
    partial = Draft202012Validator(_partial(schema))

    async def hook(ctx: HookContext) -> None:
        if ctx.method not in ("create", "update", "patch"):
            return
        validator = partial if ctx.method == "patch" else full
        items = ctx.data if isinstance(ctx.data, list) else [ctx.data]
        errors: dict[str, str] = {}
        for i, item in enumerate(items):
            for err in validator.iter_errors(item):
                where = ".".join(str(p) for p in err.absolute_path) or "(root)"
                if isinstance(ctx.data, list):
                    where = f"{i}.{where}"
                errors.setdefault(where, err.message)
        if errors:
            raise BadRequest("Data does not match the schema", errors=errors)

    return hook
