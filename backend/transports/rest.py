"""REST transport (aiohttp): HTTP verb → service method, status codes, uploads, downloads.

Routes derive from :mod:`backend.service`: ``/<path>`` and ``/<path>/<id>`` for the six methods,
``POST /<path>/upload`` and ``GET /<path>/<id>/<filename>`` for services that offer ``upload``
and ``download``. Every failure answers with the Feathers error JSON.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from ..app import App, ServiceHandle
from ..errors import (
    BadRequest,
    FeathersError,
    GeneralError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    convert,
)
from ..hooks import HookContext, Params
from ..logs import RateLimitedLog
from ..query import parse_query_string
from ..service import ALL_METHODS, CUSTOM_METHODS, REST_ROUTES, MethodSpec, custom_method
from ..uploads import Download
from .common import dumps, js_falsy, loads
from .ranges import CORS_KEY, serve_download

log = logging.getLogger(__name__)
gone_log = RateLimitedLog(__name__, every=60.0)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BODY_VERBS = ("POST", "PUT", "PATCH")
SERVICE_METHOD = "X-Service-Method"  # names the custom method a POST calls (Feathers)


JSON_HEADERS = {"Content-Type": "application/json"}
Cors = Callable[[str], "dict[str, str] | None"]
_STATUS_ERRORS: dict[int, type[FeathersError]] = {404: NotFound, 405: MethodNotAllowed, 413: PayloadTooLarge}


def _one_line(text: str) -> str:
    """A parser message on one short line (they quote the offending bytes over several)."""
    return " ".join(str(text).split())[:200]


def client_gone(request: web.Request) -> BadRequest:
    """The error of a request whose client went away (or was cut off) while it sent its body:
    logged as one rate-limited WARNING line, never a traceback (clients can do it at will)."""
    gone_log.warning("gone", "client %s went away while sending %s %s", request.remote, request.method,
                     request.path[:200])
    return BadRequest("The request body did not arrive whole")


def error_response(err: FeathersError) -> web.Response:
    """``err`` as the Feathers error JSON, with its status code."""
    return web.Response(status=err.code, body=dumps(err.to_json()), headers=JSON_HEADERS)


def failure_response(request: web.Request, exc: Exception) -> web.Response:
    """Any failure of a handler as Feathers error JSON, never an HTML page or a stack trace.

    Redirect-like ``HTTPException`` (status < 400) is re-raised for aiohttp to send.
    """
    if isinstance(exc, FeathersError):
        return error_response(exc)
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return error_response(PayloadTooLarge("Request body is too large"))
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        cls = _STATUS_ERRORS.get(exc.status)
        err = cls(exc.reason) if cls else (BadRequest(exc.reason) if exc.status < 500 else GeneralError(exc.reason))
        return error_response(err)
    log.error("unexpected error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(GeneralError("Internal server error"))


async def with_cors(request: web.Request, extra: dict[str, str], handler: Handler) -> web.StreamResponse:
    """A request from an allowed origin: a preflight answered, else ``handler``'s answer with the
    CORS headers ``extra``."""
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=extra)
    request[CORS_KEY] = extra  # streamed responses (downloads) add them before sending
    resp = await handler(request)
    if not resp.prepared:
        resp.headers.update(extra)
    return resp


class Guard:
    """CORS and the error guard, for every route (one wrapper, no aiohttp middleware).

    With no middleware aiohttp skips its middleware machinery on every request; the REST transport
    does this same work itself (:meth:`RestTransport.entry`), other routes go through :meth:`wrap`.
    """

    def __init__(self, cors: Cors) -> None:
        self.cors = cors

    def wrap(self, handler: Handler) -> Handler:
        """``handler`` with CORS, and every failure answered as Feathers error JSON."""

        async def safe(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except Exception as exc:
                return failure_response(request, exc)

        async def guarded(request: web.Request) -> web.StreamResponse:
            origin = request.headers.get("Origin")
            extra = self.cors(origin) if origin else None
            return await (safe(request) if extra is None else with_cors(request, extra, safe))

        return guarded


class _Part:
    """A multipart part as the transport-agnostic :class:`backend.uploads.UploadPart`."""

    def __init__(self, part: BodyPartReader, request: web.Request) -> None:
        self._part = part
        self._request = request
        self.name = part.name or ""
        self.filename = part.filename
        self.content_type = part.headers.get("Content-Type")

    async def read_chunk(self, size: int = 65536) -> bytes:
        try:
            return await self._part.read_chunk(size)
        except ValueError as exc:  # aiohttp's message for a broken multipart body
            raise BadRequest(f"Malformed multipart body: {exc}") from None
        except HttpProcessingError as exc:
            raise BadRequest(f"Malformed multipart part: {_one_line(exc.message)}") from None
        except ConnectionResetError:
            raise client_gone(self._request) from None


async def _parts(request: web.Request) -> AsyncIterator[_Part]:
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("Uploads must be multipart/form-data")
    try:
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                return
            if isinstance(part, BodyPartReader):
                yield _Part(part, request)
                await part.release()  # skip what the service did not read
    except (ValueError, AssertionError, RuntimeError) as exc:
        raise BadRequest(f"Malformed multipart body: {exc}") from None
    except HttpProcessingError as exc:  # a part's headers: a NUL byte, an over-long line...
        raise BadRequest(f"Malformed multipart part header: {_one_line(exc.message)}") from None


class RestTransport:
    """Maps HTTP requests onto the app's services."""

    def __init__(self, app: App, guard: Guard | None = None) -> None:
        self.app = app
        self.cors: Cors = guard.cors if guard is not None else (lambda origin: None)

    def params(self, request: web.Request, query_string: str | None = None) -> Params:
        """The call's params; ``query_string`` when the caller knows it (yarl decodes it per request)."""
        return Params(
            query=parse_query_string(request.query_string if query_string is None else query_string),
            provider="rest",
            headers=request.headers,
            query_is_text=True,
            extra={"ip": request.remote},
        )

    def registered(self, segments: list[str]) -> tuple[ServiceHandle, list[str]] | None:
        """The registered service a path names and the segments after it (longest prefix first)."""
        services = self.app.services
        # Only prefixes as deep as the deepest registered path can name a service.
        for cut in range(min(len(segments), self.app.path_depth), 0, -1):
            handle = services.get(segments[0] if cut == 1 else "/".join(segments[:cut]))
            if handle is not None:
                return handle, segments[cut:]
        return None

    async def create_service(self, segments: list[str], request: web.Request) -> tuple[ServiceHandle, list[str]]:
        """For a path no registered service names: a dynamic service created for its first segment."""
        if 1 <= len(segments) <= 3:
            return await self.app.resolve(segments[0], self.params(request)), segments[1:]
        raise NotFound(f"Page not found: /{'/'.join(segments)}")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The catch-all route's handler (see :meth:`entry`)."""
        return await self.entry(request)

    def entry(self, request: web.Request) -> Awaitable[web.StreamResponse]:
        """One REST request: CORS (see :class:`Guard`), then :meth:`serve`.

        A plain function returning the coroutine to await: on the common path (no allowed
        ``Origin``) the request costs one coroutine frame here, :meth:`serve`'s.
        """
        origin = request.headers.get("Origin")
        if origin:
            extra = self.cors(origin)
            if extra is not None:
                return with_cors(request, extra, self.serve)
        return self.serve(request)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """Path -> service and method, the call, the answer; every failure as Feathers error JSON."""
        try:
            raw = request.raw_path
            cut = raw.find("?")
            if cut >= 0:
                raw = raw[:cut]
            segments = [unquote(s) if "%" in s else s for s in raw.split("/") if s]
            if self.app.mounts and (not segments or segments[0][:1] == "_"):
                return await self.page(request, segments)
            if not segments:
                raise NotFound("Page not found: /")
            handle, rest = self.registered(segments) or await self.create_service(segments, request)
            verb = request.method.upper()
            if len(rest) > 2:
                raise NotFound(f"Page not found: {raw}")
            custom = self.custom_method(request, handle, rest) if verb == "POST" else None
            if custom is None and (len(rest) == 2 or (rest == ["upload"] and verb == "POST"
                                                        and "upload" in handle.methods)):
                return await self.transfer(request, handle, rest)
            method = custom or REST_ROUTES.get(("GET" if verb == "HEAD" else verb, bool(rest)))
            if method is None:
                raise MethodNotAllowed(f"Method `{verb}` is not supported by this endpoint.")
            params = self.params(request, None if cut >= 0 else "")  # no "?": no query to decode
            data: Any = None
            if verb in BODY_VERBS:
                try:
                    body = await request.read()
                except ConnectionResetError:
                    raise client_gone(request) from None
                data = loads(body) if body.strip() else {}
            if custom is not None:
                if rest:
                    params.route["id"] = rest[0]
                ctx = await handle.call(custom.name, data, params=params)
            elif not method.args:
                ctx = await handle.call(method.name, params=params)
            elif method.args == ("id",):
                ctx = await handle.call(method.name, rest[0] if rest else None, params=params)
            elif method.args == ("data",):
                ctx = await handle.call(method.name, data, params=params)
            else:
                ctx = await handle.call(method.name, rest[0] if rest else None, data, params=params)
            return self.respond(ctx, method.status)
        except Exception as exc:
            return failure_response(request, exc)

    @staticmethod
    def custom_method(request: web.Request, handle: ServiceHandle, rest: list[str]) -> MethodSpec | None:
        """The custom method a ``POST`` calls: ``X-Service-Method: <name>`` on ``/<path>``, or the
        last segment of ``/<path>/<id>/<name>`` (None when it calls none). 405 when the service
        has no such custom method."""
        name = request.headers.get(SERVICE_METHOD) if not rest else (rest[1] if len(rest) == 2 else None)
        if name is None:
            return None
        if name not in handle.custom:
            if len(rest) == 2 and name not in ALL_METHODS:
                return None  # /<path>/<id>/<filename>: the transfer route answers
            raise MethodNotAllowed(f"Method `{name[:64]}` is not supported by this endpoint.")
        return custom_method(name)

    def respond(self, ctx: HookContext, status: int) -> web.Response:
        """The answer to a call: its result as JSON (``status``, or 204 when empty), or its error."""
        if ctx.error is not None:
            err = convert(ctx.error)
            if not isinstance(ctx.error, FeathersError):
                log.error("error in %s.%s", ctx.path, ctx.method, exc_info=ctx.error)
            return error_response(err)
        result = ctx.safe_result
        if not result and js_falsy(result):  # the truthy common case skips js_falsy
            return web.Response(status=204)
        try:
            body = dumps(result)
        except TypeError:
            log.error("result of %s.%s is not JSON", ctx.path, ctx.method)
            return error_response(GeneralError("Result is not serialisable"))
        return web.Response(status=ctx.status_code or status, body=body, headers=JSON_HEADERS)

    async def page(self, request: web.Request, segments: list[str]) -> web.StreamResponse:
        """``GET /`` or ``GET /_<name>/<file>`` from the pages a plugin mounted (backend.pages)."""
        pages = self.app.mounts.get("/" + segments[0] if segments else "/")
        if pages is None or (not segments and len(request.raw_path.split("?")[0]) > 1):
            raise NotFound(f"Page not found: {request.path[:200]}")
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(f"Method `{request.method}` is not supported by this endpoint.")
        found = await pages("/".join(segments[1:]))
        if found is None:
            raise NotFound(f"Page not found: {request.path[:200]}")
        return await serve_download(request, found)

    async def transfer(self, request: web.Request, handle: ServiceHandle, rest: list[str]) -> web.StreamResponse:
        """``POST /<path>/upload`` and ``GET|HEAD /<path>/<id>/<filename>``."""
        verb = request.method.upper()
        params = self.params(request)
        if rest == ["upload"] and verb == "POST":
            ctx = await handle.call("upload", _parts(request), params=params)
            return self.respond(ctx, CUSTOM_METHODS["upload"].status)
        if verb not in ("GET", "HEAD") or "download" not in handle.methods:
            raise MethodNotAllowed(f"Method `{verb}` is not supported by this endpoint.")
        ctx = await handle.call("download", rest[0], rest[1], params=params)
        if ctx.error is not None:
            return self.respond(ctx, 200)
        if not isinstance(ctx.result, Download):
            raise GeneralError("download did not return a file")
        return await serve_download(request, ctx.result)


def add_rest(web_app: web.Application, app: App, guard: Guard | None = None) -> RestTransport:
    """Mount the REST routes (after any more specific routes already added)."""
    transport = RestTransport(app, guard)

    async def info(_: web.Request) -> web.Response:
        return web.Response(body=dumps({"services": sorted(app.services)}), headers=JSON_HEADERS)

    web_app.router.add_get("/info", guard.wrap(info) if guard is not None else info)
    # [\s\S], not ".": a path may decode to a newline (%0A), which "." does not match.
    web_app.router.add_route("*", r"/{tail:[\s\S]*}", transport.handle)
    return transport
