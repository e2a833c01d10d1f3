r"""The playground's web server: the page, its static files and a small JSON API.

Why Starlette and uvicorn: the page needs a dozen JSON routes, static files, file downloads
and a clean stop on Ctrl-C.  Starlette gives routing, request parsing, ``StaticFiles`` (with
path checks against ``..``) and a test client without a socket; uvicorn is the ASGI server
most used with it, handles SIGINT/SIGTERM by finishing the requests in flight, and binds the
host and port we give it.  The standard library's ``http.server`` would need all of that
written by hand (and its docs warn it is not for anything but local use).  Both are in the
``playground`` extra and imported only here, when the playground runs.

Routes (JSON unless said; a bad field answers 400 ``{"error": ..., "field": ...}``)::

    GET  /                        the page (static/index.html)
    GET  /api/options             the form's choices, defaults and limits
    GET  /api/state               everything the page draws, with the data points
    POST /api/config              new settings (JSON object): a fresh network
    POST /api/reset               the same settings, fresh weights
    POST /api/train?steps=K       K training steps, then the state
    POST /api/upload              a CSV (x1, x2, target) as the request body
    POST /api/step/next           step mode: one recorded step on the next batch
    GET  /api/step?index=i        phase i of it (notation=, unfused=0|1, sample=)
    GET  /api/export/model        the model file (deltaprop.io's safetensors format)
    GET  /api/export/trace        the recorded step as HTML or LaTeX (format=html|latex)

The computations run inside the request (a few milliseconds for the networks the form
allows), one at a time: the handlers are coroutines that never await while the state
changes, so requests cannot interleave on the one learner.
"""

from __future__ import annotations

import json
import socket
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .._checks import InvalidParameterError
from .config import NOTATIONS, PlaygroundInputError, options
from .state import MAX_TRAIN_STEPS, Playground
from .stepping import step_view
from .upload import MAX_BYTES, read_upload

STATIC = Path(__file__).parent / "static"
MAX_JSON_BYTES = 65_536


def _error(message: str, field: str | None = None, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


async def _body(request: Request, limit: int, what: str) -> bytes:
    """The request body, refused past ``limit`` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PlaygroundInputError(what, f"at most {limit} bytes", f"{declared} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PlaygroundInputError(what, f"at most {limit} bytes", f"over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise PlaygroundInputError(name, f"an integer in [{low}, {high}]", text)
    return value


def _query_choice(request: Request, name: str, default: str, choices: tuple[str, ...]) -> str:
    value = request.query_params.get(name, default)
    if value not in choices:
        raise PlaygroundInputError(name, "one of " + ", ".join(choices), value)
    return value


def _step_options(request: Request) -> dict[str, Any]:
    return {"notation": _query_choice(request, "notation", "batch", NOTATIONS),
            "unfused": _query_choice(request, "unfused", "0", ("0", "1")) == "1",
            "sample": _query_int(request, "sample", 0, 0, 1_000_000)}


def _session(request: Request) -> Playground:
    return request.app.state.playground


def _recorded(request: Request):
    """The session's recorded step, or a 409 answer telling how to record one."""
    recording = _session(request).recording
    if recording is None:
        raise NoStepRecordedError("no step recorded yet: press 'Next batch' in step mode first")
    return recording


class NoStepRecordedError(Exception):
    """Step mode was asked for a phase, or an export, before any step was recorded."""


async def page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def get_options(request: Request) -> Response:
    return JSONResponse(options())


async def get_state(request: Request) -> Response:
    return JSONResponse(_session(request).snapshot(with_data=True))


async def post_config(request: Request) -> Response:
    body = await _body(request, MAX_JSON_BYTES, "the settings")
    try:
        data = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):   # RecursionError:
        # a document nested thousands deep
        raise PlaygroundInputError("the settings", "a JSON object",
                                   body[:80].decode("utf-8", "replace")) from None
    _session(request).configure(data)
    return JSONResponse(_session(request).snapshot(with_data=True))


async def post_reset(request: Request) -> Response:
    _session(request).reset()
    return JSONResponse(_session(request).snapshot(with_data=True))


async def post_train(request: Request) -> Response:
    _session(request).train(_query_int(request, "steps", 1, 1, MAX_TRAIN_STEPS))
    return JSONResponse(_session(request).snapshot())


async def post_upload(request: Request) -> Response:
    dataset = read_upload(await _body(request, MAX_BYTES, "the CSV"))
    _session(request).use_upload(dataset)
    return JSONResponse(_session(request).snapshot(with_data=True))


async def post_step_next(request: Request) -> Response:
    view = _step_options(request)                     # checked before the step is taken
    rows = _next_batch_size(_session(request))
    if view["sample"] >= rows:                        # a refused request trains nothing
        raise PlaygroundInputError("sample", f"an integer in [0, {rows - 1}] (the next batch "
                                   f"has {rows} rows)", view["sample"])
    recording = _session(request).next_batch()
    return JSONResponse({"state": _session(request).snapshot(),
                         "step": step_view(recording, 0, **view,
                                           traces=_session(request).traces)})


def _next_batch_size(session: Playground) -> int:
    """The rows of the batch ``session.next_batch()`` will take, without taking it: the
    rest of the epoch's order, or a whole batch when a new epoch starts."""
    left = len(session.order) - session.cursor
    return min(session.config.batch_size, left if left > 0 else len(session.train_rows))


async def get_step(request: Request) -> Response:
    recording = _recorded(request)
    index = _query_int(request, "index", 0, 0, 10_000)
    return JSONResponse(step_view(recording, index, **_step_options(request),
                                  traces=_session(request).traces))


async def export_model(request: Request) -> Response:
    return Response(write_model_file(_session(request)), media_type="application/octet-stream",
                    headers=_attachment("playground-model.safetensors"))


async def export_trace(request: Request) -> Response:
    fmt = _query_choice(request, "format", "html", ("html", "latex"))
    notation = _query_choice(request, "notation", "batch", NOTATIONS)
    _recorded(request)
    text = _session(request).trace(notation, fmt)
    media = "text/html; charset=utf-8" if fmt == "html" else "text/x-tex; charset=utf-8"
    name = f"playground-step.{'html' if fmt == 'html' else 'tex'}"
    return Response(text, media_type=media, headers=_attachment(name))


ROUTES = [Route("/", page), Route("/api/options", get_options), Route("/api/state", get_state),
          Route("/api/config", post_config, methods=["POST"]),
          Route("/api/reset", post_reset, methods=["POST"]),
          Route("/api/train", post_train, methods=["POST"]),
          Route("/api/upload", post_upload, methods=["POST"]),
          Route("/api/step/next", post_step_next, methods=["POST"]),
          Route("/api/step", get_step), Route("/api/export/model", export_model),
          Route("/api/export/trace", export_trace),
          Mount("/static", StaticFiles(directory=STATIC), name="static")]


def create_app(session: Playground | None = None, hosts: set[str] | None = None) -> Any:
    """The playground as an ASGI app around ``session`` (a fresh :class:`Playground` if None).

    ``hosts``: the names the page may be reached by (the ``Host`` header; None: any).
    """
    handlers = {PlaygroundInputError: _input_error, InvalidParameterError: _input_error,
                NoStepRecordedError: _no_step}
    app = Starlette(routes=ROUTES, exception_handlers=handlers)
    app.state.playground = session if session is not None else Playground()
    return LocalOnly(app, hosts)


async def _no_step(request: Request, error: Exception) -> Response:
    return _error(str(error), status=409)


class LocalOnly:
    """Refuses what another web site could make the learner's browser send: a request whose
    ``Host`` is not ours (DNS rebinding), and a POST without the page's own header (a
    cross-site form can send no custom header, and we answer no CORS preflight)."""

    HEADER = b"x-deltaprop-playground"

    def __init__(self, app: Any, hosts: set[str] | None) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            host = host_name(headers.get(b"host", b"").decode("latin-1"))
            if self.hosts is not None and host not in self.hosts:
                return await _error(f"this page is served for {', '.join(sorted(self.hosts))} "
                                    f"only, got the host {host!r}", status=403)(
                                        scope, receive, send)
            if scope["method"] == "POST" and headers.get(self.HEADER) != b"1":
                return await _error("POST requests must come from the playground page "
                                    "(header X-Deltaprop-Playground: 1)", status=403)(
                                        scope, receive, send)
        await self.app(scope, receive, send)


def host_name(header: str) -> str:
    """The name in a ``Host`` header: ``name``, ``name:port``, ``[v6]`` or ``[v6]:port``
    (a browser leaves the port out when it is 80; the port is digits); "" when it is none of
    those."""
    if header.startswith("["):
        name, bracket, rest = header[1:].partition("]")
        if not bracket:
            return ""
    else:
        name = header.split(":", 1)[0]
        rest = header[len(name):]                       # "" or ":port"
    return name if not rest or (rest[0] == ":" and rest[1:].isdigit()) else ""


async def _input_error(request: Request, error: Exception) -> Response:
    return _error(str(error), getattr(error, "field", None))


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store"}


def write_model_file(session: Playground) -> bytes:
    """The session's model as deltaprop.io writes it (with the upload's scaling and the loss)."""
    from ..io.model_files import save

    with tempfile.TemporaryDirectory() as folder:
        path = save(session.model, Path(folder) / "model.safetensors",
                    preprocessing=session.scaler, loss=session.config.loss,
                    metadata={"playground": session.config.to_dict(),
                              "steps": session.steps})
        return path.read_bytes()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one, chosen by the system)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def make_server(sock: socket.socket, session: Playground | None = None, *,
                names: set[str] = frozenset()) -> uvicorn.Server:
    """A uvicorn server for the app on ``sock``: ``server.run(sockets=[sock])`` serves until
    Ctrl-C (or ``server.should_exit = True`` from another thread).  ``names``: host names the
    page may also be reached by (``--host mybox.lan``), besides the address and localhost."""
    host = sock.getsockname()[0]
    wildcard = host in ("0.0.0.0", "::")
    hosts = None if wildcard else {"127.0.0.1", "localhost", "::1", host, *names}
    config = uvicorn.Config(create_app(session, hosts), log_level="warning", lifespan="off",
                            access_log=False, timeout_graceful_shutdown=2)
    return uvicorn.Server(config)
